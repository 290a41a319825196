"""The visit and health-event routes declare a permission each, and none answers without a session."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from app.auth.deps import public_route
from tests.visits.conftest import health_events_router, visits_router

ROUTES = [r for router in (visits_router, health_events_router) for r in router.routes if isinstance(r, APIRoute)]


def _calls(route: APIRoute) -> list:  # type: ignore[type-arg]
    found, stack = [], list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


@pytest.mark.no_database
def test_every_route_declares_a_permission():
    assert len(ROUTES) == 11  # 7 visit routes, 4 health-event routes
    for route in ROUTES:
        calls = _calls(route)
        assert public_route not in calls, route.path
        assert any(hasattr(call, "required_permission") for call in calls), (route.methods, route.path)


def test_no_route_answers_without_a_session(client):
    for route in ROUTES:
        path = route.path.replace("{reference}", "ABCD-EFGH").replace("{visit_id}", "1").replace("{event_id}", "1")
        for method in route.methods:
            response = client.request(method, path, follow_redirects=False)
            assert response.status_code in (303, 401), (method, path, response.status_code)
