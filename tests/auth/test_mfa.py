"""Two-factor sign-in: enrolment, the code step after the password, one-time codes, recovery codes, the admin
reset, the production requirement and the secret kept encrypted."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent, Outcome
from app.auth import mfa
from app.auth import service as auth_service
from app.auth.models import LoginAttempt, MfaPendingSignIn, MfaRecoveryCode, Role, User, UserSession
from app.config import Settings, get_settings
from app.db import utcnow
from tests.conftest import TEST_MASTER_KEY, csrf_from, page_csrf, sign_in

SECRET_RE = re.compile(r'<code class="secret-key">([A-Z2-7 ]+)</code>')
CODE_RE = re.compile(r"<li><code>([0-9A-Z-]{19})</code></li>")


def audit_rows(db, action: str) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def fresh(db, user: User) -> User:
    db.rollback()
    return db.get(User, user.id)


def code_at(secret: str, seconds_from_now: float = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=seconds_from_now))


def enrolled(db, user: User) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for `user`, proved with a code from ten minutes ago, so that the codes of
    the next minutes are still unused."""
    secret = pyotp.random_base32()
    when = utcnow() - timedelta(minutes=10)
    user = fresh(db, user)
    codes = mfa.enrol(db, get_settings(), user, secret, pyotp.TOTP(secret).at(when), at=when)
    assert codes is not None
    db.commit()
    return secret, codes


def post_code(client, code: str, path: str = "/login/two-factor"):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"code": code, "csrf_token": csrf_from(page.text)}, follow_redirects=False)


