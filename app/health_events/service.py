"""Health events (self-harm, ACDT, food and fluid refusal, segregation ...): recording them, recording the end
of an ongoing one, and the person page's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.auth.models import User
from app.errors import FORM_ERROR, RuleBroken
from app.health_events.models import HealthEvent, HealthEventKind
from app.health_events.schemas import LASTING_KINDS, TIMED_KINDS, HealthEventForm
from app.people.models import Person
from app.web.templating import format_datetime

SECTION_LIMIT = 50


def _at(value: datetime) -> str:
    return format_datetime(value)


def snapshot(event: HealthEvent) -> dict[str, Any]:
    return {"kind": event.kind, "started_at": event.started_at, "ended_at": event.ended_at, "notes": event.notes,
            "recorded_by_id": event.recorded_by_id}


def get_for_person(db: Session, person_id: int, event_id: int, *, for_update: bool = False) -> HealthEvent | None:
    query = select(HealthEvent).where(HealthEvent.id == event_id, HealthEvent.person_id == person_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalar(query)


def record_event(db: Session, actor: User, person: Person, data: HealthEventForm, now: datetime) -> HealthEvent:
    started, ended = data.started_at, data.ended_at
    errors: dict[str, str] = {}
    if started > now:
        errors["started_date"] = "The start cannot be in the future."
    if ended is not None and ended > now:
        errors["ended_date"] = "The end cannot be in the future. Leave it empty while it is ongoing."
    elif ended is not None and ended <= started:
        errors["ended_date"] = f"The end must be after the start ({_at(started)})."
    if errors:
        raise RuleBroken(errors)
    assert data.kind is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    event = HealthEvent(person_id=person.id, kind=data.kind, started_at=started, ended_at=ended, notes=data.notes,
                        recorded_by_id=actor.id)
    db.add(event)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="health_events", row_id=event.id, person_id=person.id,
                     before=None, after=snapshot(event))
    return event


def end_event(db: Session, actor: User, person: Person, event: HealthEvent, ended_at: datetime,
              now: datetime) -> None:
    """Record when an ongoing event (a food refusal, a spell in segregation ...) ended."""
    if event.ended_at is not None:
        raise RuleBroken.on(FORM_ERROR, f"This was already recorded as ended on {_at(event.ended_at)}.")
    if ended_at > now:
        raise RuleBroken.on("ended_date", "The end cannot be in the future.")
    if ended_at <= event.started_at:
        raise RuleBroken.on("ended_date", f"The end must be after the start ({_at(event.started_at)}).")
    before = snapshot(event)
    event.ended_at = ended_at
    db.flush()
    revisions.record(db, actor_id=actor.id, table="health_events", row_id=event.id, person_id=person.id,
                     before=before, after=snapshot(event))


# --- the person page's section ---------------------------------------------------------------------

@dataclass
class EventRow:
    id: int
    kind: HealthEventKind
    started_at: datetime
    ended_at: datetime | None
    notes: str | None
    ongoing: bool
    duration: str | None


def duration_text(delta: timedelta) -> str:
    """"45 minutes", "30 hours" (refusal thresholds are in hours), or "5 days 3 hours" beyond three days."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 72:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days, hours = divmod(hours, 24)
    return f"{days} days" + (f" {hours} hour{'s' if hours != 1 else ''}" if hours else "")


def is_ongoing(event: HealthEvent, closed_acdt_times: list[datetime]) -> bool:
    if event.ended_at is not None or event.kind not in LASTING_KINDS:
        return False
    if event.kind is HealthEventKind.acdt_opened:
        # An ACDT is open until it is ended or a later "ACDT closed" event is recorded.
        return not any(closed >= event.started_at for closed in closed_acdt_times)
    return True


def section(db: Session, person: Person, now: datetime) -> dict[str, Any]:
    """The person's latest health events, newest first, in one query (two when there are more than shown)."""
    events = list(db.scalars(
        select(HealthEvent).where(HealthEvent.person_id == person.id)
        .order_by(HealthEvent.started_at.desc(), HealthEvent.id.desc()).limit(SECTION_LIMIT)))
    total = len(events)
    if total == SECTION_LIMIT:
        total = db.scalar(select(func.count(HealthEvent.id)).where(HealthEvent.person_id == person.id)) or 0
    closed = [e.started_at for e in events if e.kind is HealthEventKind.acdt_closed]
    rows = []
    for event in events:
        ongoing = is_ongoing(event, closed)
        duration = None
        if event.kind in TIMED_KINDS:
            duration = duration_text((event.ended_at or now) - event.started_at)
        rows.append(EventRow(event.id, event.kind, event.started_at, event.ended_at, event.notes, ongoing, duration))
    return {"events": rows, "total": total, "ongoing": sum(1 for r in rows if r.ongoing)}
