"""Legal holds, erasing a person's whole record, and the retention policy that erases closed cases.

What "the person's record" is comes from the schema itself: every table that reaches `people` through foreign
keys declared ON DELETE CASCADE (directly, or through a visit, an evidence item, an episode, a referral ...). A
table added later with such a key (the per-person data keys, for one) is erased with no change here, and a
test walks the metadata to prove nothing with a person's id is left behind. Rows are deleted explicitly,
children first, rather than by trusting the database's cascade, so the erasure is complete even on a
connection where SQLite's foreign keys were left off.

Kept on purpose, because they hold no personal data:
- `audit_events` (append-only, no foreign key to people): what was done to the record, by whom and when,
  ending with the "person.erased" event. The person's random reference and internal id stay in those rows:
  both are pseudonymous numbers that point at nothing once the record is gone.
- `summary_releases`: what was published, and the packed ids of the people each aggregate counted. The
  differencing guard needs those ids to keep refusing near-identical populations after an erasure; ids are
  never reused (see `app/people/service.py` `create_person`), so an erased person's id can never stand for
  someone else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.audit import service as audit
from app.audit.models import Outcome
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.db import Base, utcnow
from app.errors import RuleBroken, StaleForm
from app.people.models import LegalHold, Person

# --- legal holds -------------------------------------------------------------------------------------------

def current_hold(db: Session, person_id: int) -> LegalHold | None:
    return db.scalar(select(LegalHold).where(LegalHold.person_id == person_id, LegalHold.lifted_at.is_(None)))


def _lock(db: Session, person: Person) -> None:
    """Serialise holds and erasures of one person: on PostgreSQL a row lock, so a hold set while an erasure
    is under way waits for it (and then finds no person), and an erasure waits for a hold being set (and is
    then refused). SQLite write transactions are already serial (BEGIN IMMEDIATE)."""
    db.execute(select(Person.id).where(Person.id == person.id).with_for_update())


def set_hold(db: Session, actor: User, person: Person, reason: str) -> LegalHold:
    """A new hold; StaleForm when one was set after the form was opened (the form is offered only without one)."""
    reason = reason.strip()
    if not reason:
        raise RuleBroken.on("reason", "Say why the record must be kept, for example the claim or inquiry it is for.")
    if len(reason) > 2000:
        raise RuleBroken.on("reason", "Keep the reason under 2,000 characters.")
    _lock(db, person)
    if current_hold(db, person.id) is not None:
        raise StaleForm("This record is already under a legal hold.")
    hold = LegalHold(person_id=person.id, reason=reason, set_by_id=actor.id, set_at=utcnow())
    db.add(hold)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="legal_holds", row_id=hold.id, person_id=person.id,
                     before=None, after={"reason": reason, "lifted": False})
    return hold


def lift_hold(db: Session, actor: User, person: Person) -> LegalHold:
    """Lifts the open hold; StaleForm when someone lifted it after the page offering to was opened."""
    _lock(db, person)
    hold = current_hold(db, person.id)
    if hold is None:
        raise StaleForm("This record is not under a legal hold.")
    hold.lifted_at = max(utcnow(), hold.set_at)
    hold.lifted_by_id = actor.id
    db.flush()
    revisions.record(db, actor_id=actor.id, table="legal_holds", row_id=hold.id, person_id=person.id,
                     before={"reason": hold.reason, "lifted": False}, after={"reason": hold.reason, "lifted": True})
    return hold


# --- what a person's record is -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Owned:
    """A table whose rows belong to a person, and how a row leads there: each link is (this table's column,
    the parent table it refers to, the parent's column). A row belongs to the person if any link does."""

    table: Table
    links: tuple[tuple[str, Table, str], ...]


@lru_cache
def owned_tables() -> tuple[Owned, ...]:
    """Every table erased with a person, parents before children (people first)."""
    people = Base.metadata.tables["people"]
    owned: dict[str, Owned] = {"people": Owned(people, ())}
    changed = True
    while changed:
        changed = False
        for table in Base.metadata.sorted_tables:
            links = tuple(
                (fk.parent.name, fk.column.table, fk.column.name)
                for fk in table.foreign_keys
                if fk.ondelete == "CASCADE" and fk.column.table.name in owned and fk.column.table is not table
            )
            if links and (table.name not in owned or len(owned[table.name].links) != len(links)):
                owned[table.name] = Owned(table, links)
                changed = True
    order = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}
    return tuple(sorted(owned.values(), key=lambda o: order[o.table.name]))


