"""Error pages, security headers and the skip link / base layout."""

from __future__ import annotations

from fastapi import Depends
from fastapi.testclient import TestClient

from app.auth.deps import require
from app.auth.models import Role
from app.auth.permissions import Permission
from app.main import create_app


def test_unknown_url_gets_a_404_page(client, signed_in):
    signed_in(Role.coordinator)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_malformed_id_is_a_404_not_a_crash(client, signed_in):
    signed_in(Role.admin)
    assert client.get("/admin/users/not-a-number").status_code == 404
    assert client.get("/admin/users/99999").status_code == 404


def test_security_headers_on_pages(client):
    response = client.get("/login")
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert len(headers["x-correlation-id"]) == 16


def test_static_files_are_public_and_cacheable(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")


def test_unexpected_error_shows_a_generic_page_with_the_correlation_id(engine, signed_in, make_user):
    app = create_app()

    @app.get("/boom", dependencies=[Depends(require(Permission.view_home))])
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        from tests.conftest import sign_in

        user = make_user(Role.coordinator, email="boom@example.org")
        sign_in(client, user.email)
        response = client.get("/boom")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    correlation_id = response.headers["x-correlation-id"]
    assert correlation_id in response.text
    assert response.headers["cache-control"] == "no-store"


def test_base_layout_has_skip_link_user_and_sign_out(client, signed_in):
    signed_in(Role.coordinator, name="Ada Example")
    page = client.get("/").text
    assert '<a class="skip-link" href="#main">' in page
    assert "Ada Example" in page and "Coordinator" in page
    assert 'action="/logout"' in page


def test_health_check_is_public_and_touches_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
