"""CSRF and origin checks on every write, declared permissions on every route, and role refusals."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from app.audit.models import AuditEvent, Outcome
from app.auth.deps import public_route
from app.auth.models import Role, User, UserSession
from app.main import api_routes, create_app
from tests.conftest import csrf_from

NEW_USER = {"display_name": "New Person", "email": "new@example.org", "role": "clinician",
            "password": "a long enough password"}


def user_count(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(User))


def csrf_events(db) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "security.csrf_rejected")))


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_write_without_the_right_csrf_token_is_refused_and_changes_nothing(client, db, signed_in, token):
    signed_in(Role.admin)
    before = user_count(db)
    data = dict(NEW_USER) | ({"csrf_token": token} if token else {})
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 403
    assert user_count(db) == before
    [event] = csrf_events(db)
    assert event.outcome is Outcome.denied
    assert event.details["reason"] == ("missing token" if token is None else "wrong token")


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_write_from_another_origin_is_refused_even_with_a_valid_token(client, db, signed_in, headers):
    signed_in(Role.admin)
    token = csrf_from(client.get("/admin/users/new").text)
    before = user_count(db)
    response = client.post("/admin/users/new", data=NEW_USER | {"csrf_token": token}, headers=headers)
    assert response.status_code == 403
    assert user_count(db) == before
    assert len(csrf_events(db)) == 1


def test_browser_form_post_with_null_origin_under_no_referrer_policy_is_accepted(client, db, signed_in):
    signed_in(Role.admin)
    token = csrf_from(client.get("/admin/users/new").text)
    response = client.post("/admin/users/new", data=NEW_USER | {"csrf_token": token},
                           headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}, follow_redirects=False)
    assert response.status_code == 303


def test_same_origin_write_with_token_is_accepted(client, db, signed_in):
    signed_in(Role.admin)
    token = csrf_from(client.get("/admin/users/new").text)
    response = client.post("/admin/users/new", data=NEW_USER | {"csrf_token": token},
                           headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                           follow_redirects=False)
    assert response.status_code == 303


def test_sign_in_form_needs_its_token(client, db, make_user):
    make_user(Role.coordinator, email="c@example.org")
    client.get("/login")
    response = client.post("/login", data={"email": "c@example.org", "password": "correct horse battery staple"})
    assert response.status_code == 403
    db.rollback()
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0
    assert csrf_events(db)[0].details == {"reason": "missing token", "path": "/login"}


def test_sign_in_from_another_site_is_refused(client, db, make_user):
    make_user(Role.coordinator, email="c2@example.org")
    page = client.get("/login")
    response = client.post("/login", data={"email": "c2@example.org", "password": "correct horse battery staple",
                                           "csrf_token": csrf_from(page.text)},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    db.rollback()
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


def _route_dependencies(route: APIRoute) -> list:
    found = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_a_permission_or_is_marked_public():
    app = create_app()
    undeclared = []
    public = []
    routes = api_routes(app)
    assert len(routes) >= 10
    for route in routes:
        calls = _route_dependencies(route)
        if public_route in calls:
            public.append(route.path)
        elif not any(hasattr(call, "required_permission") for call in calls):
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert undeclared == []
    # The second-factor pages need no session: a pending sign-in's own cookie and CSRF token guard them. The
    # online referral form (app/intake/public.py) is for legal representatives, who have no account.
    assert sorted(set(public)) == ["/healthz", "/login", "/login/two-factor", "/login/two-factor/setup",
                                   "/refer", "/refer/sent"]


def _concrete(path: str) -> str:
    return path.replace("{user_id}", "1")


def test_every_non_public_route_requires_a_session(client, db, make_user):
    make_user(Role.admin)  # so that /admin/users/1 exists
    app = create_app()
    for route in api_routes(app):
        if public_route in _route_dependencies(route):
            continue
        for method in route.methods:
            response = client.request(method, _concrete(route.path), follow_redirects=False)
            assert response.status_code in (303, 401), (method, route.path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", [Role.coordinator, Role.clinician, Role.researcher])
def test_only_admins_manage_users(client, db, signed_in, role):
    user = signed_in(role)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "You do not have access to this page" in response.text
    db.rollback()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "security.permission_denied")).one()
    assert event.actor_user_id == user.id and event.outcome is Outcome.denied
    assert event.details == {"permission": "manage_users", "path": "/admin/users"}


def test_navigation_shows_only_what_the_role_may_use(client, signed_in):
    signed_in(Role.clinician)
    page = client.get("/")
    assert 'href="/admin/users"' not in page.text
    assert "Your caseload" in page.text


def test_an_anonymous_post_is_refused_without_its_body_being_read(client):
    pulled: list[int] = []

    def body():  # type: ignore[no-untyped-def]
        for i in range(64):
            pulled.append(i)
            yield b"x" * 65536

    response = client.post("/admin/users/new", content=body(), follow_redirects=False,
                           headers={"content-type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 401
    assert len(pulled) <= 2  # the 4 MB body was left unread


def test_an_oversized_form_is_refused_with_413_and_nothing_saved(client, db, signed_in):
    signed_in(Role.admin)
    token = csrf_from(client.get("/admin/users/new").text)
    before = user_count(db)
    response = client.post("/admin/users/new", data=NEW_USER | {"csrf_token": token, "display_name": "x" * 2_000_000})
    assert response.status_code == 413
    assert user_count(db) == before