def sign_out(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/logout", data={"csrf_token": page_csrf(client, "/")}, follow_redirects=False)
    assert response.status_code == 303


def session_rows(db) -> list[UserSession]:
    db.rollback()
    return list(db.scalars(select(UserSession)))


@pytest.fixture
def mfa_required(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASEWORK_MFA_REQUIRED", "true")
    get_settings.cache_clear()
    assert get_settings().mfa_required is True
    yield
    monkeypatch.delenv("CASEWORK_MFA_REQUIRED")
    get_settings.cache_clear()


# --- enrolment -------------------------------------------------------------------------------------

def test_account_enrolment_needs_a_correct_code_and_shows_recovery_codes_once(client, db, signed_in):
    user = signed_in(Role.clinician)
    page = client.get("/account/mfa")
    assert page.status_code == 200
    assert '<svg' in page.text and 'class="qr-code"' in page.text
    assert "<script" not in page.text and " src=" not in page.text  # drawn here: no script, no outside request
    secret = SECRET_RE.search(page.text).group(1).replace(" ", "")
    assert len(secret) == 32 and " " in SECRET_RE.search(page.text).group(1)
    assert client.get("/account/mfa").text.count(secret[:4] + " " + secret[4:8]) == 1  # same secret on reload

    wrong = client.post("/account/mfa", data={"code": "000000" if code_at(secret) != "000000" else "111111",
                                              "csrf_token": csrf_from(page.text)})
    assert wrong.status_code == 422
    assert 'href="#f-code"' in wrong.text and 'id="f-code-error"' in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert fresh(db, user).mfa_secret is None
    [failed] = audit_rows(db, "auth.mfa_failed")
    assert failed.details == {"reason": "wrong_code", "step": "enrolment"} and failed.outcome is Outcome.failure

    right = client.post("/account/mfa", data={"code": code_at(secret), "csrf_token": csrf_from(page.text)})
    assert right.status_code == 200
    codes = CODE_RE.findall(right.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "only time they are shown" in right.text
    stored = fresh(db, user)
    assert stored.mfa_enabled_at is not None and stored.mfa_secret is not None
    hashes = set(db.scalars(select(MfaRecoveryCode.code_hash).where(MfaRecoveryCode.user_id == user.id)))
    assert hashes == {mfa.hash_recovery_code(c) for c in codes}
    assert not hashes & set(codes)
    assert audit_rows(db, "auth.mfa_enrolled")[0].details == {"via": "account"}

    again = client.get("/account/mfa")
    assert "is on for your account" in again.text and "10 unused recovery codes" in again.text
    assert not CODE_RE.findall(again.text) and secret not in again.text


def test_stored_secret_is_encrypted_and_bound_to_its_user(db, make_user):
    user = make_user(Role.coordinator)
    other = make_user(Role.coordinator)
    secret, _ = enrolled(db, user)
    raw = db.execute(text("SELECT mfa_secret FROM users WHERE id = :id"), {"id": user.id}).scalar_one()
    raw = bytes(raw)
    assert secret.encode() not in raw and secret.lower().encode() not in raw
    dump = repr(db.execute(text("SELECT * FROM users")).all())
    assert secret not in dump
    settings = get_settings()
    assert mfa.decrypt_secret(settings, user.id, raw) == secret
    with pytest.raises(mfa.SecretUnreadable):
        mfa.decrypt_secret(settings, other.id, raw)  # copied onto another account
    tampered = raw[:-1] + bytes([raw[-1] ^ 1])
    with pytest.raises(mfa.SecretUnreadable):
        mfa.decrypt_secret(settings, user.id, tampered)
    other_key = Settings(environment="test", database_url="sqlite://", secret_key="k" * 40)
    with pytest.raises(mfa.SecretUnreadable):
        mfa.decrypt_secret(other_key, user.id, raw)


# --- the code step ---------------------------------------------------------------------------------

def test_password_alone_gives_no_access_to_any_page(client, db, make_user):
    user = make_user(Role.admin, email="two@example.org")
    enrolled(db, user)
    response = sign_in(client, "two@example.org", next_path="/people")
    assert response.status_code == 303 and response.headers["location"] == "/login/two-factor"
    assert "casework_session" not in client.cookies
    pending_token = client.cookies.get("casework_mfa_pending")
    assert pending_token
    assert session_rows(db) == []
    for path in ("/", "/people", "/admin/users", "/account/mfa"):
        assert client.get(path, follow_redirects=False).status_code in (303, 401), path
    client.cookies.set("casework_session", pending_token)  # the pending token tried as a session
    for path in ("/", "/people"):
        assert client.get(path, follow_redirects=False).status_code == 401, path
    assert session_rows(db) == []
    assert audit_rows(db, "auth.password_accepted")[0].details == {"next_step": "verify"}
    assert audit_rows(db, "auth.sign_in") == []


def test_right_code_signs_in_and_the_same_code_never_works_twice(client, db, make_user):
    user = make_user(Role.coordinator, email="once@example.org")
    secret, _ = enrolled(db, user)
    sign_in(client, "once@example.org", next_path="/people")
    code = code_at(secret)
    response = post_code(client, code)
    assert response.status_code == 303 and response.headers["location"] == "/people"
    assert client.get("/people").status_code == 200
    assert "casework_mfa_pending" not in client.cookies
    assert audit_rows(db, "auth.mfa_verified")[0].details == {"method": "totp", "recovery_codes_left": 10}
    assert len(audit_rows(db, "auth.sign_in")) == 1
    assert fresh(db, user).mfa_last_step in {mfa.time_step(utcnow()) + d for d in (-2, -1, 0, 1)}

    sign_out(client)
    sign_in(client, "once@example.org")
    replay = post_code(client, code)
    assert replay.status_code == 401
    assert "already been used" in replay.text and 'id="f-code-error"' in replay.text
    assert "casework_session" not in client.cookies
    assert [e.details["reason"] for e in audit_rows(db, "auth.mfa_failed")] == ["reused_code"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.succeeded.is_(False))) == 1


def test_codes_are_checked_within_one_step_either_side_and_spent_in_order(db, make_user):
    user = make_user(Role.coordinator)
    secret, _ = enrolled(db, user)
    totp = pyotp.TOTP(secret)
    settings = get_settings()
    now = utcnow().replace(microsecond=0)
    now = now - timedelta(seconds=now.second % 30) + timedelta(seconds=10)  # well inside a step
    user = fresh(db, user)
    for offset in (-90, -60, 60, 90):
        result = mfa.check_code(db, settings, user, totp.at(now + timedelta(seconds=offset)), at=now)
        assert result.failure == "wrong_code", offset
    assert mfa.check_code(db, settings, user, totp.at(now + timedelta(seconds=30)), at=now).method == "totp"
    # Anything from the step just accepted or before it is refused, even though it is within the drift.
    assert mfa.check_code(db, settings, user, totp.at(now), at=now).failure == "reused_code"
    assert mfa.check_code(db, settings, user, totp.at(now - timedelta(seconds=30)), at=now).failure == "reused_code"
    db.rollback()


def test_code_from_too_far_in_the_past_or_future_is_refused_at_sign_in(client, db, make_user):
    user = make_user(Role.coordinator, email="drift@example.org")
    secret, _ = enrolled(db, user)
    sign_in(client, "drift@example.org")
    for seconds in (-120, 120):
        response = post_code(client, code_at(secret, seconds))
        assert response.status_code == 401
        assert "The code is not right" in response.text
    assert "casework_session" not in client.cookies
    assert [e.details["reason"] for e in audit_rows(db, "auth.mfa_failed")] == ["wrong_code", "wrong_code"]


def test_recovery_code_works_once(client, db, make_user):
    user = make_user(Role.researcher, email="lost@example.org")
    _, codes = enrolled(db, user)
    sign_in(client, "lost@example.org")
    typed = codes[3].lower().replace("-", " ")  # as someone might type it from paper
    response = post_code(client, typed)
    assert response.status_code == 303
    home = client.get("/")
    assert home.status_code == 200 and "You have 9 left" in home.text
    assert audit_rows(db, "auth.mfa_verified")[0].details == {"method": "recovery_code", "recovery_codes_left": 9}

    sign_out(client)
    sign_in(client, "lost@example.org")
    again = post_code(client, codes[3])
    assert again.status_code == 401 and "casework_session" not in client.cookies
    assert audit_rows(db, "auth.mfa_failed")[0].details == {"reason": "recovery_code_wrong", "step": "sign_in"}


def test_wrong_codes_end_the_pending_sign_in_and_throttle_the_account(client, db, make_user):
    user = make_user(Role.coordinator, email="guess@example.org")
    secret, _ = enrolled(db, user)
    sign_in(client, "guess@example.org")
    right = code_at(secret)
    wrong = next(c for c in ("123456", "654321", "111111") if c not in {code_at(secret, s) for s in (-30, 0, 30)})
    for _ in range(mfa.MAX_PENDING_ATTEMPTS - 1):
        assert post_code(client, wrong).status_code == 401
    last = post_code(client, wrong)
    assert last.status_code == 303 and last.headers["location"] == "/login"
    assert "Too many wrong codes" in client.get("/login").text
    db.rollback()
    assert db.scalar(select(func.count()).select_from(MfaPendingSignIn)) == 0
    # The wrong codes count against the account like wrong passwords: even the right password is now refused.
    assert sign_in(client, "guess@example.org").status_code == 429
    assert "casework_session" not in client.cookies
    assert right  # never got the chance to be used
    assert len(audit_rows(db, "auth.mfa_failed")) == mfa.MAX_PENDING_ATTEMPTS


def test_pending_sign_in_expires(client, db, make_user):
    user = make_user(Role.coordinator, email="slow@example.org")
    secret, _ = enrolled(db, user)
    sign_in(client, "slow@example.org")
    page = client.get("/login/two-factor")
    db.rollback()
    pending = db.scalars(select(MfaPendingSignIn)).one()
    assert pending.expires_at - pending.created_at == mfa.PENDING_LIFETIME
    pending.created_at = utcnow() - timedelta(minutes=6)
    pending.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    response = client.post("/login/two-factor", data={"code": code_at(secret), "csrf_token": csrf_from(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "casework_session" not in client.cookies and session_rows(db) == []
    assert "took too long" in client.get("/login").text


def test_code_step_needs_its_csrf_token(client, db, make_user):
    user = make_user(Role.coordinator, email="forged@example.org")
    secret, _ = enrolled(db, user)
    sign_in(client, "forged@example.org")
    client.get("/login/two-factor")
    response = client.post("/login/two-factor", data={"code": code_at(secret)}, follow_redirects=False)
    assert response.status_code == 403
    assert session_rows(db) == []
    assert audit_rows(db, "security.csrf_rejected")[0].details == {"reason": "missing token",
                                                                    "path": "/login/two-factor"}


def test_code_page_is_a_plain_form_that_works_without_javascript(client, db, make_user):
    user = make_user(Role.coordinator, email="plain@example.org")
    enrolled(db, user)
    sign_in(client, "plain@example.org")
    page = client.get("/login/two-factor")
    assert "<script" not in page.text
    assert '<form method="post" action="/login/two-factor"' in page.text
    assert '<label class="field__label" for="f-code">' in page.text
    assert 'autocomplete="one-time-code"' in page.text
    empty = client.post("/login/two-factor", data={"code": "", "csrf_token": csrf_from(page.text)})
    assert empty.status_code == 422
    assert 'class="error-summary"' in empty.text and 'href="#f-code"' in empty.text
    assert "Enter the code." in empty.text and 'id="f-code-error"' in empty.text


# --- required in production, and the admin reset ---------------------------------------------------

def test_required_by_default_only_in_production():
    production = Settings(environment="production", database_url="sqlite://", secret_key="p" * 40,
                          master_key=TEST_MASTER_KEY)
    development = Settings(environment="development", database_url="sqlite://", secret_key="d" * 40)
    test = Settings(environment="test", database_url="sqlite://", secret_key="t" * 40)
    assert production.mfa_required is True
    assert development.mfa_required is False and test.mfa_required is False
    assert Settings(environment="production", database_url="sqlite://", secret_key="p" * 40,
                    master_key=TEST_MASTER_KEY,
                    mfa_required=False).mfa_required is False


def test_when_required_an_unenrolled_user_must_enrol_before_anything_else(client, db, make_user, mfa_required):
    user = make_user(Role.clinician, email="new@example.org")
    response = sign_in(client, "new@example.org", next_path="/people")
    assert response.status_code == 303 and response.headers["location"] == "/login/two-factor/setup"
    assert "casework_session" not in client.cookies
    for path in ("/", "/people", "/account/mfa"):
        assert client.get(path, follow_redirects=False).status_code in (303, 401), path
    # The code step cannot be used to skip enrolment.
    assert client.get("/login/two-factor", follow_redirects=False).headers["location"] == "/login/two-factor/setup"

    page = client.get("/login/two-factor/setup")
    assert page.status_code == 200 and "Before you can carry on" in page.text and "<script" not in page.text
    assert '<label class="field__label" for="f-code">' in page.text
    secret = SECRET_RE.search(page.text).group(1).replace(" ", "")
    wrong = client.post("/login/two-factor/setup", data={"code": "12345", "csrf_token": csrf_from(page.text)})
    assert wrong.status_code == 422 and 'id="f-code-error"' in wrong.text and 'href="#f-code"' in wrong.text
    assert "casework_session" not in client.cookies

    done = client.post("/login/two-factor/setup", data={"code": code_at(secret), "csrf_token": csrf_from(page.text)})
    assert done.status_code == 200
    assert len(CODE_RE.findall(done.text)) == 10 and 'href="/people"' in done.text
    assert client.cookies.get("casework_session")
    assert client.get("/people").status_code == 200
    assert fresh(db, user).mfa_enabled_at is not None
    assert audit_rows(db, "auth.mfa_enrolled")[0].details == {"via": "sign_in"}
    assert audit_rows(db, "auth.password_accepted")[0].details == {"next_step": "enrol"}


def test_turning_the_requirement_on_ends_password_only_sessions(client, db, signed_in, monkeypatch):
    signed_in(Role.coordinator)
    assert client.get("/").status_code == 200
    monkeypatch.setenv("CASEWORK_MFA_REQUIRED", "true")
    get_settings.cache_clear()
    try:
        assert client.get("/", follow_redirects=False).status_code == 401
        assert session_rows(db)[0].end_reason == "mfa_required"
    finally:
        monkeypatch.delenv("CASEWORK_MFA_REQUIRED")
        get_settings.cache_clear()


def test_admin_reset_removes_the_factor_ends_sessions_and_forces_enrolment(client, db, signed_in, make_user,
                                                                           mfa_required):
    target = make_user(Role.clinician, email="reset@example.org")
    admin = make_user(Role.admin, email="boss@example.org")
    enrolled(db, admin)
    enrolled(db, target)
    auth_service.start_session(db, get_settings(), fresh(db, target), "10.0.0.1")
    db.commit()
    admin_secret = mfa.decrypt_secret(get_settings(), admin.id, fresh(db, admin).mfa_secret)
    sign_in(client, "boss@example.org")
    assert post_code(client, code_at(admin_secret)).status_code == 303

    page = client.get(f"/admin/users/{target.id}")
    assert "Reset two-factor sign-in" in page.text
    assert client.post(f"/admin/users/{target.id}/two-factor/reset").status_code == 403
    assert fresh(db, target).mfa_secret is not None
    response = client.post(f"/admin/users/{target.id}/two-factor/reset", data={"csrf_token": csrf_from(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303
    reset = fresh(db, target)
    assert reset.mfa_secret is None and reset.mfa_enabled_at is None and reset.mfa_last_step is None
    assert db.scalar(select(func.count()).select_from(MfaRecoveryCode)
                     .where(MfaRecoveryCode.user_id == target.id)) == 0
    target_sessions = db.scalars(select(UserSession).where(UserSession.user_id == target.id)).all()
    assert target_sessions and all(s.end_reason == "mfa_reset" for s in target_sessions)
    [event] = audit_rows(db, "admin.user_mfa_reset")
    assert event.actor_user_id == admin.id and event.object_id == str(target.id)
    assert event.details == {"was_enrolled": True, "sessions_ended": 1}
    assert "Not set up." in client.get(f"/admin/users/{target.id}").text

    sign_out(client)
    again = sign_in(client, "reset@example.org")
    assert again.headers["location"] == "/login/two-factor/setup"
    assert "casework_session" not in client.cookies


def test_reset_is_for_admins_only(client, db, signed_in, make_user):
    target = make_user(Role.clinician, email="keep@example.org")
    enrolled(db, target)
    signed_in(Role.coordinator)
    token = page_csrf(client, "/")
    response = client.post(f"/admin/users/{target.id}/two-factor/reset", data={"csrf_token": token})
    assert response.status_code == 403
    assert fresh(db, target).mfa_secret is not None


# --- recovery codes --------------------------------------------------------------------------------

def test_recovery_codes_are_long_random_and_read_back_forgivingly():
    codes = {mfa.new_recovery_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    code = "0123-4567-89AB-CDEF"
    assert mfa.hash_recovery_code(code) == mfa.hash_recovery_code(" o123 4567 89ab cdef ")
    assert mfa.hash_recovery_code(code) != mfa.hash_recovery_code("0123-4567-89AB-CDEE")
