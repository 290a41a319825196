"""Planned visits: planning one for a clinician assigned to the person, changing or cancelling it, logging it as a
pre-filled draft visit, and the queries behind the person page's list and the week calendars."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.auth.models import Role, User
from app.dates import format_date
from app.db import check_version
from app.detention.models import DetentionEpisode, Facility, Placement
from app.errors import FORM_ERROR, Refused, RuleBroken, StaleForm
from app.people.models import Assignment, Person
from app.people.service import is_assigned, open_assignment
from app.visits import service as visits
from app.visits.models import PlannedVisit, PlannedVisitStatus, Visit, VisitMode, VisitStatus
from app.visits.planned_schemas import PlannedVisitForm

SECTION_LIMIT = 20
# Far enough for any real booking; a visit further off is a mistyped year.
HORIZON = timedelta(days=2 * 366)
FIELDS = ("clinician_id", "facility_id", "starts_at", "duration_minutes", "booking_reference", "interpreter_booked",
          "interpreter_language", "interpreter_name", "interpreter_phone", "notes")
NOT_PLANNED = {
    PlannedVisitStatus.cancelled: "This planned visit was cancelled. Nothing was changed.",
    PlannedVisitStatus.logged: "This planned visit has already been logged as a visit. Nothing was changed.",
}
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# --- reading ---------------------------------------------------------------------------------------

def get_for_person(db: Session, person_id: int, planned_id: int, *, for_update: bool = False) -> PlannedVisit | None:
    """The planned visit if it belongs to this person; `for_update` locks the row (PostgreSQL) so that two
    requests changing, cancelling or logging it run one after the other."""
    query = select(PlannedVisit).where(PlannedVisit.id == planned_id, PlannedVisit.person_id == person_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalar(query)


def snapshot(planned: PlannedVisit) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(planned, name) for name in FIELDS}
    values.update(status=planned.status, visit_id=planned.visit_id)
    return values


def coordinates(user: User) -> bool:
    """Coordinators and admins plan visits for any clinician assigned to a person; a clinician only their own."""
    return user.role in (Role.admin, Role.coordinator)


def may_change(user: User, planned: PlannedVisit) -> bool:
    return planned.status is PlannedVisitStatus.planned and (coordinates(user) or planned.clinician_id == user.id)


def may_log(user: User, planned: PlannedVisit) -> bool:
    """The draft made is the planned clinician's, so only they (or an admin, who may change any draft) log it."""
    return planned.status is PlannedVisitStatus.planned and (planned.clinician_id == user.id or user.role is Role.admin)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def clinician_choices(db: Session, person_id: int) -> list[tuple[int, str]]:
    """The active clinicians assigned to the person, by name: the only ones a visit may be planned for."""
    return [(user_id, name) for user_id, name in db.execute(
        select(User.id, User.display_name).join(Assignment, Assignment.clinician_id == User.id)
        .where(Assignment.person_id == person_id, Assignment.ended_at.is_(None), User.role == Role.clinician,
               User.is_active.is_(True))
        .order_by(User.display_name, User.id))]


def current_facility_id(db: Session, person_id: int) -> int | None:
    """Where the person is held now (the open placement of their open detention), if anywhere."""
    return db.scalar(
        select(Placement.facility_id).join(DetentionEpisode, DetentionEpisode.id == Placement.episode_id)
        .where(DetentionEpisode.person_id == person_id, DetentionEpisode.end_date.is_(None),
               Placement.date_out.is_(None))
        .order_by(Placement.date_in.desc()).limit(1))


def suggested_language(languages: list[str]) -> str | None:
    """The interpreter's language to offer: the person's first language other than English (main one first)."""
    return next((language for language in languages if language.strip().lower() != "english"), None)


# --- changes ---------------------------------------------------------------------------------------

