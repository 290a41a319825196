"""Reading the audit trail for administrators: filters, pages newest first, plain-word actions and CSV rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.audit.catalogue import CATALOGUE
from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role, User
from app.config import Settings
from app.people.models import Person
from app.web.params import query_id
from app.web.spreadsheet import csv_cell

PAGE_SIZE = 50
# The "who" filter's value for events no signed-in user caused (sign-in attempts for unknown addresses).
NOBODY = "none"

DOMAINS = {
    "auth": "Sign-in", "security": "Security", "admin": "Administration", "person": "Person",
    "people": "People", "detention": "Detention", "visit": "Visit", "health_event": "Health event",
    "evidence": "Evidence", "document": "Document", "rule35": "Rule 35", "referral": "Referral",
    "consent": "Consent", "summary": "Summary", "narrative": "Narrative", "audit": "Audit log",
}
LABELS = {
    "auth.sign_in": "Signed in",
    "auth.sign_in_failed": "Sign-in failed",
    "auth.sign_in_throttled": "Sign-in refused: too many failures",
    "auth.sign_out": "Signed out",
    "auth.session_expired": "Session ended by timeout or deactivation",
    "security.csrf_rejected": "Form refused: expired or from another site",
    "security.permission_denied": "Access refused",
    "audit.viewed": "Audit log viewed",
    "audit.exported": "Audit log exported as CSV",
    "admin.session_ended": "Administration: session ended",
    "admin.user_sessions_ended": "Administration: all sessions of a user ended",
    "admin.user_password_set": "Administration: new password set",
    "emergency_access.opened": "Emergency access opened (break-glass)",
    "emergency_access.used": "Record opened under emergency access",
    "emergency_access.reviewed": "Emergency access reviewed",
}


def describe(action: str) -> str:
    """An action in plain words; events added to the catalogue later read sensibly without a label."""
    if action in LABELS:
        return LABELS[action]
    domain, _, rest = action.partition(".")
    return f"{DOMAINS.get(domain, domain.replace('_', ' ').capitalize())}: {rest.replace('_', ' ')}"


def action_choices() -> list[tuple[str, str]]:
    return sorted(((name, describe(name)) for name in CATALOGUE), key=lambda choice: choice[1].lower())


@dataclass
class AuditFilter:
    user_id: int | None = None
    nobody: bool = False
    person_id: int | None = None
    person_reference: str | None = None
    action: str | None = None
    outcome: Outcome | None = None
    from_date: date | None = None
    to_date: date | None = None
    page: int = 1

    def summary(self) -> dict[str, Any]:
        """What was asked for, as kept in the audit row that records the viewing (ids and codes only)."""
        chosen = {
            "user_id": NOBODY if self.nobody else self.user_id, "person": self.person_reference,
            "action": self.action, "outcome": self.outcome.value if self.outcome else None,
            "from": self.from_date.isoformat() if self.from_date else None,
            "to": self.to_date.isoformat() if self.to_date else None,
        }
        return {k: v for k, v in chosen.items() if v is not None}


@dataclass
class Parsed:
    filter: AuditFilter
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def parse_filter(db: Session, params: Any) -> Parsed:
    """Query parameters -> a filter, with a message beside each field that could not be used."""
    names = ("user", "person", "action", "outcome", "from", "to")
    values = {name: str(params.get(name) or "").strip()[:100] for name in names}
    result = Parsed(AuditFilter(), values)
    chosen, errors = result.filter, result.errors

    if user := values["user"]:
        if user == NOBODY:
            chosen.nobody = True
        elif (user_id := query_id(user)) is not None and db.get(User, user_id) is not None:
            chosen.user_id = user_id
        else:
            errors["user"] = "Choose a user from the list."
    if reference := values["person"].upper():
        person_id = db.scalar(select(Person.id).where(Person.reference == reference))
        if person_id is None:
            # An erased person's trail is still in the log, found through the record of the erasure.
            person_id = db.scalar(select(AuditEvent.person_id).where(AuditEvent.action == "person.erased",
                                                                    AuditEvent.object_id == reference))
        if person_id is None:
            errors["person"] = "No person has this reference. Check it, for example K7Q2-M9XD."
        else:
            chosen.person_id, chosen.person_reference = person_id, reference
    if action := values["action"]:
        if action in CATALOGUE:
            chosen.action = action
        else:
            errors["action"] = "Choose an action from the list."
    if outcome := values["outcome"]:
        try:
            chosen.outcome = Outcome(outcome)
        except ValueError:
            errors["outcome"] = "Choose an outcome from the list."
    for name, attr in (("from", "from_date"), ("to", "to_date")):
        if text := values[name]:
            try:
                setattr(chosen, attr, date.fromisoformat(text))
            except ValueError:
                errors[name] = "Enter the date as year-month-day, for example 2026-03-03."
    if chosen.from_date and chosen.to_date and chosen.to_date < chosen.from_date:
        errors["to"] = "The end of the period must be on or after its start."
    page = str(params.get("page") or "1")
    chosen.page = int(page) if page.isdigit() and 0 < int(page) <= 1_000_000 else 1
    return result


def _statement(settings: Settings, chosen: AuditFilter) -> Select[AuditEvent, str, str, Role, str]:
    statement = (
        select(AuditEvent, User.display_name, User.email, User.role, Person.reference)
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        # No foreign key by design (erased people keep their audit rows), so this may find nobody.
        .outerjoin(Person, Person.id == AuditEvent.person_id)
    )
    if chosen.nobody:
        statement = statement.where(AuditEvent.actor_user_id.is_(None))
    elif chosen.user_id is not None:
        statement = statement.where(AuditEvent.actor_user_id == chosen.user_id)
    if chosen.person_id is not None:
        statement = statement.where(AuditEvent.person_id == chosen.person_id)
    if chosen.action:
        statement = statement.where(AuditEvent.action == chosen.action)
    if chosen.outcome:
        statement = statement.where(AuditEvent.outcome == chosen.outcome)
    # Dates are the organisation's calendar days, so "to 3 March" includes the evening of 3 March in London.
    if chosen.from_date:
        statement = statement.where(
            AuditEvent.occurred_at >= datetime.combine(chosen.from_date, time(), settings.zone))
    if chosen.to_date:
        statement = statement.where(
            AuditEvent.occurred_at < datetime.combine(chosen.to_date + timedelta(days=1), time(), settings.zone))
    return statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    actor_name: str | None
    actor_email: str | None
    actor_role: Any
    person_reference: str | None

    @property
    def action_label(self) -> str:
        return describe(self.event.action)

    @property
    def record(self) -> str:
        event = self.event
        if event.object_type and event.object_id:
            return f"{event.object_type.replace('_', ' ')} {event.object_id}"
        return event.object_type or ""

    @property
    def details_text(self) -> list[tuple[str, str]]:
        return [(key, value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))
                for key, value in sorted(self.event.details.items())]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    page: int
    has_next: bool


def page_of_events(db: Session, settings: Settings, chosen: AuditFilter) -> Page:
    # One row past the page says whether there is an older page, without counting a table that only grows.
    statement = _statement(settings, chosen).offset((chosen.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    rows = [Row(*row) for row in db.execute(statement)]
    return Page(rows=rows[:PAGE_SIZE], page=chosen.page, has_next=len(rows) > PAGE_SIZE)


CSV_HEADER = ["occurred_at_utc", "user_id", "user_name", "user_email", "action", "action_description",
              "outcome", "object_type", "object_id", "person_reference", "ip_address", "correlation_id",
              "details_json"]


def csv_rows(db: Session, settings: Settings, chosen: AuditFilter, *, batch: int = 500) -> Iterator[list[str]]:
    """Every matching row, newest first, read in short transactions: on SQLite each read transaction holds the
    write lock (BEGIN IMMEDIATE), so one long export must not keep the application's writers waiting."""
    statement = _statement(settings, chosen).limit(batch)
    last: tuple[datetime, int] | None = None
    while True:
        page = statement
        if last is not None:
            page = page.where(or_(AuditEvent.occurred_at < last[0],
                                  and_(AuditEvent.occurred_at == last[0], AuditEvent.id < last[1])))
        rows = db.execute(page).all()
        db.rollback()
        for event, name, email, _role, reference in rows:
            yield [csv_cell(v) for v in (
                event.occurred_at.isoformat(), event.actor_user_id, name, email, event.action,
                describe(event.action), event.outcome.value, event.object_type, event.object_id, reference,
                event.ip_address, event.correlation_id, json.dumps(event.details, sort_keys=True, default=str),
            )]
        if len(rows) < batch:
            return
        last = (rows[-1][0].occurred_at, rows[-1][0].id)
