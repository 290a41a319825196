"""Revision rows: a before/after copy of every change to a case record, written in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import Revision, RevisionAction


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in before.keys() | after.keys() if _plain(before.get(k)) != _plain(after.get(k)))


def record(db: Session, *, actor_id: int | None, table: str, row_id: int, person_id: int | None,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> Revision | None:
    """Write a revision; returns None (and writes nothing) when nothing changed."""
    if before is not None and after is not None and not changed_fields(before, after):
        return None
    action = (RevisionAction.insert if before is None else RevisionAction.delete if after is None
              else RevisionAction.update)
    revision = Revision(actor_user_id=actor_id, table_name=table, row_id=row_id, person_id=person_id,
                        action=action, before=_plain(before), after=_plain(after))
    db.add(revision)
    db.flush()
    return revision
