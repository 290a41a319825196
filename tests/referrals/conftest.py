"""Fixtures for referrals, organisations and consent: the app with these pages whether or not app.main registers
them yet, and the people fixtures (importing the views registers their person-page sections)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import app.consent.views as consent_views
import app.referrals.views as referral_views
from app.main import ROUTERS, create_app
from tests.case_fixtures import make_person, today  # noqa: F401

OUR_ROUTERS = (referral_views.organisations_router, referral_views.router, consent_views.router)


@pytest.fixture
def client(engine):  # type: ignore[no-untyped-def]
    app = create_app()
    for router in OUR_ROUTERS:
        if router not in ROUTERS:
            app.include_router(router)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
