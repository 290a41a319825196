"""Helpers every test module shares: posting a form as a page would, reading audit rows, counting rows, and
walking the route table."""

from __future__ import annotations

from html.parser import HTMLParser
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


class _FormReader(HTMLParser):
    """The fields of one form of a page, as a browser would send them unchanged."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        if name in self.fields:
            current = self.fields[name]
            self.fields[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            self.fields[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("method", "").lower() == "post" and a.get("action") == self.action
        elif self.inside and tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif not self.inside or "name" not in a:
            return
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:
                self._add(a["name"], a.get("value", "on"))
        elif tag == "input" and a.get("type") not in ("submit", "button"):
            self._add(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str, action: str) -> dict[str, Any]:
    """What the page's POST form to `action` would send if submitted as it stands."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.fields


def saved_meanwhile(monkeypatch, service: Any) -> None:  # type: ignore[no-untyped-def]
    """Makes `service.touch(person)` first move the person's version on, as another request's save committed
    after this one read the person and before it writes would: the flush then fails with StaleDataError."""
    from sqlalchemy import update
    from sqlalchemy.orm import object_session

    from app.people.models import Person

    touch = service.touch

    def raced(target):  # type: ignore[no-untyped-def]
        object_session(target).execute(update(Person).where(Person.id == target.id)
                                       .values(version=Person.version + 1)
                                       .execution_options(synchronize_session=False))
        touch(target)

    monkeypatch.setattr(service, "touch", raced)
