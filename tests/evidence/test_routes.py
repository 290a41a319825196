"""The evidence routes' own permissions (writes need record_clinical, reading view_person, on top of the case
scope every one declares), and none answers without a session."""

from __future__ import annotations

from fastapi.routing import APIRoute

from app.auth.permissions import Permission
from app.evidence.views import documents_router, router, rule35_router
from app.people.dependencies import person_in_scope
from tests.pages import declared_permissions, route_calls

ROUTES = [r for group in (router, documents_router, rule35_router) for r in group.routes if isinstance(r, APIRoute)]


def test_every_evidence_route_declares_its_permission_and_the_case_scope():
    permissions = {}
    for route in ROUTES:
        assert person_in_scope in route_calls(route), route.path
        declared = declared_permissions(route)
        # The case scope itself requires view_person; a route's own permission is whatever it adds.
        assert Permission.view_person in declared, route.path
        own = declared - {Permission.view_person} or declared
        assert len(own) == 1, route.path
        for method in route.methods:
            permissions[(method, route.path)] = own.pop()
    writes = {key: value for key, value in permissions.items() if key[0] == "POST"}
    assert writes and set(writes.values()) == {Permission.record_clinical}
    assert permissions[("GET", "/people/{reference}/documents/{document_id}")] is Permission.view_person
    assert permissions[("GET", "/people/{reference}/evidence/body-map")] is Permission.view_person
    assert permissions[("GET", "/people/{reference}/evidence/{item_id}/edit")] is Permission.record_clinical


def test_every_evidence_route_needs_a_session(client):
    for route in ROUTES:
        path = (route.path.replace("{reference}", "AAAA-BBBB").replace("{item_id}", "1")
                .replace("{finding_id}", "1").replace("{document_id}", "1").replace("{visit_id}", "1")
                .replace("{record_id}", "1"))
        for method in route.methods:
            response = client.request(method, path, follow_redirects=False)
            assert response.status_code in (303, 401), (method, path, response.status_code)
