"""Sign-in and sign-out pages, and the admin's user management pages."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.audit import service as audit
from app.audit.models import Outcome
from app.auth import mfa, mfa_views, service
from app.auth.deps import (
    PUBLIC,
    CurrentSession,
    client_ip,
    origin_problem,
    require,
    safe_next,
    session_cookie_name,
)
from app.auth.models import Role, User, UserSession
from app.auth.permissions import Permission
from app.auth.schemas import NewPasswordForm, SignInForm, UserCreateForm, UserUpdateForm
from app.config import DEMO_PASSWORD, get_settings
from app.db import DbSession
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, PublicForm, validate_form
from app.web.templating import render

router = APIRouter()

LOGIN_CSRF_COOKIE = "casework_login_csrf"
BAD_CREDENTIALS = "The e-mail address or password is not right. Check them and try again."


def _login_page(request: Request, *, status_code: int = 200, errors: dict[str, str] | None = None,
                values: dict[str, object] | None = None, notice: str | None = None,
                next_path: str = "/") -> Response:
    # Sign-in happens before there is a session, so its CSRF token is a double-submit cookie.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf_token = token
    response = render(request, "auth/login.html", {
        "errors": errors or {}, "values": values or {}, "notice": notice, "next": safe_next(next_path),
    }, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
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
def login_submit(request: Request, db: DbSession, form: PublicForm) -> Response:
    settings = get_settings()
    ip = client_ip(request)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    posted_token = form.get("csrf_token")
    problem = origin_problem(request)
    if problem is None and (not cookie_token or not isinstance(posted_token, str)
                            or not hmac.compare_digest(cookie_token, posted_token)):
        problem = "missing token" if not posted_token else "wrong token"
    if problem:
        audit.record(db, "security.csrf_rejected", actor_id=None, outcome=Outcome.denied, ip_address=ip,
                     correlation_id=request.state.correlation_id, reason=problem, path="/login")
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
    actor_id = outcome.user.id if outcome.user is not None else None
    if outcome.failure:
        if outcome.failure.startswith("throttled"):
            audit.record(db, "auth.sign_in_throttled", actor_id=actor_id, outcome=Outcome.denied, ip_address=ip,
                         correlation_id=request.state.correlation_id, scope=outcome.failure.split("_", 1)[1])
            minutes = settings.login_throttle_window_minutes
            return _login_page(request, status_code=429, values={"email": data.email}, errors={
                FORM_ERROR: f"Too many failed attempts. Wait {minutes} minutes, then try again, "
                            "or ask an administrator to check your account."})
        audit.record(db, "auth.sign_in_failed", actor_id=actor_id, outcome=Outcome.failure, ip_address=ip,
                     correlation_id=request.state.correlation_id, reason=outcome.failure)
        return _login_page(request, status_code=401, values={"email": data.email},
                           errors={FORM_ERROR: BAD_CREDENTIALS}, next_path=data.next or "/")

    if outcome.token is None and outcome.user is not None:
        response = mfa_views.begin_second_step(request, db, outcome.user, data.next)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response
    assert outcome.token is not None and outcome.user is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    previous = request.cookies.get(session_cookie_name())
    if previous:
        # A fresh token at every sign-in; whatever session the browser held before is closed.
        service.end_session_by_token(db, previous, reason="replaced_at_sign_in")
    audit.record(db, "auth.sign_in", actor_id=outcome.user.id, ip_address=ip,
                 correlation_id=request.state.correlation_id)
    response = RedirectResponse(safe_next(data.next), status_code=303)
    response.set_cookie(session_cookie_name(), outcome.token, httponly=True, samesite="lax", path="/",
                        secure=settings.is_production)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", dependencies=[Depends(require(Permission.view_home))])
def logout(request: Request, db: DbSession, current: CurrentSession) -> Response:
    session, user = current
    service.end_session(session, reason="signed_out")
    audit.record(db, "auth.sign_out", actor_id=user.id, ip_address=client_ip(request),
                 correlation_id=request.state.correlation_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session_cookie_name(), path="/", secure=get_settings().is_production,
                           httponly=True, samesite="lax")
    flash.add(response, "You have signed out.")
    return response


# --- admin: users --------------------------------------------------------------------------------

admin_router = APIRouter(prefix="/admin/users")
ManageUsers = Depends(require(Permission.manage_users))
ROLE_CHOICES = [(r.value, r.label) for r in Role]


def _user_or_404(db: DbSession, user_id: int) -> User:
    user = service.get_user(db, user_id)
    if user is None:
        raise HTTPException(status_code=404)
    return user


@admin_router.get("", dependencies=[ManageUsers])
def users_list(request: Request, db: DbSession) -> Response:
    return render(request, "admin/users.html", {"users": service.list_users(db)})


@admin_router.get("/new", dependencies=[ManageUsers])
def user_new(request: Request) -> Response:
    return render(request, "admin/user_new.html", {"errors": {}, "values": {}, "roles": ROLE_CHOICES})


@admin_router.post("/new")
def user_create(request: Request, db: DbSession, form: PostedForm, admin: User = ManageUsers) -> Response:
    result = validate_form(form, UserCreateForm)
    data = result.data
    if data is not None and service.email_taken(db, data.email):
        result.errors["email"] = "A user with this e-mail address already exists."
    if not result.ok or data is None:
        values = {k: v for k, v in result.values.items() if k != "password"}
        return render(request, "admin/user_new.html", {"errors": result.errors, "values": values,
                                                        "roles": ROLE_CHOICES}, status_code=422)
    user = service.create_user(db, email=data.email, display_name=data.display_name, role=data.role,
                               password=data.password)
    audit.record(db, "admin.user_created", actor_id=admin.id, object_type="user", object_id=user.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, role=user.role.value)
    response = RedirectResponse("/admin/users", status_code=303)
    flash.add(response, f"Account created for {user.display_name}.")
    return response


@admin_router.get("/{user_id}", dependencies=[ManageUsers])
def user_edit(request: Request, user_id: int, db: DbSession) -> Response:
    user = _user_or_404(db, user_id)
    values = {"display_name": user.display_name, "role": user.role.value}
    return render(request, "admin/user_edit.html", {"user": user, "errors": {}, "values": values,
                                                     "roles": ROLE_CHOICES})


@admin_router.post("/{user_id}")
def user_update(request: Request, user_id: int, db: DbSession, form: PostedForm,
                admin: User = ManageUsers) -> Response:
    user = _user_or_404(db, user_id)
    result = validate_form(form, UserUpdateForm)
    data = result.data
    if data is not None:
        try:
            changes = service.change_user(db, user, display_name=data.display_name, role=data.role)
        except service.UserRuleError as exc:
            result.errors[exc.field] = exc.message
    if not result.ok or data is None:
        return render(request, "admin/user_edit.html", {"user": user, "errors": result.errors,
                                                         "values": result.values, "roles": ROLE_CHOICES},
                      status_code=422)
    if changes:
        audit.record(db, "admin.user_changed", actor_id=admin.id, object_type="user", object_id=user.id,
                     ip_address=client_ip(request), correlation_id=request.state.correlation_id, changes=changes)
    response = RedirectResponse("/admin/users", status_code=303)
    flash.add(response, "Account updated." if changes else "Nothing was changed.")
    return response


@admin_router.post("/{user_id}/deactivate")
def user_deactivate(request: Request, user_id: int, db: DbSession, admin: User = ManageUsers) -> Response:
    user = _user_or_404(db, user_id)
    try:
        ended = service.deactivate_user(db, user, acting_user=admin)
    except service.UserRuleError as exc:
        return render(request, "admin/user_edit.html", {
            "user": user, "errors": {FORM_ERROR: exc.message}, "roles": ROLE_CHOICES,
            "values": {"display_name": user.display_name, "role": user.role.value}}, status_code=422)
    audit.record(db, "admin.user_deactivated", actor_id=admin.id, object_type="user", object_id=user.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, sessions_ended=ended)
    response = RedirectResponse("/admin/users", status_code=303)
    flash.add(response, f"{user.display_name} can no longer sign in; {ended} open session(s) ended.")
    return response


@admin_router.post("/{user_id}/reactivate")
def user_reactivate(request: Request, user_id: int, db: DbSession, admin: User = ManageUsers) -> Response:
    user = _user_or_404(db, user_id)
    try:
        service.reactivate_user(db, user)
    except service.UserRuleError as exc:
        return render(request, "admin/user_edit.html", {
            "user": user, "errors": {FORM_ERROR: exc.message}, "roles": ROLE_CHOICES,
            "values": {"display_name": user.display_name, "role": user.role.value}}, status_code=422)
    audit.record(db, "admin.user_reactivated", actor_id=admin.id, object_type="user", object_id=user.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id)
    response = RedirectResponse("/admin/users", status_code=303)
    flash.add(response, f"{user.display_name} can sign in again.")
    return response


@admin_router.post("/{user_id}/password")
def user_set_password(request: Request, user_id: int, db: DbSession, form: PostedForm, current: CurrentSession,
                      admin: User = ManageUsers) -> Response:
    user = _user_or_404(db, user_id)
    result = validate_form(form, NewPasswordForm)
    if result.data is not None and get_settings().is_production and result.data.password == DEMO_PASSWORD:
        result.errors["password"] = "The public demo password cannot be used here."  # noqa: S105 (a message)
    if not result.ok or result.data is None:
        return render(request, "admin/user_edit.html", {
            "user": user, "errors": result.errors, "roles": ROLE_CHOICES,
            "values": {"display_name": user.display_name, "role": user.role.value}}, status_code=422)
    own_session = current[0].id if user.id == admin.id else None
    ended = service.set_password(db, user, result.data.password, keep_session_id=own_session)
    audit.record(db, "admin.user_password_set", actor_id=admin.id, object_type="user", object_id=user.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, sessions_ended=ended)
    response = RedirectResponse(f"/admin/users/{user.id}", status_code=303)
    flash.add(response, f"New password set for {user.display_name}; {ended} open session(s) ended.")
    return response


# --- admin: sessions -----------------------------------------------------------------------------

sessions_router = APIRouter(prefix="/admin/sessions")


@sessions_router.get("", dependencies=[ManageUsers])
def sessions_list(request: Request, db: DbSession, current: CurrentSession) -> Response:
    settings = get_settings()
    rows = service.active_sessions(db, settings)
    idle = timedelta(minutes=settings.session_idle_minutes)
    return render(request, "admin/sessions.html", {
        "rows": [(s, u, min(s.expires_at, s.last_seen_at + idle)) for s, u in rows],
        "current_session_id": current[0].id,
    })


@sessions_router.post("/{session_id}/end")
def session_end(request: Request, session_id: int, db: DbSession, current: CurrentSession,
                admin: User = ManageUsers) -> Response:
    session = db.get(UserSession, session_id)
    if session is None:
        raise HTTPException(status_code=404)
    response = RedirectResponse("/admin/sessions", status_code=303)
    if session.ended_at is not None:
        flash.add(response, "That session had already ended; nothing was changed.")
        return response
    service.end_session(session, reason="ended_by_admin")
    audit.record(db, "admin.session_ended", actor_id=admin.id, object_type="session", object_id=session.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id,
                 session_user_id=session.user_id)
    flash.add(response, "Session ended: that browser must sign in again." if session.id != current[0].id
              else "Your own session ended: sign in again to carry on.")
    return response


@sessions_router.post("/users/{user_id}/end")
def user_sessions_end(request: Request, user_id: int, db: DbSession, current: CurrentSession,
                      admin: User = ManageUsers) -> Response:
    user = _user_or_404(db, user_id)
    # Someone ending all their own sessions keeps the one they are using, as with a new password.
    ended = service.end_all_sessions(db, user.id, reason="ended_by_admin") if user.id != admin.id else (
        service.end_other_sessions(db, user.id, keep_session_id=current[0].id, reason="ended_by_admin"))
    audit.record(db, "admin.user_sessions_ended", actor_id=admin.id, object_type="user", object_id=user.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, sessions_ended=ended)
    response = RedirectResponse("/admin/sessions", status_code=303)
    flash.add(response, f"{ended} session(s) of {user.display_name} ended.")
    return response