def _belongs(owned: Owned, person_id: int) -> ColumnElement[bool]:
    """SQL condition: this row of `owned.table` is part of the person's record."""
    if not owned.links:
        return owned.table.c.id == person_id
    by_name = {o.table.name: o for o in owned_tables()}
    conditions = []
    for column, parent, parent_column in owned.links:
        parent_owned = by_name[parent.name]
        conditions.append(owned.table.c[column].in_(
            select(parent.c[parent_column]).where(_belongs(parent_owned, person_id))))
    return or_(*conditions)


# Plain names for the confirmation page, the CLI and the audit event; a table not named here is shown by
# its own name, so nothing erased is ever left out of the count.
KIND_LABELS = {
    "people": "Case record",
    "identities": "Identity (names and official numbers)",
    "identity_aliases": "Other names and spellings",
    "person_languages": "Languages",
    "person_aar_indicators": "Adults at Risk indicators",
    "person_name_tokens": "Name search entries",
    "person_alert_states": "Alert flags",
    "assignments": "Clinician assignments",
    "representations": "Legal representatives acting (the register keeps the firms)",
    "handovers": "Handovers between coordinators",
    "requests": "Requests for help",
    "case_notes": "Case notes (contact log)",
    "case_note_addenda": "Case note addenda",
    "tasks": "Tasks",
    "legal_holds": "Lifted legal holds",
    "detention_episodes": "Detention episodes",
    "placements": "Placements",
    "removal_directions": "Removal directions",
    "hearings": "Hearings",
    "visits": "Visits",
    "visit_aar_indicators": "Adults at Risk indicators seen at visits",
    "visit_addenda": "Visit addenda",
    "planned_visits": "Planned visits",
    "medicolegal_reports": "Medico-legal reports",
    "medicolegal_report_versions": "Versions kept of medico-legal reports",
    "medicolegal_review_comments": "Peer review comments on medico-legal reports",
    "letters": "Letters (drafts and issued)",
    "evidence_items": "Evidence items",
    "findings": "Findings",
    "finding_documents": "Links from findings to their photographs",
    "documents": "Documents (uploaded files)",
    "rule35_records": "Rule 35 reports",
    "health_events": "Health events",
    "referrals": "Referrals",
    "nrm_referrals": "NRM referral details",
    "consents": "Consents",
    "case_narratives": "Case narratives (drafts and approved)",
    "revisions": "Change history entries",
    "import_records": "Spreadsheet import entries (which import made the record)",
    "person_keys": "Data key",
}

# The kinds the retention listing names for each case (the total counts everything).
SUMMARY_KINDS = {"visits": "visits", "evidence_items": "evidence", "documents": "documents",
                 "health_events": "health events", "referrals": "referrals"}


def in_reading_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts in the order of KIND_LABELS (the record as a reader meets it), any other table after them."""
    order = {name: i for i, name in enumerate(KIND_LABELS)}
    return sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def kind_label(table_name: str) -> str:
    return KIND_LABELS.get(table_name, table_name.replace("_", " ").capitalize())


def row_counts(db: Session, person_id: int) -> dict[str, int]:
    """Rows of each table that erasing this person deletes, in one statement; tables with none are left out."""
    tables = owned_tables()
    counts = db.execute(select(*(
        select(func.count()).select_from(o.table).where(_belongs(o, person_id)).scalar_subquery()
        for o in tables))).one()
    return {o.table.name: n for o, n in zip(tables, counts, strict=True) if n}


# --- erasure -----------------------------------------------------------------------------------------------

class ErasureReason(enum.StrEnum):
    subject_request = "subject_request"
    consent_withdrawn = "consent_withdrawn"
    created_in_error = "created_in_error"
    duplicate = "duplicate"
    retention = "retention"


ERASURE_REASON_LABELS = {
    ErasureReason.subject_request: "The person asked for their data to be erased",
    ErasureReason.consent_withdrawn: "Consent withdrawn and no other basis to keep the record",
    ErasureReason.created_in_error: "Record created in error",
    ErasureReason.duplicate: "Duplicate of another record (merged by hand first)",
    ErasureReason.retention: "Retention period ended",
}
# Chosen on the erasure page; "retention" is the retention command's own.
MANUAL_REASONS = tuple(r for r in ErasureReason if r is not ErasureReason.retention)


class ErasureRefused(Exception):
    """Nothing was erased, and why (`reason` for the audit row, `message` for people). Not a vocabulary error:
    both callers (the erasure page and the retention command) record the refusal and carry on, so it must not
    roll their transaction back."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


