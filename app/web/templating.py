"""Jinja2 environment, display filters and the render helper every page uses."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from app.config import PROJECT_ROOT
from app.dates import format_date, format_datetime, typed_date
from app.web import flash

templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))
# Request scope key: the form a page shown again holds (set by the handlers in app/web/errors.py).
REPLAY = "casework.replay"


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


def _comparable(value: object) -> str:
    """A form value as stored or as typed, in one spelling: so "3 March 2026" typed equals 2026-03-03 saved, an
    unticked box equals False and an empty field equals None."""

    if isinstance(value, list | tuple | set):
        return ", ".join(sorted(_comparable(v) for v in value))
    if value is None or value is False or value == "":
        return ""
    if value is True or value in ("on", "true", "True"):
        return "yes"
    text = str(getattr(value, "value", value)).strip()
    parsed = typed_date(text)
    return parsed.isoformat() if hasattr(parsed, "isoformat") else text


def _shown(value: str) -> str:
    if value == "yes":
        return "Yes"
    if value and value.replace("_", "").isalnum() and value.islower() and "_" in value:
        return humanise(value)  # a stored code, such as a mode or a risk level
    try:
        return format_date(date.fromisoformat(value))
    except ValueError:
        return value


def conflict_rows(saved: dict[str, object], typed: dict[str, object],
                  labels: dict[str, str]) -> list[tuple[str, str, str]]:
    """(label, saved now, what was typed) for each field of the form that differs. A field the page holds no saved
    value for (a form that adds a record, refused because the person's record moved on) is not compared."""
    rows = []
    for name, label in labels.items():
        if name == "version" or name.endswith("_version") or name not in saved:
            continue
        now, mine = _comparable(saved.get(name)), _comparable(typed.get(name))
        if now != mine:
            rows.append((label, _shown(now), _shown(mine)))
    return rows


def _apply_replay(request: Request, ctx: dict[str, Any]) -> None:
    """A page shown again for the form its request sent (app/web/errors.py): what the user typed replaces what
    the page loaded, with the messages; for a stale form, beside what is saved now, and with the saved
    version, so that saving again is a choice made knowing what is there."""
    replay = request.scope.get(REPLAY)
    if replay is None:
        return
    saved = dict(ctx.get("values") or {})
    # The sent form's fields are what was typed (a field it did not send, such as an unticked box, is empty);
    # any other form on the page keeps what it loaded.
    values = {k: v for k, v in saved.items() if k not in replay.labels} | dict(replay.values)
    if replay.kind == "stale":
        ctx["conflict"] = conflict_rows(saved, values, replay.labels)
        values.update({k: v for k, v in saved.items() if k == "version" or k.endswith("_version")})
    ctx["values"] = values
    ctx["errors"] = replay.errors


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
    _apply_replay(request, ctx)
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    flash.clear_cookie_if_shown(request, response)
    return response
