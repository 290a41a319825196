"""Headers and hardening (issue 6 point 9): HSTS only in production, no API documentation published, a CSP that
allows no inline code or framing, no referrer, and nothing personal kept in a cache."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.config import get_settings
from app.main import create_app
from tests.conftest import TEST_MASTER_KEY

API_DOCUMENTATION = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


@contextmanager
def app_in(environment: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A fresh application built with CASEWORK_ENVIRONMENT set (settings are read when the app is made)."""
    monkeypatch.setenv("CASEWORK_ENVIRONMENT", environment)
    monkeypatch.setenv("CASEWORK_MASTER_KEY", TEST_MASTER_KEY)  # production refuses to start without one
    get_settings.cache_clear()
    try:
        assert get_settings().environment.value == environment
        with TestClient(create_app(), base_url="https://testserver") as client:
            yield client
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def test_hsts_is_sent_in_production_on_every_kind_of_response(engine, monkeypatch):
    with app_in("production", monkeypatch) as client:
        for path in ("/login", "/no/such/page", "/static/css/app.css", "/healthz"):
            hsts = client.get(path).headers.get("strict-transport-security")
            assert hsts is not None, path
            max_age = int(dict(p.strip().split("=") for p in hsts.split(";") if "=" in p)["max-age"])
            assert max_age >= 31536000 and "includeSubDomains" in hsts, path


@pytest.mark.parametrize("environment", ["development", "test"])
def test_hsts_is_not_sent_outside_production(engine, monkeypatch, environment):
    # Sent over plain http://localhost during development, it would pin the browser to https for that host.
    with app_in(environment, monkeypatch) as client:
        assert "strict-transport-security" not in client.get("/login").headers


@pytest.mark.parametrize("environment", ["production", "development"])
def test_no_api_documentation_or_schema_is_published(engine, monkeypatch, environment):
    with app_in(environment, monkeypatch) as client:
        for path in API_DOCUMENTATION:
            response = client.get(path)
            assert response.status_code == 404, (environment, path)
            assert "swagger" not in response.text.lower() and '"openapi"' not in response.text, path


def test_csp_allows_no_inline_code_no_framing_and_no_foreign_sources(client, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Headera", "Fictivo")
    for path in ("/login", f"/people/{person.reference}", "/no/such/page"):
        policy = directives(client.get(path).headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
        for name, sources in policy.items():
            assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (path, name)
            assert "*" not in sources and "http:" not in sources and "https:" not in sources, (path, name)


def test_pages_with_personal_data_are_never_cached_or_referred(client, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Cachea", "Fictivo", detained_days=3)
    for path in ("/", "/people", "/people?q=Cachea", f"/people/{person.reference}",
                 f"/people/{person.reference}/edit", f"/people/{person.reference}/consents/new",
                 f"/people/{person.reference}/evidence/new"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert response.headers["x-frame-options"] == "DENY", path
