"""Visit tests: the case fixtures, and a client whose app serves the visit and health-event pages."""

from __future__ import annotations

import pytest

# Importing the views registers their person-page sections.
from app.health_events.views import router as health_events_router
from app.visits.views import router as visits_router
from tests.case_fixtures import make_person, today  # noqa: F401


@pytest.fixture
def client(engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import ROUTERS, create_app

    app = create_app()
    for router in (visits_router, health_events_router):
        if router not in ROUTERS:  # until app/main.py lists them
            app.include_router(router)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