HELD_MESSAGE = ("This record is under a legal hold and cannot be erased. A coordinator or administrator must lift "
                "the hold first, once the reason for it has ended.")


@dataclass(frozen=True)
class Erased:
    person_id: int
    reference: str
    rows: dict[str, int]


def erase(db: Session, person: Person, reason: ErasureReason, *, actor_id: int | None,
          ip_address: str | None = None, correlation_id: str | None = None,
          closed_on_or_before: date | None = None) -> Erased:
    """Delete every row of the person's record in the caller's transaction and record that it happened.

    Raises ErasureRefused (nothing deleted) while a legal hold is open, or, for the retention policy
    (`closed_on_or_before`), when the case is no longer closed early enough."""
    _lock(db, person)
    db.refresh(person)
    if current_hold(db, person.id) is not None:
        raise ErasureRefused("legal_hold", HELD_MESSAGE)
    if closed_on_or_before is not None and (person.closed_date is None or person.closed_date > closed_on_or_before):
        raise ErasureRefused("no_longer_due", "The case was reopened or its closing date changed; it is kept.")
    person_id, reference = person.id, person.reference
    counts = row_counts(db, person_id)
    db.expunge(person)
    # Children first, each found through its parents while they still exist.
    for owned in reversed(owned_tables()):
        db.execute(delete(owned.table).where(_belongs(owned, person_id)).execution_options(synchronize_session=False))
    # Anything of the record still in this session is gone from the database; forget it.
    for obj in list(db.identity_map.values()):
        if getattr(obj, "person_id", None) == person_id:
            db.expunge(obj)
    audit.record(db, "person.erased", actor_id=actor_id, object_type="person", object_id=reference,
                 person_id=person_id, ip_address=ip_address, correlation_id=correlation_id,
                 reason=reason.value, rows=counts)
    return Erased(person_id, reference, counts)


def record_refusal(db: Session, person: Person, refused: ErasureRefused, *, actor_id: int | None,
                   ip_address: str | None = None, correlation_id: str | None = None) -> None:
    audit.record(db, "person.erasure_refused", actor_id=actor_id, outcome=Outcome.denied, object_type="person",
                 object_id=person.reference, person_id=person.id, ip_address=ip_address,
                 correlation_id=correlation_id, reason=refused.reason)


# --- retention ---------------------------------------------------------------------------------------------

def retention_cutoff(today: date, years: int) -> date:
    """The latest closing date whose retention period has ended by `today`: exactly `years` years earlier
    (29 February counts from 28 February in a year without one)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


@dataclass
class DueCase:
    person_id: int
    reference: str
    closed_date: date
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def due_for_retention(db: Session, cutoff: date) -> list[DueCase]:
    """Closed cases whose closing date is on or before `cutoff` and which carry no open legal hold, oldest first."""
    held = exists().where(LegalHold.person_id == Person.id, LegalHold.lifted_at.is_(None))
    rows = db.execute(
        select(Person.id, Person.reference, Person.closed_date)
        .where(Person.closed_date.is_not(None), Person.closed_date <= cutoff, ~held)
        .order_by(Person.closed_date, Person.reference)
    ).all()
    # `closed is not None` holds by the query; said again for the type checker.
    return [DueCase(person_id, reference, closed) for person_id, reference, closed in rows if closed is not None]


def held_past_retention(db: Session, cutoff: date) -> int:
    """Closed cases past their retention period that a legal hold keeps."""
    held = exists().where(LegalHold.person_id == Person.id, LegalHold.lifted_at.is_(None))
    return db.scalar(select(func.count()).select_from(Person).where(
        Person.closed_date.is_not(None), Person.closed_date <= cutoff, held)) or 0


def with_counts(db: Session, cases: Sequence[DueCase]) -> Iterator[DueCase]:
    for case in cases:
        case.rows = row_counts(db, case.person_id)
        yield case


def legal_hold_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    # One statement: the open hold, if any, with the name of whoever set it.
    row = db.execute(select(LegalHold, User.display_name).join(User, User.id == LegalHold.set_by_id)
                     .where(LegalHold.person_id == person.id, LegalHold.lifted_at.is_(None))).first()
    hold, set_by = (row[0], row[1]) if row else (None, None)
    return {"hold": hold, "set_by": set_by,
            "can_manage": has_permission(user.role, Permission.manage_legal_holds),
            "can_erase": has_permission(user.role, Permission.erase_people)}
