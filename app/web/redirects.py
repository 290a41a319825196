"""The answer to a form that did what it was asked: a 303 to the page to see next, with a one-shot message."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.web import flash


def done(path: str, message: str, *, kind: str = "success") -> Response:
    response = RedirectResponse(path, status_code=303)
    flash.add(response, message, kind=kind)
    return response