def _clinician(db: Session, actor: User, person: Person, data: PlannedVisitForm) -> tuple[int, dict[str, str]]:
    """The clinician the visit is planned for, and any message about the choice. A clinician plans only their own
    visits (the form offers them no choice): naming someone else is refused."""
    if actor.role is Role.clinician:
        if data.clinician_id not in (None, actor.id):
            raise Refused("plan_own_visits_only", actor_id=actor.id)
        if not is_assigned(db, actor.id, person.id):
            return actor.id, {FORM_ERROR: "You are not assigned to this person: only a clinician assigned to them "
                                          "can plan a visit. Ask a coordinator to assign you first."}
        return actor.id, {}
    if data.clinician_id is None:
        return 0, {"clinician_id": "Choose the clinician who will visit."}
    clinician = db.get(User, data.clinician_id)
    if clinician is None or clinician.role is not Role.clinician or not clinician.is_active:
        return 0, {"clinician_id": "Choose the clinician from the list."}
    if not is_assigned(db, clinician.id, person.id):
        return 0, {"clinician_id": f"{clinician.display_name} is not assigned to this person: choose a clinician "
                                   "assigned to them, or assign them first."}
    return clinician.id, {}


def _check(db: Session, actor: User, person: Person, data: PlannedVisitForm, now: datetime,
           keep: PlannedVisit | None = None) -> int:
    """Every rule the form alone cannot check; returns the clinician's id, or raises RuleBroken with all the
    messages at once. A planned visit keeps its centre and time even if the centre has closed or the time has
    passed since; a new choice must be an open centre and a time ahead."""
    clinician_id, errors = _clinician(db, actor, person, data)
    if data.facility_id is not None and (keep is None or data.facility_id != keep.facility_id):
        facility = db.get(Facility, data.facility_id)
        if facility is None or not facility.is_active:
            errors["facility_id"] = "Choose an open centre from the list."
    if keep is None or data.starts_at != keep.starts_at:
        if data.starts_at <= now:
            errors["starts_at"] = "The date and time of the visit must be in the future."
        elif data.starts_at > now + HORIZON:
            errors["starts_at"] = "Visits can be planned up to two years ahead: check the year."
    if errors:
        raise RuleBroken(errors)
    return clinician_id


def _values(data: PlannedVisitForm, clinician_id: int) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in FIELDS}
    values["clinician_id"] = clinician_id
    return values


def create(db: Session, actor: User, person: Person, data: PlannedVisitForm, now: datetime) -> PlannedVisit:
    """A new planned visit. It conflicts with nothing, so the form's version is not checked."""
    clinician_id = _check(db, actor, person, data, now)
    planned = PlannedVisit(person_id=person.id, status=PlannedVisitStatus.planned, made_by_id=actor.id, made_at=now,
                           **_values(data, clinician_id))
    db.add(planned)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="planned_visits", row_id=planned.id, person_id=person.id,
                     before=None, after=snapshot(planned))
    return planned


def check_may_change(user: User, planned: PlannedVisit) -> None:
    if planned.status is not PlannedVisitStatus.planned:
        raise StaleForm(NOT_PLANNED[planned.status])
    if not may_change(user, planned):
        raise Refused("planned_visit_clinician", actor_id=user.id)


def update(db: Session, actor: User, person: Person, planned: PlannedVisit, data: PlannedVisitForm,
           now: datetime) -> list[str]:
    """Change a planned visit; returns the names of the fields that changed (none: nothing written)."""
    check_may_change(actor, planned)
    check_version(planned, data.version)
    clinician_id = _check(db, actor, person, data, now, keep=planned)
    before = snapshot(planned)
    for name, value in _values(data, clinician_id).items():
        if getattr(planned, name) != value:
            setattr(planned, name, value)
    after = snapshot(planned)
    changed = revisions.changed_fields(before, after)
    if changed:
        db.flush()
        revisions.record(db, actor_id=actor.id, table="planned_visits", row_id=planned.id, person_id=person.id,
                         before=before, after=after)
    return changed


def cancel(db: Session, actor: User, person: Person, planned: PlannedVisit, version: int | None) -> None:
    check_may_change(actor, planned)
    check_version(planned, version)
    before = snapshot(planned)
    planned.status = PlannedVisitStatus.cancelled
    db.flush()
    revisions.record(db, actor_id=actor.id, table="planned_visits", row_id=planned.id, person_id=person.id,
                     before=before, after=snapshot(planned))


