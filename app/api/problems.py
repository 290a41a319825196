"""RFC 9457 problem details for every error the API gives, and the route class that turns the error vocabulary
(app/errors.py) into them, so that API clients never get an HTML error page."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from app.audit import service as audit
from app.audit.models import Outcome
from app.auth.deps import NotAuthenticated, client_ip
from app.errors import FORM_ERROR, NotFound, Refused, RuleBroken, StaleForm

log = logging.getLogger("casework.api")

MEDIA_TYPE = "application/problem+json"
# The body an API write may send: far more than any visit or note needs.
BODY_LIMIT = 256 * 1024
TITLES = {
    400: "The request could not be understood",
    401: "A valid API token is needed",
    403: "This token may not do this",
    404: "Not found",
    405: "Method not allowed",
    409: "The record changed meanwhile",
    411: "Content-Length required",
    413: "The request body is too large",
    422: "Some of the values sent are not valid",
    500: "Something went wrong on our side",
}


class FieldProblem(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) to the field in the request body")
    detail: str


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 describes it."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None
    correlation_id: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of these problem answers."""
    return {status: {"model": ProblemDetails, "description": TITLES[status],
                     "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
            for status in statuses}


# What any API route may answer; writes add WRITE_RESPONSES.
PROBLEM_RESPONSES = problem_responses(401, 403, 404, 422, 500)
WRITE_RESPONSES = problem_responses(409, 413)


class Problem(Exception):
    """An API refusal raised by the API's own dependencies. `audit_action` and `details` say which refusal row
    is written (in a transaction of its own, as the request itself is rolled back)."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
                 audit_action: str | None = None, actor_id: int | None = None, **details: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}
        self.audit_action = audit_action
        self.actor_id = actor_id
        self.details = details


class ProblemResponse(JSONResponse):
    """Problem details, and the refusal's audit row written just before they are sent: by then the request's
    own transaction has ended (rolled back), so the row's short transaction of its own never waits on it."""

    media_type = MEDIA_TYPE

    def __init__(self, *args: Any, record: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record = record

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.record is not None:
            await run_in_threadpool(self.record)
        await super().__call__(scope, receive, send)


def problem_response(request: Request, status: int, detail: str, *, kind: str | None = None,
                     errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
                     record: Callable[[], None] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"/api/v1/docs#problem-{kind or status}",
        "title": TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400]),
        "status": status, "detail": detail,
        "correlation_id": getattr(request.state, "correlation_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    return ProblemResponse(body, status_code=status, headers=headers, record=record)


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in ("body", "query", "path") else [str(p) for p in loc]
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    found = []
    for error in exc.errors():
        message = str(error.get("msg", "Not valid."))
        # Pydantic's "Value error, ..." is the rule's own message with a prefix the user need not see.
        message = message.removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "This field is not known."
        found.append({"pointer": _pointer(tuple(error.get("loc", ()))), "detail": message})
    return found


def _record(request: Request, action: str, actor_id: int | None, **details: Any) -> None:
    audit.record_apart(action, actor_id=actor_id, outcome=Outcome.denied, ip_address=client_ip(request),
                       correlation_id=getattr(request.state, "correlation_id", None), **details)


async def read_bounded_body(request: Request) -> None:
    """Reads a write's body into the request's cache, never more than BODY_LIMIT bytes."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > BODY_LIMIT):
        raise Problem(413, f"Send at most {BODY_LIMIT // 1024} KiB.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_LIMIT:
            raise Problem(413, f"Send at most {BODY_LIMIT // 1024} KiB.")
        chunks.append(chunk)
    request._body = b"".join(chunks)  # noqa: SLF001  (Starlette reads the body from this cache)


async def answer(request: Request, exc: Exception) -> Response:
    """The problem response for any error raised while serving an API route."""
    if isinstance(exc, Problem):
        action = exc.audit_action
        record = (partial(_record, request, action, exc.actor_id, **exc.details) if action else None)
        return problem_response(request, exc.status, exc.detail, kind=exc.kind, errors=exc.errors,
                                headers=exc.headers, record=record)
    if isinstance(exc, Refused):
        details = {k: v for k, v in exc.details.items() if k != "emergency_offer"}
        if exc.action == "security.permission_denied":
            details.setdefault("path", request.url.path)
            details.setdefault("permission", exc.permission)
        detail = ("This person is not assigned to you." if exc.permission == "assigned_clinician"
                  else "Your role does not allow this. The refusal has been recorded.")
        return problem_response(request, 403, detail, kind="forbidden",
                                record=partial(_record, request, exc.action, exc.actor_id, **details))
    if isinstance(exc, NotFound):
        return problem_response(request, 404, "There is no such record here.", kind="not-found")
    if isinstance(exc, RuleBroken):
        errors = [{"pointer": "" if name == FORM_ERROR else f"/{name}", "detail": message}
                  for name, message in exc.errors.items()]
        return problem_response(request, 422, "The record breaks a rule; nothing was saved.", kind="invalid",
                                errors=errors)
    if isinstance(exc, StaleForm | StaleDataError):
        return problem_response(request, 409, "The record changed while this request was served; nothing was "
                                "saved.", kind="conflict")
    if isinstance(exc, RequestValidationError):
        if any(tuple(e.get("loc", ("",)))[0] == "path" for e in exc.errors()):
            # A malformed reference or id names nothing, as on the pages.
            return problem_response(request, 404, "There is no such record here.", kind="not-found")
        return problem_response(request, 422, "Some of the values sent are not valid; nothing was saved.",
                                kind="invalid", errors=_validation_errors(exc))
    if isinstance(exc, NotAuthenticated):
        return problem_response(request, 401, "Sign in first.", kind="unauthenticated",
                                headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, StarletteHTTPException):
        return problem_response(request, exc.status_code, TITLES.get(exc.status_code, "Refused") + ".",
                                headers=dict(exc.headers or {}))
    correlation_id = getattr(request.state, "correlation_id", "-")
    log.error("unhandled API error correlation_id=%s path=%s type=%s", correlation_id, request.url.path,
              type(exc).__name__, exc_info=exc)
    return problem_response(request, 500, "Try again in a moment; if it keeps happening, give an administrator "
                            "the correlation id.", kind="server-error")


class ProblemRoute(APIRoute):
    """An API route: a write's body is read with a bound first, and any error becomes problem details.

    The errors are answered through the exception handlers Starlette looks up for this request, swapped for the
    API's own: so they run, as the app's do, only after the request's transaction has been rolled back (an
    error caught inside the endpoint's call would let the session commit)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().handle({**scope, "starlette.exception_handlers": ({Exception: answer}, {})}, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded_handler(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                await read_bounded_body(request)
            return await handler(request)

        return bounded_handler
