"""Every evidence route declares its permission and needs a session (the app-wide route tests walk
app.main.ROUTERS, which does not list the evidence routers yet)."""

from __future__ import annotations

from fastapi.routing import APIRoute

from app.auth.deps import public_route
from app.auth.permissions import Permission
from tests.evidence.conftest import EVIDENCE_ROUTERS


def _calls(route: APIRoute) -> list:
    found, stack = [], list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def _routes() -> list[APIRoute]:
    return [r for router in EVIDENCE_ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def test_every_evidence_route_declares_its_permission():
    permissions = {}
    for route in _routes():
        calls = _calls(route)
        assert public_route not in calls, route.path
        declared = {call.required_permission for call in calls if hasattr(call, "required_permission")}
        assert len(declared) == 1, route.path
        for method in route.methods:
            permissions[(method, route.path)] = declared.pop()
    writes = {key: value for key, value in permissions.items() if key[0] == "POST"}
    assert writes and set(writes.values()) == {Permission.record_clinical}
    assert permissions[("GET", "/people/{reference}/documents/{document_id}")] is Permission.view_person
    assert permissions[("GET", "/people/{reference}/evidence/body-map")] is Permission.view_person


def test_every_evidence_route_needs_a_session(client):
    for route in _routes():
        path = (route.path.replace("{reference}", "AAAA-BBBB").replace("{item_id}", "1")
                .replace("{finding_id}", "1").replace("{document_id}", "1").replace("{visit_id}", "1")
                .replace("{record_id}", "1"))
        for method in route.methods:
            response = client.request(method, path, follow_redirects=False)
            assert response.status_code in (303, 401), (method, path, response.status_code)
