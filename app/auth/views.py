"""Sign-in and sign-out pages, and the admin's user and session management pages."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.audit.deps import Audit, PublicAudit
from app.audit.models import Outcome
from app.auth import mfa, mfa_views, service
from app.auth.deps import (
    PUBLIC,
    CurrentSession,
    origin_problem,
    require,
    safe_next,
    session_cookie_name,
    token_matches,
)
from app.auth.models import Role, User, UserSession
from app.auth.passwords import password_problem
from app.auth.permissions import Permission
from app.auth.schemas import NewPasswordForm, SignInForm, UserCreateForm, UserUpdateForm
from app.config import get_settings
from app.db import DbSession
from app.errors import RuleBroken, found
from app.web.forms import FORM_ERROR, Posted, PublicForm, shown_on, validate_form
from app.web.params import Id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter()

BAD_CREDENTIALS = "The e-mail address or password is not right. Check them and try again."


def login_csrf_cookie_name() -> str:
    # __Host- in production like every other cookie, so that no subdomain can plant a token to match its own form.
    return "__Host-casework_login_csrf" if get_settings().is_production else "casework_login_csrf"


def _clear_login_csrf(response: Response) -> None:
    # A cookie is only removed by a Set-Cookie with the attributes it was set with (a __Host- one needs Secure).
    response.delete_cookie(login_csrf_cookie_name(), path="/", secure=get_settings().is_production, httponly=True,
                           samesite="strict")


def _login_page(request: Request, *, status_code: int = 200, errors: dict[str, str] | None = None,
                values: dict[str, object] | None = None, notice: str | None = None,
                next_path: str = "/") -> Response:
    # Sign-in happens before there is a session, so its CSRF token is a double-submit cookie.
    token = request.cookies.get(login_csrf_cookie_name()) or secrets.token_urlsafe(32)
    request.state.csrf_token = token
    response = render(request, "auth/login.html", {
        "errors": errors or {}, "values": values or {}, "notice": notice, "next": safe_next(next_path),
    }, status_code=status_code)
    response.set_cookie(login_csrf_cookie_name(), token, httponly=True, samesite="strict", path="/",
                        secure=get_settings().is_production)
    return response


def login_required_response(request: Request, *, expired: bool) -> Response:
    """What a request without a live session gets: the sign-in page (401) or, for a plain visit, a redirect."""
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not expired and request.method == "GET":
        return RedirectResponse(f"/login?next={next_path}" if next_path != "/" else "/login", status_code=303)
    notice = ("Your session has ended. Sign in again to carry on." if expired
              else "Sign in to use the casework tracker.")
    response = _login_page(request, status_code=401, notice=notice,
                           next_path=next_path if request.method == "GET" else "/")
    response.delete_cookie(session_cookie_name(), path="/", secure=get_settings().is_production,
                           httponly=True, samesite="lax")
    return response


@router.get("/login", dependencies=[PUBLIC])
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_path=next)


@router.post("/login", dependencies=[PUBLIC])
def login_submit(request: Request, db: DbSession, audit: PublicAudit, form: PublicForm) -> Response:
    settings = get_settings()
    ip = audit.ip_address  # the address sign-in failures are throttled by
    cookie_token = request.cookies.get(login_csrf_cookie_name())
    posted_token = form.get("csrf_token")
    problem = origin_problem(request)
    if problem is None and (not cookie_token or not isinstance(posted_token, str)
                            or not token_matches(posted_token, cookie_token)):
        problem = "missing token" if not posted_token else "wrong token"
    if problem:
        audit.record("security.csrf_rejected", outcome=Outcome.denied, reason=problem, path="/login")
        return _login_page(request, status_code=403, notice=(
            "This sign-in form had expired or came from another site. Nothing was sent: try again."))

    result = validate_form(form, SignInForm)
    if not result.ok:
        return _login_page(request, status_code=422, errors=result.errors,
                           values={"email": result.values.get("email", "")},
                           next_path=str(result.values.get("next") or "/"))
    data = result.data
    assert data is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    outcome = service.sign_in(db, settings, data.email, data.password, ip,
                              session_waits=lambda user: mfa.second_step(settings, user) is not None)
    audit.actor_id = outcome.user.id if outcome.user is not None else None
    if outcome.failure:
        if outcome.failure.startswith("throttled"):
            audit.record("auth.sign_in_throttled", outcome=Outcome.denied, scope=outcome.failure.split("_", 1)[1])
            minutes = settings.login_throttle_window_minutes
            return _login_page(request, status_code=429, values={"email": data.email}, errors={
                FORM_ERROR: f"Too many failed attempts. Wait {minutes} minutes, then try again, "
                            "or ask an administrator to check your account."})
        audit.record("auth.sign_in_failed", outcome=Outcome.failure, reason=outcome.failure)
        return _login_page(request, status_code=401, values={"email": data.email},
                           errors={FORM_ERROR: BAD_CREDENTIALS}, next_path=data.next or "/")

    if outcome.token is None and outcome.user is not None:
        response = mfa_views.begin_second_step(request, db, audit, outcome.user, data.next)
        _clear_login_csrf(response)
        return response
    assert outcome.token is not None and outcome.user is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    previous = request.cookies.get(session_cookie_name())
    if previous:
        # A fresh token at every sign-in; whatever session the browser held before is closed.
        service.end_session_by_token(db, previous, reason="replaced_at_sign_in")
    audit.record("auth.sign_in")
    response = RedirectResponse(safe_next(data.next), status_code=303)
    response.set_cookie(session_cookie_name(), outcome.token, httponly=True, samesite="lax", path="/",
                        secure=settings.is_production)
    _clear_login_csrf(response)
    return response


@router.post("/logout", dependencies=[Depends(require(Permission.view_home))])
def logout(current: CurrentSession, audit: Audit) -> Response:
    service.end_session(current[0], reason="signed_out")
    audit.record("auth.sign_out")
    response = done("/login", "You have signed out.")
    response.delete_cookie(session_cookie_name(), path="/", secure=get_settings().is_production,
                           httponly=True, samesite="lax")
    return response


# --- admin: users --------------------------------------------------------------------------------

admin_router = APIRouter(prefix="/admin/users")
ManageUsers = Depends(require(Permission.manage_users))
ROLE_CHOICES = [(r.value, r.label) for r in Role]


def user_by_id(user_id: Id, db: DbSession, _admin: User = ManageUsers) -> User:
    """The account named in the path; the permission is checked first, so only an admin learns which ids exist."""
    return found(service.get_user(db, user_id))


Account = Annotated[User, Depends(user_by_id)]


@admin_router.get("", dependencies=[ManageUsers])
def users_list(request: Request, db: DbSession) -> Response:
    return render(request, "auth/users.html", {"users": service.list_users(db)})


@admin_router.get("/new", dependencies=[ManageUsers])
def user_new(request: Request) -> Response:
    return render(request, "auth/user_new.html", {"errors": {}, "values": {}, "roles": ROLE_CHOICES})


@admin_router.post("/new", dependencies=[ManageUsers])
def user_create(db: DbSession, audit: Audit, data: UserCreateForm = Posted(UserCreateForm)) -> Response:
    user = service.create_user(db, email=data.email, display_name=data.display_name, role=data.role,
                               password=data.password)
    audit.record("admin.user_created", user, role=user.role.value)
    return done("/admin/users", f"Account created for {user.display_name}.")


@admin_router.get("/{user_id}")
def user_edit(request: Request, user: Account) -> Response:
    saved = {"display_name": user.display_name, "role": user.role.value}
    return render(request, "auth/user_edit.html", {"user": user, "errors": {}, "values": saved, "roles": ROLE_CHOICES})


@admin_router.post("/{user_id}")
def user_update(user: Account, db: DbSession, audit: Audit,
                data: UserUpdateForm = Posted(UserUpdateForm)) -> Response:
    changes = service.change_user(db, user, display_name=data.display_name, role=data.role)
    if changes:
        audit.record("admin.user_changed", user, changes=changes)
    return done("/admin/users", "Account updated." if changes else "Nothing was changed.")


@admin_router.post("/{user_id}/deactivate")
@shown_on("/admin/users/{user_id}")
def user_deactivate(user: Account, db: DbSession, audit: Audit, admin: User = ManageUsers) -> Response:
    ended = service.deactivate_user(db, user, acting_user=admin)
    audit.record("admin.user_deactivated", user, sessions_ended=ended)
    return done("/admin/users", f"{user.display_name} can no longer sign in; {ended} open session(s) ended.")


@admin_router.post("/{user_id}/reactivate")
@shown_on("/admin/users/{user_id}")
def user_reactivate(user: Account, db: DbSession, audit: Audit) -> Response:
    service.reactivate_user(db, user)
    audit.record("admin.user_reactivated", user)
    return done("/admin/users", f"{user.display_name} can sign in again.")


@admin_router.post("/{user_id}/password")
@shown_on("/admin/users/{user_id}")
def user_set_password(user: Account, db: DbSession, current: CurrentSession, audit: Audit,
                      admin: User = ManageUsers, data: NewPasswordForm = Posted(NewPasswordForm)) -> Response:
    # The form checked the password on its own; only here is it known whose it will be.
    problem = password_problem(data.password, email=user.email, name=user.display_name)
    if problem:
        raise RuleBroken.on("password", problem)
    own_session = current[0].id if user.id == admin.id else None
    ended = service.set_password(db, get_settings(), user, data.password, keep_session_id=own_session)
    audit.record("admin.user_password_set", user, sessions_ended=ended)
    return done(f"/admin/users/{user.id}", f"New password set for {user.display_name}; {ended} open session(s) ended.")


@admin_router.post("/{user_id}/two-factor/reset")
def user_mfa_reset(user: Account, db: DbSession, audit: Audit, admin: User = ManageUsers) -> Response:
    was_enrolled = mfa.is_enrolled(user)
    ended = mfa.reset(db, user)
    audit.record("admin.user_mfa_reset", user, was_enrolled=was_enrolled, sessions_ended=ended)
    # Resetting your own ends the session in use too.
    return done("/login" if user.id == admin.id else f"/admin/users/{user.id}",
                f"Two-factor sign-in reset for {user.display_name}: {ended} open session(s) ended. "
                "They set it up again when they next sign in.")


# --- admin: sessions -----------------------------------------------------------------------------

sessions_router = APIRouter(prefix="/admin/sessions")


def session_by_id(session_id: Id, db: DbSession, _admin: User = ManageUsers) -> UserSession:
    return found(service.get_session(db, session_id))


SignedInSession = Annotated[UserSession, Depends(session_by_id)]


@sessions_router.get("", dependencies=[ManageUsers])
def sessions_list(request: Request, db: DbSession, current: CurrentSession) -> Response:
    settings = get_settings()
    rows = service.active_sessions(db, settings)
    idle = timedelta(minutes=settings.session_idle_minutes)
    return render(request, "auth/sessions.html", {
        "rows": [(s, u, min(s.expires_at, s.last_seen_at + idle)) for s, u in rows],
        "current_session_id": current[0].id,
    })


@sessions_router.post("/{session_id}/end")
def session_end(session: SignedInSession, current: CurrentSession, audit: Audit) -> Response:
    if session.ended_at is not None:
        return done("/admin/sessions", "That session had already ended; nothing was changed.")
    service.end_session(session, reason="ended_by_admin")
    audit.record("admin.session_ended", object_type="session", object_id=session.id,
                 session_user_id=session.user_id)
    return done("/admin/sessions", "Session ended: that browser must sign in again." if session.id != current[0].id
                else "Your own session ended: sign in again to carry on.")


@sessions_router.post("/users/{user_id}/end")
def user_sessions_end(user: Account, db: DbSession, current: CurrentSession, audit: Audit,
                      admin: User = ManageUsers) -> Response:
    # Someone ending all their own sessions keeps the one they are using, as with a new password.
    ended = service.end_all_sessions(db, user.id, reason="ended_by_admin") if user.id != admin.id else (
        service.end_other_sessions(db, user.id, keep_session_id=current[0].id, reason="ended_by_admin"))
    audit.record("admin.user_sessions_ended", user, sessions_ended=ended)
    return done("/admin/sessions", f"{ended} session(s) of {user.display_name} ended.")
