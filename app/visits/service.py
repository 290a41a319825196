"""Visits: logging a draft, changing it, signing it (after which it never changes), addenda, and the queries
behind the visit page and the person page's visit section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.audit import revisions
from app.auth.models import Role, User
from app.db import check_version, utcnow
from app.detention.models import Facility
from app.errors import FORM_ERROR, Refused, RuleBroken, StaleForm
from app.people.models import AarIndicator, Person
from app.visits import seal
from app.visits.models import Visit, VisitAarIndicator, VisitAddendum, VisitStatus
from app.visits.schemas import VisitForm

SECTION_LIMIT = 20
FIELDS = ("visit_date", "facility_id", "mode", "interpreter_used", "interpreter_language", "duration_minutes",
          "presenting_concerns", "findings", "risk", "actions", "follow_up_date")


# --- reading ---------------------------------------------------------------------------------------

def get_for_person(db: Session, person_id: int, visit_id: int, *, for_update: bool = False) -> Visit | None:
    """The visit if it belongs to this person. `for_update` locks the row (PostgreSQL) so that two requests
    changing or signing the same visit run one after the other, the second seeing the first's result."""
    query = select(Visit).where(Visit.id == visit_id, Visit.person_id == person_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalar(query)


def indicators_of(db: Session, visit_id: int) -> list[str]:
    found = set(db.scalars(select(VisitAarIndicator.indicator).where(VisitAarIndicator.visit_id == visit_id)))
    return [i.value for i in AarIndicator if i in found]


def snapshot(visit: Visit, indicators: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(visit, name) for name in FIELDS}
    values.update(aar_indicators=list(indicators), clinician_id=visit.clinician_id, status=visit.status,
                  signed_at=visit.signed_at, signed_by_id=visit.signed_by_id)
    return values


def may_change(user: User, visit: Visit) -> bool:
    return visit.status is VisitStatus.draft and (visit.clinician_id == user.id or user.role is Role.admin)


def may_sign(user: User, visit: Visit) -> bool:
    return visit.status is VisitStatus.draft and visit.clinician_id == user.id


SIGNED = "This visit is signed. Signed visits are never changed: add an addendum for any correction."


def check_may_change(user: User, visit: Visit) -> None:
    """A draft is changed by its author (or an admin); a signed visit by no one."""
    if visit.status is not VisitStatus.draft:
        raise StaleForm(SIGNED)
    if not may_change(user, visit):
        raise Refused("visit_author", actor_id=user.id)


@dataclass
class VisitPage:
    visit: Visit
    clinician: str
    signed_by: str | None
    facility: str | None
    indicators: list[str]
    addenda: list[tuple[VisitAddendum, str]] = field(default_factory=list)


def load_page(db: Session, visit: Visit) -> VisitPage:
    """Everything the visit page shows, in three queries."""
    clinician, signer = aliased(User), aliased(User)
    clinician_name, signer_name, facility_name = db.execute(
        select(clinician.display_name, signer.display_name, Facility.name)
        .select_from(Visit)
        .join(clinician, clinician.id == Visit.clinician_id)
        .outerjoin(signer, signer.id == Visit.signed_by_id)
        .outerjoin(Facility, Facility.id == Visit.facility_id)
        .where(Visit.id == visit.id)
    ).one()
    addenda = [(a, name) for a, name in db.execute(
        select(VisitAddendum, User.display_name).join(User, User.id == VisitAddendum.author_id)
        .where(VisitAddendum.visit_id == visit.id).order_by(VisitAddendum.created_at, VisitAddendum.id))]
    return VisitPage(visit, clinician_name, signer_name, facility_name, indicators_of(db, visit.id), addenda)


# --- changes ---------------------------------------------------------------------------------------

def _check_rules(db: Session, data: VisitForm, today: date, *, keep_facility_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    if data.visit_date > today:
        errors["visit_date"] = "The date of the visit cannot be in the future."
    if data.follow_up_date is not None and data.follow_up_date < data.visit_date:
        errors["follow_up_date"] = "The follow-up date must be on or after the date of the visit."
    if data.facility_id is not None and data.facility_id != keep_facility_id:
        # A draft keeps the facility it names even if that facility has closed since; a new choice must be open.
        facility = db.get(Facility, data.facility_id)
        if facility is None or not facility.is_active:
            errors["facility_id"] = "Choose an open facility from the list."
    if errors:
        raise RuleBroken(errors)


def _values(data: VisitForm) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in FIELDS}
    if not data.interpreter_used:
        values["interpreter_language"] = None
    return values


def _write_indicators(db: Session, visit_id: int, wanted: list[str], current: list[str]) -> None:
    for indicator in set(current) - set(wanted):
        db.delete(db.get(VisitAarIndicator, (visit_id, AarIndicator(indicator))))
    for indicator in set(wanted) - set(current):
        db.add(VisitAarIndicator(visit_id=visit_id, indicator=AarIndicator(indicator)))


def create_visit(db: Session, actor: User, person: Person, data: VisitForm, today: date) -> Visit:
    """Log a visit as a draft; whoever logs it is its clinician."""
    _check_rules(db, data, today)
    visit = Visit(person_id=person.id, clinician_id=actor.id, status=VisitStatus.draft, **_values(data))
    db.add(visit)
    db.flush()
    indicators = [i.value for i in data.aar_indicators]
    _write_indicators(db, visit.id, indicators, [])
    db.flush()
    revisions.record(db, actor_id=actor.id, table="visits", row_id=visit.id, person_id=person.id,
                     before=None, after=snapshot(visit, indicators))
    return visit


def update_visit(db: Session, actor: User, person: Person, visit: Visit, data: VisitForm,
                 today: date) -> list[str]:
    """Change a draft. Returns the names of the fields that changed (none: nothing written).
    Raises StaleForm (signed, or changed since the form was loaded), Refused (not the author) or RuleBroken."""
    check_may_change(actor, visit)
    check_version(visit, data.version)
    _check_rules(db, data, today, keep_facility_id=visit.facility_id)
    current = indicators_of(db, visit.id)
    before = snapshot(visit, current)
    wanted = [i.value for i in data.aar_indicators]
    for name, value in _values(data).items():
        if getattr(visit, name) != value:
            setattr(visit, name, value)
    _write_indicators(db, visit.id, wanted, current)
    after = snapshot(visit, wanted)
    changed = revisions.changed_fields(before, after)
    if changed:
        # Indicators live in their own table: touch the row, so its version moves on and older forms are refused.
        visit.updated_at = utcnow()
        db.flush()
        revisions.record(db, actor_id=actor.id, table="visits", row_id=visit.id, person_id=person.id,
                         before=before, after=after)
    return changed


DECLARATION = "I confirm this is an accurate record of my assessment."
# The clinical fields a signed visit is expected to hold: the page that shows what will be signed warns when any
# is empty (signing is still allowed: a visit cut short is a record too).
CLINICAL_FIELDS = ("presenting_concerns", "findings", "risk", "actions")


def empty_clinical_fields(visit: Visit) -> list[str]:
    return [name for name in CLINICAL_FIELDS if getattr(visit, name) in (None, "")]


def check_may_sign(user: User, visit: Visit) -> None:
    if visit.status is not VisitStatus.draft:
        raise StaleForm("This visit is already signed. Nothing was changed.")
    if not may_sign(user, visit):
        raise Refused("visit_author", actor_id=user.id)


def sign_visit(db: Session, actor: User, person: Person, visit: Visit, version: int | None,
               declared: bool) -> None:
    """Sign a draft: from now on it is never changed; corrections are addenda. What was signed is sealed with
    its SHA-256 (app/visits/seal.py), so that a later change of the stored content shows."""
    check_may_sign(actor, visit)
    # The author signs what they last saw: a draft changed since the page was loaded is not signed.
    check_version(visit, version)
    if not declared:
        raise RuleBroken.on("declaration", "Confirm that this is an accurate record of your assessment.")
    indicators = indicators_of(db, visit.id)
    before = snapshot(visit, indicators)
    now = utcnow()
    visit.status = VisitStatus.signed
    visit.signed_at = now
    visit.signed_by_id = actor.id
    visit.updated_at = now
    visit.content_sha256 = seal.digest(visit, indicators)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="visits", row_id=visit.id, person_id=person.id,
                     before=before, after=snapshot(visit, indicators))


