"""Route dependencies: who is signed in, what they may do, and the CSRF and origin checks on every write."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from app.auth import service
from app.auth.models import Role, User, UserSession
from app.auth.permissions import Permission, has_permission
from app.config import get_settings
from app.db import DbSession
from app.errors import Refused
from app.web.body import read_form

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_cookie_name() -> str:
    # The __Host- prefix pins the cookie to this origin over HTTPS; browsers refuse it on plain http.
    return "__Host-casework_session" if get_settings().is_production else "casework_session"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class SignedInUser:
    """What pages show about the signed-in user; a plain copy, so that error pages rendered after the
    request's transaction was rolled back never touch an expired ORM object."""

    id: int
    display_name: str
    email: str
    role: Role

    @classmethod
    def of(cls, user: User) -> SignedInUser:
        return cls(id=user.id, display_name=user.display_name, email=user.email, role=user.role)


class NotAuthenticated(Exception):
    """No live session. `expired` tells the sign-in page to explain why the user must sign in again; when a
    known user's session ended, `actor_id` and `reason` are recorded (and `end_session_id` is ended) by the
    handler in a transaction of its own."""

    def __init__(self, *, expired: bool, actor_id: int | None = None, reason: str | None = None,
                 end_session_id: int | None = None, end_reason: str | None = None) -> None:
        super().__init__("not signed in")
        self.expired = expired
        self.actor_id = actor_id
        self.reason = reason
        self.end_session_id = end_session_id
        self.end_reason = end_reason


def safe_next(target: str | None) -> str:
    """Only same-site paths may follow sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def origin_problem(request: Request) -> str | None:
    """A cross-site write, judged by Sec-Fetch-Site and Origin when the browser sends them."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"sec-fetch-site {fetch_site}"
    origin = request.headers.get("origin")
    # Under our Referrer-Policy: no-referrer, browsers send "Origin: null" on same-site form posts, so
    # "null" says nothing; Sec-Fetch-Site above and the CSRF token still apply.
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.url.netloc}"
        parts = urlsplit(origin)
        if f"{parts.scheme}://{parts.netloc}" != expected:
            return "origin mismatch"
    return None


async def submitted_csrf_token(request: Request) -> str | None:
    """The token posted with a form. Only called once the session is known to be live, and read through the
    bounded form reader, so an anonymous request never gets its body read at all."""
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await read_form(request)
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def authenticated(request: Request, db: DbSession) -> tuple[UserSession, User]:
    """The live session named by the cookie, from the cookie alone (the body is not touched here)."""
    token = request.cookies.get(session_cookie_name())
    if not token:
        raise NotAuthenticated(expired=False)
    lookup = service.load_session(db, get_settings(), token)
    if lookup.problem is not None:
        if lookup.problem in ("idle", "absolute", "inactive") and lookup.user and lookup.session:
            # The lookup ended the session; the handler keeps that, as this request's transaction rolls back.
            raise NotAuthenticated(expired=True, actor_id=lookup.user.id, reason=lookup.problem,
                                   end_session_id=lookup.session.id, end_reason=lookup.session.end_reason)
        raise NotAuthenticated(expired=True)
    assert lookup.session is not None and lookup.user is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    if get_settings().mfa_required and lookup.user.mfa_enabled_at is None:
        # A session begun before two-factor sign-in was required ends, rather than carry on on a password alone.
        raise NotAuthenticated(expired=True, actor_id=lookup.user.id, reason="mfa_required",
                               end_session_id=lookup.session.id, end_reason="mfa_required")
    return lookup.session, lookup.user


def token_matches(posted: str, expected: str) -> bool:
    """Constant-time comparison of a posted CSRF token. Compared as bytes: `compare_digest` refuses str holding
    anything but ASCII with a TypeError, and a token a client sends may hold anything."""
    return hmac.compare_digest(posted.encode("utf-8", "surrogatepass"), expected.encode())


async def current_session(request: Request,
                          current: tuple[UserSession, User] = Depends(authenticated)) -> tuple[UserSession, User]:
    """A signed-in user whose writes carry the session's CSRF token and come from this site."""
    session, user = current
    if request.method in UNSAFE_METHODS:
        problem = origin_problem(request)
        if problem is None:
            posted = await submitted_csrf_token(request)
            if posted is None or not token_matches(posted, session.csrf_token):
                problem = "missing token" if posted is None else "wrong token"
        if problem:
            raise Refused(action="security.csrf_rejected", actor_id=user.id, reason=problem)
    request.state.user = SignedInUser.of(user)
    request.state.csrf_token = session.csrf_token
    return session, user


CurrentSession = Annotated[tuple[UserSession, User], Depends(current_session)]


def require(permission: Permission) -> Callable[..., User]:
    """Route dependency: a signed-in user whose role grants `permission`; anything else is refused."""

    def dependency(current: CurrentSession) -> User:
        _, user = current
        if not has_permission(user.role, permission):
            raise Refused(permission.value, actor_id=user.id)
        return user

    dependency.required_permission = permission  # type: ignore[attr-defined]  # read by the route tests
    return dependency


def public_route() -> None:
    """Marks a route that needs no session (sign-in, health check); the route audit test looks for it."""


PUBLIC = Depends(public_route)
