"""Error pages: 401/403/404/405/422/429 with a plain explanation, and a generic 500 with a correlation id."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.auth.deps import NotAuthenticated
from app.config import get_settings
from app.web.middleware import security_headers

log = logging.getLogger("casework.errors")

MESSAGES = {
    400: ("The request could not be understood", "Go back and try again."),
    401: ("Sign in to carry on", "Your session has ended or you are not signed in."),
    403: ("You do not have access to this page",
          "Your role does not allow this, or the form you sent had expired. If you need access, "
          "ask a coordinator or an administrator. This refusal has been recorded."),
    404: ("Page not found", "Check the address, or go back to the start page."),
    405: ("That action is not available here", "Go back to the start page and try again."),
    413: ("The file is too large", "Send a smaller file."),
    422: ("Some of the information sent was not valid", "Go back, check the form and try again."),
    429: ("Too many attempts", "Wait a few minutes, then try again."),
    500: ("Sorry, something went wrong on our side",
          "Nothing you did caused this. Try again in a moment; if it keeps happening, tell an "
          "administrator and give them the reference below."),
}


def error_page(request: Request, status_code: int) -> Response:
    from app.web.templating import render

    title, explanation = MESSAGES.get(status_code, MESSAGES[400] if status_code < 500 else MESSAGES[500])
    response = render(request, "errors/error.html", {
        "status_code": status_code, "title": title, "explanation": explanation,
    }, status_code=status_code)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        from app.auth.views import login_required_response

        return login_required_response(request, expired=exc.expired)

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