def add_addendum(db: Session, actor: User, person: Person, visit: Visit, text: str) -> VisitAddendum:
    if visit.status is not VisitStatus.signed:
        raise RuleBroken.on(FORM_ERROR, "Addenda are added to signed visits. This visit is still a draft: change the "
                                    "draft instead. Nothing was saved.")
    addendum = VisitAddendum(visit_id=visit.id, author_id=actor.id, text=text, created_at=utcnow())
    db.add(addendum)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="visit_addenda", row_id=addendum.id, person_id=person.id,
                     before=None, after={"visit_id": visit.id, "author_id": actor.id, "text": text,
                                         "created_at": addendum.created_at})
    return addendum


# --- the person page's section ---------------------------------------------------------------------

@dataclass
class VisitRow:
    id: int
    visit_date: date
    mode: Any
    clinician: str
    risk: Any
    status: VisitStatus
    follow_up_date: date | None
    follow_up_overdue: bool


def section(db: Session, person: Person, today: date) -> dict[str, Any]:
    """The latest visits with their clinicians, and counts of drafts and overdue follow-ups, in two queries."""
    later = aliased(Visit)
    no_later_visit = ~exists().where(later.person_id == Visit.person_id, later.visit_date > Visit.visit_date)
    total, drafts, overdue = db.execute(
        select(func.count(Visit.id),
               func.count(Visit.id).filter(Visit.status == VisitStatus.draft),
               func.count(Visit.id).filter(and_(Visit.follow_up_date < today, no_later_visit)))
        .where(Visit.person_id == person.id)
    ).one()
    rows = db.execute(
        select(Visit.id, Visit.visit_date, Visit.mode, User.display_name, Visit.risk, Visit.status,
               Visit.follow_up_date)
        .join(User, User.id == Visit.clinician_id)
        .where(Visit.person_id == person.id)
        .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(SECTION_LIMIT)
    ).all()
    # Rows come newest first, so only visits on the latest date have no later visit.
    latest = rows[0].visit_date if rows else None
    visits = [VisitRow(r.id, r.visit_date, r.mode, r.display_name, r.risk, r.status, r.follow_up_date,
                       r.follow_up_date is not None and r.follow_up_date < today and r.visit_date == latest)
              for r in rows]
    return {"visits": visits, "total": total or 0, "drafts": drafts or 0, "overdue_follow_ups": overdue or 0}
