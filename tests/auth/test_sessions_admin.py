"""Session administration: admins see who is signed in and can end any session; a new password ends them all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.auth.models import Role, User, UserSession
from app.auth.passwords import verify_password
from app.db import utcnow
from tests.conftest import PASSWORD, page_csrf, sign_in

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
def other_browser(engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from app.main import create_app

    with TestClient(create_app(), base_url="http://testserver") as browser:
        yield browser


def signed_in_elsewhere(browser: TestClient, user: User) -> None:
    assert sign_in(browser, user.email).status_code == 303
    assert browser.get("/", follow_redirects=False).status_code == 200


def cookie_still_works(browser: TestClient) -> bool:
    return browser.get("/", follow_redirects=False).status_code == 200


def sessions_of(db, user: User) -> list[UserSession]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)))


def actions(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_list_shows_live_sessions_only(client, other_browser, signed_in, make_user, db):
    signed_in(Role.admin)
    clinician = make_user(Role.clinician, name="Dr Listed")
    signed_in_elsewhere(other_browser, clinician)
    idle = make_user(Role.coordinator, name="Idle Person")
    signed_in_elsewhere(other_browser, idle)  # replaces the clinician's session in that browser
    db.rollback()
    db.execute(update(UserSession).where(UserSession.user_id == idle.id)
               .values(last_seen_at=utcnow() - timedelta(hours=2)))
    db.commit()
    page = client.get("/admin/sessions")
    assert page.status_code == 200
    assert "This browser" in page.text
    assert "Dr Listed" not in page.text  # ended when that browser signed in as someone else
    assert "Idle Person" not in page.text  # past the idle limit: it would not be accepted
    assert page.text.count("End session") == 1


def test_admin_ends_a_session_and_its_cookie_stops_working(client, other_browser, signed_in, make_user, db):
    admin = signed_in(Role.admin)
    clinician = make_user(Role.clinician, name="Dr Ended")
    signed_in_elsewhere(other_browser, clinician)
    [session] = sessions_of(db, clinician)
    listing = client.get("/admin/sessions")
    assert "Dr Ended" in listing.text and f'action="/admin/sessions/{session.id}/end"' in listing.text
    response = client.post(f"/admin/sessions/{session.id}/end",
                           data={"csrf_token": page_csrf(client, "/admin/sessions")}, follow_redirects=False)
    assert response.status_code == 303
    assert not cookie_still_works(other_browser)
    [ended] = sessions_of(db, clinician)
    assert ended.ended_at is not None and ended.end_reason == "ended_by_admin"
    [event] = actions(db, "admin.session_ended")
    assert (event.actor_user_id, event.object_id, event.details) == (
        admin.id, str(session.id), {"session_user_id": clinician.id})
    assert "Dr Ended" not in client.get("/admin/sessions").text


def test_ending_needs_the_csrf_token_and_an_admin(client, other_browser, signed_in, make_user, db):
    signed_in(Role.admin)
    coordinator = make_user(Role.coordinator)
    signed_in_elsewhere(other_browser, coordinator)
    [session] = sessions_of(db, coordinator)
    assert client.post(f"/admin/sessions/{session.id}/end", data={}, follow_redirects=False).status_code == 403
    # A coordinator may not list sessions or end even their own through the admin page.
    assert other_browser.get("/admin/sessions").status_code == 403
    token = page_csrf(other_browser, "/")
    assert other_browser.post(f"/admin/sessions/{session.id}/end", data={"csrf_token": token}).status_code == 403
    assert sessions_of(db, coordinator)[0].ended_at is None
    assert cookie_still_works(other_browser)
    assert actions(db, "admin.session_ended") == []


def test_unknown_or_already_ended_sessions(client, other_browser, signed_in, make_user, db):
    signed_in(Role.admin)
    token = page_csrf(client, "/admin/sessions")
    for session_id in ("999999", "0", str(2**63), "abc"):
        assert client.post(f"/admin/sessions/{session_id}/end", data={"csrf_token": token}).status_code == 404
    clinician = make_user(Role.clinician)
    signed_in_elsewhere(other_browser, clinician)
    [session] = sessions_of(db, clinician)
    for _ in range(2):
        response = client.post(f"/admin/sessions/{session.id}/end", data={"csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/sessions"
    assert "That session had already ended; nothing was changed." in client.get("/admin/sessions").text
    assert len(actions(db, "admin.session_ended")) == 1


def test_a_new_password_ends_every_session_of_that_user(client, other_browser, signed_in, make_user, db):
    admin = signed_in(Role.admin)
    clinician = make_user(Role.clinician)
    signed_in_elsewhere(other_browser, clinician)
    with TestClient(other_browser.app, base_url="http://testserver") as third:
        signed_in_elsewhere(third, clinician)
        response = client.post(f"/admin/users/{clinician.id}/password", follow_redirects=False, data={
            "password": NEW_PASSWORD, "csrf_token": page_csrf(client, f"/admin/users/{clinician.id}")})
        assert response.status_code == 303
        assert not cookie_still_works(other_browser) and not cookie_still_works(third)
    assert {s.end_reason for s in sessions_of(db, clinician)} == {"password_changed"}
    [event] = actions(db, "admin.user_password_set")
    assert (event.actor_user_id, event.object_id, event.details) == (admin.id, str(clinician.id),
                                                                     {"sessions_ended": 2})
    assert NEW_PASSWORD not in str(event.details)
    assert sign_in(other_browser, clinician.email, PASSWORD).status_code == 401
    assert sign_in(other_browser, clinician.email, NEW_PASSWORD).status_code == 303
    assert cookie_still_works(client)  # the admin's own session is untouched


def test_admin_changing_their_own_password_keeps_this_session_and_ends_the_others(client, other_browser,
                                                                                  signed_in, db):
    admin = signed_in(Role.admin)
    signed_in_elsewhere(other_browser, admin)
    response = client.post(f"/admin/users/{admin.id}/password", follow_redirects=False, data={
        "password": NEW_PASSWORD, "csrf_token": page_csrf(client, f"/admin/users/{admin.id}")})
    assert response.status_code == 303
    assert cookie_still_works(client) and not cookie_still_works(other_browser)


@pytest.mark.parametrize(("password", "message"), [
    ("short", "at least 12 characters"), ("x" * 1025, "1024 characters or fewer"),
    ("", "Enter new password"),
])
def test_a_rejected_password_changes_nothing(client, other_browser, signed_in, make_user, db, password, message):
    signed_in(Role.admin)
    clinician = make_user(Role.clinician)
    signed_in_elsewhere(other_browser, clinician)
    response = client.post(f"/admin/users/{clinician.id}/password", data={
        "password": password, "csrf_token": page_csrf(client, f"/admin/users/{clinician.id}")})
    assert response.status_code == 422
    assert 'id="f-password-error"' in response.text and message in response.text
    db.rollback()
    assert verify_password(PASSWORD, db.get(User, clinician.id).password_hash)  # type: ignore[union-attr]
    assert cookie_still_works(other_browser)
    assert actions(db, "admin.user_password_set") == []


def test_setting_a_password_needs_an_admin_and_a_csrf_token(client, other_browser, signed_in, make_user, db):
    admin = signed_in(Role.admin)
    coordinator = make_user(Role.coordinator)
    signed_in_elsewhere(other_browser, coordinator)
    assert client.post(f"/admin/users/{coordinator.id}/password", data={"password": NEW_PASSWORD}).status_code == 403
    token = page_csrf(other_browser, "/")
    assert other_browser.post(f"/admin/users/{admin.id}/password",
                              data={"password": NEW_PASSWORD, "csrf_token": token}).status_code == 403
    db.rollback()
    assert verify_password(PASSWORD, db.get(User, admin.id).password_hash)  # type: ignore[union-attr]
    assert verify_password(PASSWORD, db.get(User, coordinator.id).password_hash)  # type: ignore[union-attr]


def test_admin_ends_every_session_of_one_user_and_no_one_else(client, other_browser, signed_in, make_user, db):
    admin = signed_in(Role.admin)
    clinician, bystander = make_user(Role.clinician, name="Dr Many"), make_user(Role.coordinator)
    signed_in_elsewhere(other_browser, clinician)
    with TestClient(other_browser.app, base_url="http://testserver") as third, \
            TestClient(other_browser.app, base_url="http://testserver") as fourth:
        signed_in_elsewhere(third, clinician)
        signed_in_elsewhere(fourth, bystander)
        assert "End all sessions of Dr Many" in client.get("/admin/sessions").text
        response = client.post(f"/admin/sessions/users/{clinician.id}/end", follow_redirects=False,
                               data={"csrf_token": page_csrf(client, "/admin/sessions")})
        assert response.status_code == 303
        assert not cookie_still_works(other_browser) and not cookie_still_works(third)
        assert cookie_still_works(fourth) and cookie_still_works(client)
    [event] = actions(db, "admin.user_sessions_ended")
    assert (event.actor_user_id, event.object_id, event.details) == (admin.id, str(clinician.id),
                                                                     {"sessions_ended": 2})


def test_ending_all_of_your_own_sessions_keeps_the_one_in_use(client, other_browser, signed_in, db):
    admin = signed_in(Role.admin)
    signed_in_elsewhere(other_browser, admin)
    response = client.post(f"/admin/sessions/users/{admin.id}/end", follow_redirects=False,
                           data={"csrf_token": page_csrf(client, "/admin/sessions")})
    assert response.status_code == 303
    assert cookie_still_works(client) and not cookie_still_works(other_browser)
    assert actions(db, "admin.user_sessions_ended")[0].details == {"sessions_ended": 1}