def log(db: Session, actor: User, person: Person, planned: PlannedVisit, version: int | None, *, today: date,
        zone: ZoneInfo) -> Visit:
    """Turn the planned visit into a draft visit of its clinician, pre-filled with its day, centre, length and
    interpreter, and mark it logged. A visit is logged on its day or afterwards, never before."""
    if planned.status is not PlannedVisitStatus.planned:
        raise StaleForm(NOT_PLANNED[planned.status])
    if not may_log(actor, planned):
        raise Refused("planned_visit_clinician", actor_id=actor.id)
    check_version(planned, version)
    day = local_day(planned.starts_at, zone)
    if day > today:
        raise RuleBroken.on(FORM_ERROR, f"This visit is planned for {format_date(day)}: log it on the day or "
                                        "afterwards. Nothing was changed.")
    visit = Visit(person_id=person.id, clinician_id=planned.clinician_id, visit_date=day,
                  facility_id=planned.facility_id,
                  # A legal-visit booking means the visit is held in a legal visits room.
                  mode=VisitMode.legal_visit_room if planned.booking_reference else VisitMode.in_person,
                  interpreter_used=planned.interpreter_booked,
                  interpreter_language=planned.interpreter_language if planned.interpreter_booked else None,
                  duration_minutes=planned.duration_minutes, status=VisitStatus.draft)
    db.add(visit)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="visits", row_id=visit.id, person_id=person.id,
                     before=None, after=visits.snapshot(visit, []))
    before = snapshot(planned)
    planned.status = PlannedVisitStatus.logged
    planned.visit_id = visit.id
    db.flush()
    revisions.record(db, actor_id=actor.id, table="planned_visits", row_id=planned.id, person_id=person.id,
                     before=before, after=snapshot(planned))
    return visit


# --- lists -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedRow:
    id: int
    reference: str
    starts_at: datetime
    duration_minutes: int
    status: PlannedVisitStatus
    interpreter_booked: bool
    interpreter_language: str | None
    clinician: str
    facility: str

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def _rows(db: Session, condition: Any, *, limit: int | None = None) -> list[PlannedRow]:
    """Planned visits with their case, clinician and centre, soonest first, in one statement."""
    query = (select(PlannedVisit.id, Person.reference, PlannedVisit.starts_at, PlannedVisit.duration_minutes,
                    PlannedVisit.status, PlannedVisit.interpreter_booked, PlannedVisit.interpreter_language,
                    User.display_name, Facility.name)
             .join(Person, Person.id == PlannedVisit.person_id)
             .join(User, User.id == PlannedVisit.clinician_id)
             .join(Facility, Facility.id == PlannedVisit.facility_id)
             .where(condition).order_by(PlannedVisit.starts_at, PlannedVisit.id))
    if limit is not None:
        query = query.limit(limit)
    return [PlannedRow(*row) for row in db.execute(query)]


def get_row(db: Session, planned_id: int) -> PlannedRow:
    """One planned visit with its case, clinician and centre, for its own page."""
    [row] = _rows(db, PlannedVisit.id == planned_id)
    return row


def for_person(db: Session, person_id: int) -> list[PlannedRow]:
    """The person's visits still planned (those whose time has passed too, until they are logged or cancelled)."""
    return _rows(db, and_(PlannedVisit.person_id == person_id, PlannedVisit.status == PlannedVisitStatus.planned),
                 limit=SECTION_LIMIT)


def parse_week(text: str) -> date | None:
    """The Monday of an ISO week written as on the calendar's links ("2026-W49"); None for anything else."""
    match = WEEK.match(text)
    if match is None:
        return None
    try:
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week(db: Session, user: User, monday: date, zone: ZoneInfo, clinician_id: int | None = None) -> list[PlannedRow]:
    """The planned and logged visits of the week that starts on `monday` (in the organisation's time zone).
    A clinician sees their own, for the people still assigned to them; coordinators and admins everyone's, or
    one clinician's."""
    start = datetime.combine(monday, time(), zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(), zone).astimezone(UTC)
    condition = and_(PlannedVisit.starts_at >= start, PlannedVisit.starts_at < end,
                     PlannedVisit.status != PlannedVisitStatus.cancelled)
    if user.role is Role.clinician:
        condition = and_(condition, PlannedVisit.clinician_id == user.id,
                         open_assignment(PlannedVisit.person_id, user.id))
    elif clinician_id is not None:
        condition = and_(condition, PlannedVisit.clinician_id == clinician_id)
    return _rows(db, condition)
