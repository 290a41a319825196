"""Error pages: one handler per error of the vocabulary (app/errors.py), 401/403/404/405/422/429 with a plain
explanation, and a generic 500 with a correlation id.

A broken rule or a stale form is answered by the page that holds the form, shown again: the handler replays
that page's GET route in a fresh transaction (the refused request's own was rolled back, so nothing of it is
half-saved) with what the user typed, the messages beside each field (422) or, for a stale form, what is saved
now beside what they typed (409). The page is the GET of the same path unless the route says otherwise with
`shown_on` (app/web/forms.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Message

from app.audit import service as audit
from app.audit.models import Outcome
from app.auth.deps import NotAuthenticated, client_ip
from app.config import get_settings
from app.errors import FORM_ERROR, NotFound, Refused, RuleBroken, StaleForm
from app.web.middleware import security_headers
from app.web.templating import REPLAY, render

log = logging.getLogger("casework.errors")

MESSAGES = {
    400: ("The request could not be understood", "Go back and try again."),
    401: ("Sign in to carry on", "Your session has ended or you are not signed in."),
    403: ("You do not have access to this page",
          "Your role does not allow this, or the form you sent had expired. If you need access, "
          "ask a coordinator or an administrator. This refusal has been recorded."),
    404: ("Page not found", "Check the address, or go back to the start page."),
    405: ("That action is not available here", "Go back to the start page and try again."),
    409: ("Someone else changed this record", "Nothing was saved. Open it again to see the latest details."),
    413: ("The file is too large", "Send a smaller file."),
    422: ("Some of the information sent was not valid", "Go back, check the form and try again."),
    429: ("Too many attempts", "Wait a few minutes, then try again."),
    500: ("Sorry, something went wrong on our side",
          "Nothing you did caused this. Try again in a moment; if it keeps happening, tell an "
          "administrator and give them the reference below."),
}


def error_page(request: Request, status_code: int, *, errors: dict[str, str] | None = None) -> Response:
    title, explanation = MESSAGES.get(status_code, MESSAGES[400] if status_code < 500 else MESSAGES[500])
    response = render(request, "errors/error.html", {
        "status_code": status_code, "title": title, "explanation": explanation, "messages": errors or {},
    }, status_code=status_code)
    return response


STALE_MESSAGE = ("Someone else saved changes to this record after you opened this form. Nothing you typed has "
                 "been saved: compare what is saved now with what you typed, then save again if it is still right.")


@dataclass(frozen=True)
class Replay:
    """A form shown again: `invalid` with messages beside the fields, or `stale` beside what is saved now."""

    kind: Literal["invalid", "stale"]
    values: dict[str, object]
    errors: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)


def _record_refusal(request: Request, exc: Refused) -> None:
    details: dict[str, Any] = {k: v for k, v in exc.details.items() if k != "emergency_offer"}
    if exc.action in ("security.permission_denied", "security.csrf_rejected"):
        details.setdefault("path", request.url.path)
    if exc.action == "security.permission_denied":
        details.setdefault("permission", exc.permission)
    audit.record_apart(exc.action, actor_id=exc.actor_id, outcome=Outcome.denied, ip_address=client_ip(request),
                       correlation_id=getattr(request.state, "correlation_id", None), **details)


def _record_session_end(request: Request, exc: NotAuthenticated) -> None:
    from app.auth.models import UserSession
    from app.auth.service import end_session
    from app.db import get_sessionmaker

    with get_sessionmaker()() as db, db.begin():
        if exc.end_session_id is not None:
            ended = db.get(UserSession, exc.end_session_id)
            if ended is not None:
                end_session(ended, reason=exc.end_reason or "ended")
        audit.record(db, "auth.session_expired", actor_id=exc.actor_id, outcome=Outcome.failure,
                     ip_address=client_ip(request), correlation_id=getattr(request.state, "correlation_id", None),
                     reason=exc.reason)


async def replay_form_page(request: Request, replay: Replay, status_code: int) -> Response | None:
    """The page holding the form this request sent, rendered again by its own GET route (which checks access
    again, in a transaction of its own) with `replay` applied; None when no such page exists."""
    from app.web.forms import form_page_path

    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    path = form_page_path(endpoint, request.url.path, request.path_params)
    state = {"correlation_id": getattr(request.state, "correlation_id", None)}
    scope = {**request.scope, "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "state": state, REPLAY: replay}
    for route in request.app.router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            break
    else:
        return None
    scope.update(child)
    started: dict[str, Any] = {}
    body: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await route.handle(scope, receive, send)
    status = started.get("status", 500)
    response = Response(content=b"".join(body), status_code=status_code if status == 200 else status)
    response.raw_headers = list(started.get("headers", []))
    return response


def _submitted(request: Request) -> tuple[dict[str, object], dict[str, str]]:
    submitted = getattr(request.state, "submitted", None)
    if submitted is None:
        return {}, {}
    return submitted.values, submitted.labels()


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        from app.auth.views import login_required_response

        if exc.actor_id is not None:
            await run_in_threadpool(_record_session_end, request, exc)
        return login_required_response(request, expired=exc.expired)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        await run_in_threadpool(_record_refusal, request, exc)
        if exc.details.get("emergency_offer") is not None:
            request.state.emergency_offer = exc.details["emergency_offer"]
        return error_page(request, 403)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, _exc: NotFound) -> Response:
        return error_page(request, 404)

    @app.exception_handler(RuleBroken)
    async def _rule_broken(request: Request, exc: RuleBroken) -> Response:
        values, labels = _submitted(request)
        known = set(labels) | set(values)
        errors = {(name if name in known else FORM_ERROR): message for name, message in exc.errors.items()}
        response = await replay_form_page(request, Replay("invalid", values, errors, labels), 422)
        return response or error_page(request, 422, errors=errors)

    async def _stale(request: Request, exc: Exception) -> Response:
        values, labels = _submitted(request)
        errors = {FORM_ERROR: getattr(exc, "message", None) or STALE_MESSAGE}
        response = await replay_form_page(request, Replay("stale", values, errors, labels), 409)
        return response or error_page(request, 409, errors=errors)

    app.add_exception_handler(StaleForm, _stale)
    # The version column's own check at flush time (a concurrent update that passed the form's check).
    app.add_exception_handler(StaleDataError, _stale)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = error_page(request, exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Malformed path or query values (e.g. /admin/users/abc) are a missing page to the user.
        status = 404 if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()) else 422
        return error_page(request, status)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        correlation_id = getattr(request.state, "correlation_id", "-")
        log.error("unhandled error correlation_id=%s path=%s type=%s", correlation_id,
                  request.url.path, type(exc).__name__, exc_info=exc)
        response = error_page(request, 500)
        # This response is made outside the security middleware, so it sets the headers itself.
        for name, value in security_headers(production=get_settings().is_production).items():
            response.headers[name] = value
        response.headers["X-Correlation-Id"] = str(correlation_id)
        return response
