"""Jinja2 environment, display filters and the render helper every page uses."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from app.config import PROJECT_ROOT
from app.dates import format_date, format_datetime
from app.web import flash

templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))


def humanise(value: object) -> str:
    """Plain words for stored codes: "in_person" -> "In person"."""
    text = str(getattr(value, "value", value) or "")
    return text.replace("_", " ").capitalize()


templates.env.filters["date"] = format_date
templates.env.filters["datetime"] = format_datetime
templates.env.filters["humanise"] = humanise


def may(user: object, permission: str) -> bool:
    """Whether the signed-in user's role grants a permission (navigation shows only what they may use)."""
    from app.auth.permissions import Permission, has_permission

    role = getattr(user, "role", None)
    return role is not None and has_permission(role, Permission(permission))


templates.env.globals["may"] = may


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    state = request.state
    ctx: dict[str, Any] = {
        "current_user": getattr(state, "user", None),
        "csrf_token": getattr(state, "csrf_token", None),
        "flashes": flash.pop(request),
        "correlation_id": getattr(state, "correlation_id", None),
        # Break-glass: the banner on pages opened under emergency access, the form on a refusal it could lift.
        "emergency_access": getattr(state, "emergency_access", None),
        "emergency_offer": getattr(state, "emergency_offer", None),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    flash.clear_cookie_if_shown(request, response)
    return response
