"""Writing audit events, always in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.audit import catalogue
from app.audit.models import AuditEvent, Outcome
from app.db import DEFER_FLUSH


def record(
    db: Session,
    action: str,
    *,
    actor_id: int | None,
    outcome: Outcome = Outcome.success,
    object_type: str | None = None,
    object_id: str | int | None = None,
    person_id: int | None = None,
    ip_address: str | None = None,
    correlation_id: str | None = None,
    **details: Any,
) -> AuditEvent:
    catalogue.check(action, details)
    event = AuditEvent(
        action=action,
        actor_user_id=actor_id,
        outcome=outcome,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        person_id=person_id,
        ip_address=ip_address,
        correlation_id=correlation_id,
        details=details,
    )
    db.add(event)
    if not db.info.get(DEFER_FLUSH):
        db.flush()
    return event


def record_apart(action: str, *, actor_id: int | None, outcome: Outcome, **kwargs: Any) -> None:
    """Records `action` in a short transaction of its own and commits it: for refusals, whose request is rolled
    back (so the refused request changes nothing) while the refusal itself must be kept."""
    from app.db import get_sessionmaker

    with get_sessionmaker()() as db, db.begin():
        record(db, action, actor_id=actor_id, outcome=outcome, **kwargs)
