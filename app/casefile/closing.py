"""Closing a case with a reason and a date, and reopening it: the record stays, searchable, with its history. The
person page's case section, which also shows the lead coordinator and handovers (app/casefile/handover.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.audit import revisions
from app.auth.models import Role, User
from app.config import organisation_today
from app.dates import format_date
from app.db import check_version
from app.errors import FORM_ERROR, RuleBroken
from app.people import handover
from app.people.models import CLOSING_REASON_LABELS, ClosingReason, Person
from app.people.service import touch


def _state(person: Person) -> dict[str, Any]:
    return {"closed_date": person.closed_date, "closing_reason": person.closing_reason}


def close_case(db: Session, actor: User, person: Person, version: int | None, closed_date: date,
               reason: ClosingReason, today: date) -> None:
    """Close the case on `closed_date` for `reason`. The retention period counts from that date."""
    check_version(person, version)
    if person.closed_date is not None:
        raise RuleBroken.on(FORM_ERROR, f"The case was already closed on {format_date(person.closed_date)}.")
    if closed_date > today:
        raise RuleBroken.on("closed_date", "The closing date must be today or in the past.")
    if closed_date < person.opened_date:
        raise RuleBroken.on("closed_date", f"The closing date must be on or after the day the case was opened "
                                           f"({format_date(person.opened_date)}).")
    before = _state(person)
    person.closed_date, person.closing_reason = closed_date, reason
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="people", row_id=person.id, person_id=person.id,
                     before=before, after=_state(person))


def reopen_case(db: Session, actor: User, person: Person, version: int | None) -> tuple[date, ClosingReason | None]:
    """Open a closed case again; returns when and why it had been closed (the revisions keep it too)."""
    check_version(person, version)
    if person.closed_date is None:
        raise RuleBroken.on(FORM_ERROR, "The case is open already.")
    before = _state(person)
    closed = (person.closed_date, person.closing_reason)
    person.closed_date = person.closing_reason = None
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="people", row_id=person.id, person_id=person.id,
                     before=before, after=_state(person))
    return closed


def case_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person page's case section: open since when, or closed when and why; its lead coordinator and
    handovers; the forms for who may use them."""
    can_edit = user.role in (Role.admin, Role.coordinator)
    people = handover.leads(db) if can_edit else []
    lead = next((u for u in people if u.id == person.lead_coordinator_id), None)
    if lead is None and person.lead_coordinator_id is not None:
        lead = db.get(User, person.lead_coordinator_id)
    return {"can_edit": can_edit, "today": organisation_today(),
            "reasons": [(r.value, label) for r, label in CLOSING_REASON_LABELS.items()],
            "reason_label": CLOSING_REASON_LABELS.get(person.closing_reason) if person.closing_reason else None,
            "lead": lead, "handovers": handover.of_person(db, person.id),
            "successors": [(u.id, u.display_name) for u in people if u.id != person.lead_coordinator_id]}
