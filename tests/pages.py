"""Helpers every test module shares: posting a form as a page would, reading audit rows, counting rows, and
walking the route table."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from tests.conftest import page_csrf


def post_form(client, path: str, data: dict[str, Any], *, form_page: str = "/"):  # type: ignore[no-untyped-def]
    """POST `data` with the CSRF token of `form_page` (any page the user may open carries the session's token)."""
    token = page_csrf(client, form_page)
    return client.post(path, data=data | {"csrf_token": token}, follow_redirects=False)


def audit_events(db: Session, action: str) -> list[AuditEvent]:
    db.rollback()  # a fresh snapshot: the app has written since the last read
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def count(db: Session, model: type) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model)) or 0


def route_calls(route: APIRoute) -> list[Any]:
    """Every dependency callable a route resolves, however deep."""
    found, stack = [], list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def declared_permissions(route: APIRoute) -> set[Any]:
    return {call.required_permission for call in route_calls(route) if hasattr(call, "required_permission")}
