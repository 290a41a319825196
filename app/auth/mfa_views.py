"""Two-factor sign-in pages: the code step after the password, enrolment and the account page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.audit.deps import Audit, AuditContext, PublicAudit
from app.audit.models import Outcome
from app.auth import mfa, service
from app.auth.deps import (
    PUBLIC,
    CurrentSession,
    SignedInUser,
    client_ip,
    origin_problem,
    require,
    safe_next,
    session_cookie_name,
    token_matches,
)
from app.auth.models import MfaPendingSignIn, PendingStep, User, UserSession
from app.auth.permissions import Permission
from app.auth.schemas import CodeForm
from app.config import get_settings
from app.db import DbSession
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, PublicForm, validate_form
from app.web.redirects import done
from app.web.templating import render

router = APIRouter()

VERIFY_PATH = "/login/two-factor"
ENROL_PATH = "/login/two-factor/setup"
WRONG_CODE = "The code is not right. Enter the code your app shows now, or an unused recovery code."
REUSED_CODE = "That code has already been used. Wait for the app to show a new one, then enter it."
WRONG_ENROL_CODE = ("The code is not right. Check that the app added this account, and that your phone's clock is "
                    "set automatically, then enter the code it shows now.")
EXPIRED = "Signing in took too long, so nothing was kept. Enter your e-mail address and password again."
# Every role may look after their own sign-in; view_home is the permission every role holds.
OwnAccount = Depends(require(Permission.view_home))


def pending_cookie_name() -> str:
    return "__Host-casework_mfa_pending" if get_settings().is_production else "casework_mfa_pending"


def _clear_pending_cookie(response: Response) -> None:
    response.delete_cookie(pending_cookie_name(), path="/", secure=get_settings().is_production, httponly=True,
                           samesite="strict")


def begin_second_step(request: Request, db: Session, audit: AuditContext, user: User,
                      next_path: str | None) -> Response:
    """After a right password: no session yet, only a pending sign-in that opens the second-factor pages."""
    settings = get_settings()
    step = mfa.second_step(settings, user)
    assert step is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    token = mfa.start_pending(db, user, step, safe_next(next_path), client_ip(request))
    audit.record("auth.password_accepted", next_step=step.value)
    response = RedirectResponse(ENROL_PATH if step is PendingStep.enrol else VERIFY_PATH, status_code=303)
    response.set_cookie(pending_cookie_name(), token, httponly=True, samesite="strict", path="/",
                        secure=settings.is_production, max_age=int(mfa.ENROL_PENDING_LIFETIME.total_seconds()))
    return response


def _pending(request: Request, db: Session, step: PendingStep) -> tuple[MfaPendingSignIn, User] | Response:
    """The pending sign-in this browser holds, if `step` is what it still needs; else where to go instead."""
    found = mfa.load_pending(db, request.cookies.get(pending_cookie_name()))
    # Judged afresh rather than from the stored step, in case an admin reset the user or the setting changed.
    needed = mfa.second_step(get_settings(), found[1]) if found is not None else None
    if found is None or needed is None:
        return _start_again(EXPIRED)
    if needed is not step:
        return RedirectResponse(ENROL_PATH if needed is PendingStep.enrol else VERIFY_PATH, status_code=303)
    request.state.csrf_token = found[0].csrf_token
    return found


def _start_again(message: str) -> Response:
    response = done("/login", message, kind="info")
    _clear_pending_cookie(response)
    return response


def _csrf_problem(request: Request, audit: AuditContext, pending: MfaPendingSignIn,
                  form: FormData) -> Response | None:
    posted = form.get("csrf_token")
    problem = origin_problem(request)
    if problem is None and (not isinstance(posted, str) or not token_matches(posted, pending.csrf_token)):
        problem = "missing token" if not posted else "wrong token"
    if problem is None:
        return None
    audit.record("security.csrf_rejected", outcome=Outcome.denied, reason=problem, path=request.url.path)
    return render(request, "errors/error.html", {
        "status_code": 403, "title": "This form had expired or came from another site",
        "explanation": "Nothing was sent. Go back, reload the page and try again."}, status_code=403)


def _full_session(request: Request, db: Session, audit: AuditContext, user: User) -> tuple[str, UserSession]:
    previous = request.cookies.get(session_cookie_name())
    if previous:
        service.end_session_by_token(db, previous, reason="replaced_at_sign_in")
    token = service.start_session(db, get_settings(), user, client_ip(request))
    session = db.scalars(select(UserSession).where(UserSession.token_hash == service.hash_token(token))).one()
    audit.record("auth.sign_in")
    return token, session


def _set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(session_cookie_name(), token, httponly=True, samesite="lax", path="/",
                        secure=get_settings().is_production)
    _clear_pending_cookie(response)


# --- the code step ---------------------------------------------------------------------------------

def _verify_page(request: Request, *, errors: dict[str, str] | None = None, status_code: int = 200,
                 form_open: bool = True) -> Response:
    return render(request, "auth/mfa_verify.html", {"errors": errors or {}, "values": {}, "form_open": form_open},
                  status_code=status_code)


@router.get(VERIFY_PATH, dependencies=[PUBLIC])
def verify_form(request: Request, db: DbSession) -> Response:
    found = _pending(request, db, PendingStep.verify)
    return found if isinstance(found, Response) else _verify_page(request)


@router.post(VERIFY_PATH, dependencies=[PUBLIC])
def verify_submit(request: Request, db: DbSession, audit: PublicAudit, form: PublicForm) -> Response:
    settings = get_settings()
    ip = client_ip(request)
    found = _pending(request, db, PendingStep.verify)
    if isinstance(found, Response):
        return found
    pending, user = found
    audit.actor_id = user.id
    refused = _csrf_problem(request, audit, pending, form)
    if refused is not None:
        return refused
    throttled = service.throttle_state(db, settings, user.email, ip)
    if throttled:
        mfa.finish_pending(db, pending)
        audit.record("auth.sign_in_throttled", outcome=Outcome.denied, scope=throttled.split("_", 1)[1])
        response = _verify_page(request, status_code=429, form_open=False, errors={FORM_ERROR: (
            f"Too many failed attempts. Wait {settings.login_throttle_window_minutes} minutes, then sign in "
            "again, or ask an administrator to check your account.")})
        _clear_pending_cookie(response)
        return response
    result = validate_form(form, CodeForm)
    if not result.ok or result.data is None:
        return _verify_page(request, errors=result.errors, status_code=422)

    check = mfa.check_code(db, settings, user, result.data.code)
    if check.failure is not None:
        exhausted = mfa.record_failure(db, pending, user, ip)
        audit.record("auth.mfa_failed", outcome=Outcome.failure, reason=check.failure, step="sign_in")
        if exhausted:
            return _start_again("Too many wrong codes. Sign in again with your e-mail address and password.")
        if check.failure == "secret_unreadable":
            message = "Your two-factor sign-in cannot be checked. Ask an administrator to reset it."
        else:
            message = REUSED_CODE if check.failure == "reused_code" else WRONG_CODE
        return _verify_page(request, status_code=401, errors={"code": message})

    mfa.finish_pending(db, pending)
    left = mfa.recovery_codes_left(db, user.id)
    audit.record("auth.mfa_verified", method=check.method, recovery_codes_left=left)
    token, _ = _full_session(request, db, audit, user)
    response = RedirectResponse(safe_next(pending.next_path), status_code=303)
    _set_session_cookie(response, token)
    if check.method == "recovery_code":
        flash.add(response, f"You signed in with a recovery code. You have {left} left: if you have lost your "
                            "authenticator, ask an administrator to reset your two-factor sign-in.", kind="info")
    return response


# --- enrolment -------------------------------------------------------------------------------------

def _enrol_page(request: Request, user: User, binding: str, *, action: str, required: bool,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    settings = get_settings()
    secret = mfa.enrolment_secret(settings, user.id, binding)
    return render(request, "auth/mfa_enrol.html", {
        "errors": errors or {}, "values": {}, "action": action, "required": required,
        "qr": mfa.qr_svg(mfa.provisioning_uri(settings, user, secret)), "secret_groups": mfa.grouped(secret),
        "issuer": settings.mfa_issuer, "account": user.email,
    }, status_code=status_code)


def _recovery_codes_page(request: Request, codes: list[str], next_path: str) -> Response:
    return render(request, "auth/mfa_recovery_codes.html", {"codes": codes, "next": safe_next(next_path)})


def _enrol(request: Request, db: Session, audit: AuditContext, user: User, binding: str, form: FormData, *,
           action: str, required: bool, via: str) -> list[str] | Response:
    """The recovery codes once the posted code proves the app holds the secret, else the page again."""
    settings = get_settings()
    result = validate_form(form, CodeForm)
    if not result.ok or result.data is None:
        return _enrol_page(request, user, binding, action=action, required=required, errors=result.errors,
                           status_code=422)
    codes = mfa.enrol(db, settings, user, mfa.enrolment_secret(settings, user.id, binding), result.data.code)
    if codes is None:
        audit.record("auth.mfa_failed", outcome=Outcome.failure, reason="wrong_code", step="enrolment")
        return _enrol_page(request, user, binding, action=action, required=required,
                           errors={"code": WRONG_ENROL_CODE}, status_code=422)
    audit.record("auth.mfa_enrolled", user, via=via)
    return codes


@router.get(ENROL_PATH, dependencies=[PUBLIC])
def enrol_form(request: Request, db: DbSession) -> Response:
    found = _pending(request, db, PendingStep.enrol)
    if isinstance(found, Response):
        return found
    pending, user = found
    return _enrol_page(request, user, pending.token_hash, action=ENROL_PATH, required=True)


@router.post(ENROL_PATH, dependencies=[PUBLIC])
def enrol_submit(request: Request, db: DbSession, audit: PublicAudit, form: PublicForm) -> Response:
    found = _pending(request, db, PendingStep.enrol)
    if isinstance(found, Response):
        return found
    pending, user = found
    audit.actor_id = user.id
    refused = _csrf_problem(request, audit, pending, form)
    if refused is not None:
        return refused
    outcome = _enrol(request, db, audit, user, pending.token_hash, form, action=ENROL_PATH, required=True,
                     via="sign_in")
    if isinstance(outcome, Response):
        return outcome
    next_path = pending.next_path
    mfa.finish_pending(db, pending)
    token, session = _full_session(request, db, audit, user)
    # The codes are shown in this response and nowhere else, so the page is the answer to the POST.
    request.state.user = SignedInUser.of(user)
    request.state.csrf_token = session.csrf_token
    response = _recovery_codes_page(request, outcome, next_path)
    _set_session_cookie(response, token)
    return response


# --- the account page ------------------------------------------------------------------------------

@router.get("/account/mfa", dependencies=[OwnAccount])
def account_mfa(request: Request, db: DbSession, current: CurrentSession) -> Response:
    session, user = current
    if mfa.is_enrolled(user):
        return render(request, "auth/mfa_account.html", {
            "enabled_at": user.mfa_enabled_at, "codes_left": mfa.recovery_codes_left(db, user.id)})
    return _enrol_page(request, user, session.token_hash, action="/account/mfa", required=False)


@router.post("/account/mfa", dependencies=[OwnAccount])
def account_mfa_enrol(request: Request, db: DbSession, form: PostedForm, current: CurrentSession,
                      audit: Audit) -> Response:
    session, user = current
    if mfa.is_enrolled(user):
        return done("/account/mfa", "Two-factor sign-in is already on for your account.", kind="info")
    outcome = _enrol(request, db, audit, user, session.token_hash, form, action="/account/mfa", required=False,
                     via="account")
    if isinstance(outcome, Response):
        return outcome
    return _recovery_codes_page(request, outcome, "/")

