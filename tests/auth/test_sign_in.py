"""Sign-in, sign-out, session timeouts, throttling and deactivation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEvent, Outcome
from app.auth.models import LoginAttempt, Role, UserSession
from app.auth.service import hash_token
from app.db import utcnow
from tests.conftest import PASSWORD, TEST_MASTER_KEY, csrf_from, sign_in


def audit_actions(db) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def session_count(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(UserSession))


def test_sign_in_success_sets_cookie_and_stores_only_the_token_hash(client, db, make_user):
    user = make_user(Role.coordinator, email="coord@example.org")
    response = sign_in(client, "Coord@Example.org", next_path="/admin/users")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    token = client.cookies.get("casework_session")
    assert token
    cookie_header = response.headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=lax" in cookie_header
    stored = db.scalars(select(UserSession)).one()
    assert stored.user_id == user.id
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    assert audit_actions(db)[-1] == "auth.sign_in"
    home = client.get("/")
    assert home.status_code == 200 and "Test Coordinator" in home.text and "Open alerts" in home.text


def test_wrong_password_and_unknown_email_get_the_same_answer(client, db, make_user):
    make_user(Role.clinician, email="clin@example.org")
    wrong_password = sign_in(client, "clin@example.org", password="not the password")
    unknown_email = sign_in(client, "nobody@example.org")
    assert wrong_password.status_code == unknown_email.status_code == 401
    message = "The e-mail address or password is not right"
    assert message in wrong_password.text and message in unknown_email.text
    assert session_count(db) == 0
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")).all()
    assert len(events) == 2 and all(e.outcome is Outcome.failure for e in events)
    assert "casework_session" not in client.cookies


def test_deactivated_account_cannot_sign_in(client, db, make_user):
    make_user(Role.clinician, email="gone@example.org", active=False)
    response = sign_in(client, "gone@example.org")
    assert response.status_code == 401
    assert session_count(db) == 0


def test_empty_form_is_422_with_messages_beside_fields(client, db):
    page = client.get("/login")
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 422
    assert 'href="#f-email"' in response.text and "Enter e-mail address." in response.text
    assert 'id="f-password-error"' in response.text
    assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_repeated_failures_throttle_the_account_even_with_the_right_password(client, db, make_user):
    make_user(Role.coordinator, email="target@example.org")
    for _ in range(5):
        assert sign_in(client, "target@example.org", password="guess guess guess").status_code == 401
    response = sign_in(client, "target@example.org", password=PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text
    assert session_count(db) == 0
    assert "auth.sign_in_throttled" in audit_actions(db)


def test_failures_from_one_address_throttle_every_account(client, db, make_user):
    make_user(Role.coordinator, email="innocent@example.org")
    for i in range(20):
        sign_in(client, f"spray{i}@example.org", password="guess guess guess")
    response = sign_in(client, "innocent@example.org")
    assert response.status_code == 429
    throttled = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_throttled")).one()
    assert throttled.details == {"scope": "address"}


def test_old_failures_outside_the_window_do_not_count(client, db, make_user):
    make_user(Role.coordinator, email="old@example.org")
    long_ago = utcnow() - timedelta(hours=2)
    db.add_all([LoginAttempt(email="old@example.org", ip_address="testclient", attempted_at=long_ago,
                             succeeded=False) for _ in range(10)])
    db.commit()
    assert sign_in(client, "old@example.org").status_code == 303


def test_sign_in_issues_a_new_token_and_closes_the_previous_session(client, db, make_user):
    make_user(Role.coordinator, email="twice@example.org")
    sign_in(client, "twice@example.org")
    first = client.cookies.get("casework_session")
    sign_in(client, "twice@example.org")
    second = client.cookies.get("casework_session")
    assert first and second and first != second
    db.rollback()
    old = db.scalar(select(UserSession).where(UserSession.token_hash == hash_token(first)))
    assert old.ended_at is not None and old.end_reason == "replaced_at_sign_in"


def test_sign_out_invalidates_the_old_cookie(client, db, make_user):
    make_user(Role.coordinator, email="out@example.org")
    sign_in(client, "out@example.org")
    token = client.cookies.get("casework_session")
    home = client.get("/")
    response = client.post("/logout", data={"csrf_token": csrf_from(home.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    client.cookies.set("casework_session", token)  # an attacker replaying the old cookie
    replay = client.get("/", follow_redirects=False)
    assert replay.status_code == 401
    assert "Your session has ended" in replay.text
    db.rollback()
    assert db.scalars(select(UserSession)).one().end_reason == "signed_out"
    assert "auth.sign_out" in audit_actions(db)


def _age_session(db, *, idle: timedelta | None = None, absolute: bool = False) -> None:
    session = db.scalars(select(UserSession)).one()
    if idle is not None:
        session.last_seen_at = utcnow() - idle
    if absolute:
        session.created_at = utcnow() - timedelta(hours=13)
        session.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()


def test_idle_session_expires(client, db, make_user):
    make_user(Role.coordinator, email="idle@example.org")
    sign_in(client, "idle@example.org")
    _age_session(db, idle=timedelta(minutes=31))
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 401
    assert "Your session has ended" in response.text
    db.rollback()
    assert db.scalars(select(UserSession)).one().end_reason == "timeout_idle"
    expired = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.session_expired")).one()
    assert expired.details == {"reason": "idle"}


def test_active_session_within_idle_limit_still_works(client, db, make_user):
    make_user(Role.coordinator, email="busy@example.org")
    sign_in(client, "busy@example.org")
    _age_session(db, idle=timedelta(minutes=29))
    assert client.get("/").status_code == 200
    db.rollback()
    assert utcnow() - db.scalars(select(UserSession)).one().last_seen_at < timedelta(minutes=1)


def test_absolute_timeout_ends_even_a_busy_session(client, db, make_user):
    make_user(Role.coordinator, email="long@example.org")
    sign_in(client, "long@example.org")
    _age_session(db, absolute=True)
    assert client.get("/", follow_redirects=False).status_code == 401
    db.rollback()
    assert db.scalars(select(UserSession)).one().end_reason == "timeout_absolute"


def test_no_cookie_redirects_to_sign_in_keeping_the_destination(client):
    response = client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users"
    page = client.get(response.headers["location"])
    assert 'name="next" value="/admin/users"' in page.text


def test_next_cannot_point_off_site(client, make_user):
    make_user(Role.coordinator, email="next@example.org")
    for target in ("https://evil.example", "//evil.example/x", "/\\evil.example"):
        response = sign_in(client, "next@example.org", next_path=target)
        assert response.headers["location"] == "/"


def test_demo_password_is_refused_in_production(db, make_user, monkeypatch):
    from app.auth import service
    from app.auth.passwords import hash_password
    from app.config import DEMO_PASSWORD, Settings

    user = make_user(Role.admin, email="demo@example.org")
    user.password_hash = hash_password(DEMO_PASSWORD)
    db.commit()
    production = Settings(environment="production", database_url="sqlite://", secret_key="p" * 40,
                          master_key=TEST_MASTER_KEY)
    development = Settings(environment="development", database_url="sqlite://", secret_key="d" * 40)
    assert service.sign_in(db, production, "demo@example.org", DEMO_PASSWORD, "1.2.3.4").failure == "bad_credentials"
    assert service.sign_in(db, development, "demo@example.org", DEMO_PASSWORD, "1.2.3.4").token is not None
