"""Sign-in, server-side sessions, throttling and user administration."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.auth.models import LoginAttempt, Role, User, UserSession
from app.auth.passwords import dummy_hash, hash_password, verify_password
from app.config import DEMO_PASSWORD, Settings
from app.db import utcnow
from app.errors import RuleBroken

# Sessions are touched at most this often, so that reading pages does not write on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    token: str | None = None
    failure: str | None = None  # "bad_credentials" | "inactive" | "throttled_account" | "throttled_address"


def _recent_failures(db: Session, column: InstrumentedAttribute[str], value: str, since: datetime) -> int:
    return db.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
        )
    ) or 0


def throttle_state(db: Session, settings: Settings, email: str, ip_address: str) -> str | None:
    since = utcnow() - timedelta(minutes=settings.login_throttle_window_minutes)
    if _recent_failures(db, LoginAttempt.email, email, since) >= settings.login_max_failures_per_account:
        return "throttled_account"
    if _recent_failures(db, LoginAttempt.ip_address, ip_address, since) >= settings.login_max_failures_per_address:
        return "throttled_address"
    return None


def sign_in(db: Session, settings: Settings, email: str, password: str, ip_address: str,
            *, session_waits: Callable[[User], bool] | None = None) -> SignInResult:
    email = normalise_email(email)
    throttled = throttle_state(db, settings, email, ip_address)
    if throttled:
        db.add(LoginAttempt(email=email, ip_address=ip_address, succeeded=False))
        return SignInResult(user=None, failure=throttled)

    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        verify_password(password, dummy_hash())
        ok = False
    else:
        ok = verify_password(password, user.password_hash)
    if ok and settings.is_production and password == DEMO_PASSWORD:
        ok = False  # the public demo password never opens an account in production
    db.add(LoginAttempt(email=email, ip_address=ip_address, succeeded=ok and user is not None and user.is_active))
    if not ok or user is None:
        return SignInResult(user=user, failure="bad_credentials")
    if not user.is_active:
        return SignInResult(user=user, failure="inactive")
    if session_waits is not None and session_waits(user):
        return SignInResult(user=user)  # the password was right; no session until the second factor
    token = start_session(db, settings, user, ip_address)
    return SignInResult(user=user, token=token)


def start_session(db: Session, settings: Settings, user: User, ip_address: str | None) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(UserSession(
        token_hash=hash_token(token),
        csrf_token=secrets.token_urlsafe(32),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        ip_address=ip_address,
    ))
    db.flush()
    return token


@dataclass(frozen=True)
class SessionLookup:
    session: UserSession | None
    user: User | None
    problem: str | None = None  # "unknown" | "ended" | "idle" | "absolute" | "inactive"


def load_session(db: Session, settings: Settings, token: str) -> SessionLookup:
    """Find the live session for a cookie token, ending it if it has timed out."""
    row = db.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return SessionLookup(None, None, "unknown")
    session, user = row
    now = utcnow()
    if session.ended_at is not None:
        return SessionLookup(session, user, "ended")
    problem = None
    if not user.is_active:
        problem = "inactive"
    elif now >= session.expires_at:
        problem = "absolute"
    elif now - session.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        problem = "idle"
    if problem:
        end_session(session, reason=f"timeout_{problem}" if problem != "inactive" else "user_inactive")
        return SessionLookup(session, user, problem)
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        session.last_seen_at = now
    return SessionLookup(session, user)


def end_session(session: UserSession, reason: str) -> None:
    if session.ended_at is None:
        session.ended_at = utcnow()
        session.end_reason = reason


def end_session_by_token(db: Session, token: str, reason: str) -> None:
    session = db.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if session is not None:
        end_session(session, reason)


def end_all_sessions(db: Session, user_id: int, reason: str) -> int:
    # An UPDATE gives a CursorResult, which Session.execute is typed as the plain Result of a query.
    result = cast(CursorResult[Any], db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    ))
    return result.rowcount or 0


# --- user administration -------------------------------------------------------------------------

def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.is_active.desc(), User.display_name)))


def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def get_session(db: Session, session_id: int) -> UserSession | None:
    return db.get(UserSession, session_id)


def email_taken(db: Session, email: str, *, except_id: int | None = None) -> bool:
    query = select(User.id).where(User.email == normalise_email(email))
    if except_id is not None:
        query = query.where(User.id != except_id)
    return db.scalar(query) is not None


def create_user(db: Session, *, email: str, display_name: str, role: Role, password: str) -> User:
    email = normalise_email(email)
    if email_taken(db, email):
        raise RuleBroken.on("email", "A user with this e-mail address already exists.")
    user = User(
        email=email, display_name=display_name.strip(), role=role,
        password_hash=hash_password(password), is_active=True, password_changed_at=utcnow(),
    )
    db.add(user)
    db.flush()
    return user


def _active_admins(db: Session) -> int:
    return db.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin, User.is_active.is_(True))
    ) or 0


def change_user(db: Session, user: User, *, display_name: str, role: Role) -> dict[str, list[str]]:
    if user.role is Role.admin and role is not Role.admin and user.is_active and _active_admins(db) <= 1:
        raise RuleBroken.on("role", "This is the only active admin: make another admin first.")
    changes: dict[str, list[str]] = {}
    if user.display_name != display_name.strip():
        changes["display_name"] = ["changed"]  # names are not copied into the audit log
        user.display_name = display_name.strip()
    if user.role is not role:
        changes["role"] = [user.role.value, role.value]
        user.role = role
    db.flush()
    return changes


def deactivate_user(db: Session, user: User, *, acting_user: User) -> int:
    if user.id == acting_user.id:
        raise RuleBroken.on("user", "You cannot deactivate your own account.")
    if not user.is_active:
        raise RuleBroken.on("user", "This account is already deactivated.")
    user.is_active = False
    user.deactivated_at = utcnow()
    ended = end_all_sessions(db, user.id, reason="user_deactivated")
    db.flush()
    return ended


def reactivate_user(db: Session, user: User) -> None:
    if user.is_active:
        raise RuleBroken.on("user", "This account is already active.")
    user.is_active = True
    user.deactivated_at = None
    db.flush()


# --- session administration and password changes ---------------------------------------------------

def active_sessions(db: Session, settings: Settings) -> list[tuple[UserSession, User]]:
    """Sessions that would still be accepted now: not ended, and within both the absolute and the idle limit."""
    now = utcnow()
    return [(s, u) for s, u in db.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.ended_at.is_(None), UserSession.expires_at > now,
               UserSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
               User.is_active.is_(True))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()]


def set_password(db: Session, settings: Settings, user: User, password: str, *,
                 keep_session_id: int | None = None) -> int:
    """A new password for `user`; every session they have open ends, so whoever held the old one is out.
    `keep_session_id` spares the session of someone changing their own password."""
    if settings.is_production and password == DEMO_PASSWORD:
        raise RuleBroken.on("password", "The public demo password cannot be used here.")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    ended = end_other_sessions(db, user.id, keep_session_id=keep_session_id, reason="password_changed")
    db.flush()
    return ended


def end_other_sessions(db: Session, user_id: int, *, keep_session_id: int | None, reason: str) -> int:
    statement = (update(UserSession)
                 .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                 .values(ended_at=utcnow(), end_reason=reason)
                 .execution_options(synchronize_session=False))
    if keep_session_id is not None:
        statement = statement.where(UserSession.id != keep_session_id)
    # An UPDATE gives a CursorResult, which Session.execute is typed as the plain Result of a query.
    return cast(CursorResult[Any], db.execute(statement)).rowcount or 0
