"""Facilities and detentions: the estate's queries and rules, and a person's detentions, transfers, bail and GP exam."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import config
from app.audit import revisions
from app.config import organisation_today
from app.dates import format_date as _day
from app.db import check_version, utcnow
from app.detention.models import DetentionEpisode, EndReason, Facility, FacilityType, Placement
from app.detention.schemas import BailForm, EpisodeEndForm, EpisodeStartForm, GpExamForm, TransferForm
from app.errors import FORM_ERROR, RuleBroken
from app.people.models import Person, PersonStatus
from app.people.service import touch

DUPLICATE_NAME = "A facility with this name already exists."


# --- queries ------------------------------------------------------------------------------------

def list_facilities(db: Session) -> list[Facility]:
    """Every facility, open ones first, each group by name."""
    return list(db.scalars(select(Facility).order_by(Facility.is_active.desc(), func.lower(Facility.name))))


def open_facilities(db: Session) -> list[Facility]:
    """Facilities that can be chosen for a new placement or visit, by name."""
    return list(db.scalars(select(Facility).where(Facility.is_active.is_(True)).order_by(func.lower(Facility.name))))


def get_facility(db: Session, facility_id: int) -> Facility | None:
    return db.get(Facility, facility_id)


def name_taken(db: Session, name: str, *, except_id: int | None = None) -> bool:
    """Whether another facility already has this name, ignoring case and surrounding spaces."""
    query = select(Facility.id).where(func.lower(Facility.name) == name.strip().lower())
    if except_id is not None:
        query = query.where(Facility.id != except_id)
    return db.scalar(query.limit(1)) is not None


@dataclass(frozen=True)
class FacilityUsage:
    """How many placements name a facility, and how many of them are current: why facilities are closed,
    never deleted."""

    placements: int
    current_placements: int


def facility_usage(db: Session, facility_id: int) -> FacilityUsage:
    placements, current = db.execute(
        select(func.count(Placement.id), func.count(Placement.id).filter(Placement.date_out.is_(None)))
        .where(Placement.facility_id == facility_id)
    ).one()
    return FacilityUsage(placements=placements or 0, current_placements=current or 0)


# --- changes ------------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _detail_problems(db: Session, *, name: str, opened_date: date | None, today: date,
                     facility: Facility | None = None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if name_taken(db, name, except_id=facility.id if facility is not None else None):
        problems["name"] = DUPLICATE_NAME
    if opened_date is not None and opened_date > today:
        problems["opened_date"] = "The opening date must be today or in the past."
    elif (opened_date is not None and facility is not None and facility.closed_date is not None
          and opened_date > facility.closed_date):
        problems["opened_date"] = (
            f"The opening date must be on or before the closing date ({_day(facility.closed_date)}).")
    return problems


def _flush_guarding_name(db: Session, facility: Facility, values: dict[str, Any], *, new: bool) -> None:
    """Write the values, turning a unique-name clash from a concurrent request into the same rule error."""
    try:
        with db.begin_nested():
            for key, value in values.items():
                setattr(facility, key, value)
            if new:
                db.add(facility)
    except IntegrityError:
        raise RuleBroken.on("name", DUPLICATE_NAME) from None


def create_facility(db: Session, *, name: str, type: FacilityType, operator: str | None = None,
                    region: str | None = None, opened_date: date | None = None,
                    today: date | None = None) -> Facility:
    """Add an open facility. Raises RuleBroken for a duplicate name or an opening date in the future."""
    name = name.strip()
    problems = _detail_problems(db, name=name, opened_date=opened_date, today=today or organisation_today())
    if problems:
        raise RuleBroken(problems)
    facility = Facility()
    _flush_guarding_name(db, facility, {
        "name": name, "type": type, "operator": _clean(operator), "region": _clean(region),
        "opened_date": opened_date, "closed_date": None, "is_active": True,
    }, new=True)
    return facility


def _audit_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, FacilityType):
        return value.value
    return value


def update_facility(db: Session, facility: Facility, *, name: str, type: FacilityType, operator: str | None = None,
                    region: str | None = None, opened_date: date | None = None,
                    today: date | None = None) -> dict[str, list[object]]:
    """Change a facility's details (renaming included). Returns {field: [old, new]} for what changed;
    facilities are not personal data, so the values themselves may go to the audit log."""
    name = name.strip()
    problems = _detail_problems(db, name=name, opened_date=opened_date, today=today or organisation_today(),
                                facility=facility)
    if problems:
        raise RuleBroken(problems)
    wanted: dict[str, Any] = {"name": name, "type": type, "operator": _clean(operator), "region": _clean(region),
                              "opened_date": opened_date}
    changed = {key: value for key, value in wanted.items() if getattr(facility, key) != value}
    changes = {key: [_audit_value(getattr(facility, key)), _audit_value(value)] for key, value in changed.items()}
    if changed:
        _flush_guarding_name(db, facility, changed, new=False)
    return changes


def close_facility(db: Session, facility: Facility, *, closed_date: date, today: date | None = None) -> None:
    """Close a facility: it stays on every record that names it but is no longer offered for new ones."""
    if not facility.is_active:
        raise RuleBroken.on(FORM_ERROR, "This facility is already closed.")
    if closed_date > (today or organisation_today()):
        raise RuleBroken.on("closed_date", "The closing date must be today or in the past.")
    if facility.opened_date is not None and closed_date < facility.opened_date:
        raise RuleBroken.on("closed_date", (
            f"The closing date must be on or after the opening date ({_day(facility.opened_date)})."))
    facility.closed_date = closed_date
    facility.is_active = False
    db.flush()


def reopen_facility(db: Session, facility: Facility) -> date | None:
    """Open a closed facility again; returns the closing date it had."""
    if facility.is_active:
        raise RuleBroken.on(FORM_ERROR, "This facility is already open.")
    previous = facility.closed_date
    facility.closed_date = None
    facility.is_active = True
    db.flush()
    return previous


# --- detention episodes, transfers and bail ----------------------------------------------------------

def episode_snapshot(episode: DetentionEpisode) -> dict[str, Any]:
    return {"start_date": episode.start_date, "end_date": episode.end_date, "end_reason": episode.end_reason,
            "last_bail_application_date": episode.last_bail_application_date,
            "last_bail_outcome": episode.last_bail_outcome}


def _placement_snapshot(placement: Placement) -> dict[str, Any]:
    return {"episode_id": placement.episode_id, "facility_id": placement.facility_id,
            "date_in": placement.date_in, "date_out": placement.date_out, "arrived_at": placement.arrived_at,
            "gp_exam_at": placement.gp_exam_at}


def episodes_of(db: Session, person_id: int) -> list[DetentionEpisode]:
    return list(db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person_id)
                           .order_by(DetentionEpisode.start_date)))


def get_episode(db: Session, person_id: int, episode_id: int) -> DetentionEpisode | None:
    """The episode, if it is one of this person's."""
    return db.scalar(select(DetentionEpisode).where(DetentionEpisode.id == episode_id,
                                                    DetentionEpisode.person_id == person_id))


def current_episode(db: Session, person_id: int) -> DetentionEpisode | None:
    """The person's open detention, if any (at most one is open)."""
    return db.scalar(select(DetentionEpisode).where(DetentionEpisode.person_id == person_id,
                                                    DetentionEpisode.end_date.is_(None)))


def open_placement(db: Session, episode_id: int) -> Placement | None:
    return db.scalar(select(Placement).where(Placement.episode_id == episode_id, Placement.date_out.is_(None))
                     .order_by(Placement.date_in.desc()))


def _facility_problem(db: Session, facility_id: int) -> str | None:
    facility = db.get(Facility, facility_id)
    if facility is None or not facility.is_active:
        return "Choose an open facility from the list."
    return None


def _status_after(reason: EndReason) -> PersonStatus:
    if reason is EndReason.removed:
        return PersonStatus.removed
    if reason in (EndReason.died, EndReason.other, EndReason.transferred_to_prison, EndReason.hospital):
        return PersonStatus.unknown
    return PersonStatus.released


def _arrival_problem(arrived_at: datetime | None, day: date, now: datetime) -> str | None:
    if arrived_at is None:
        return None
    if arrived_at > now:
        return "The time of arrival cannot be in the future."
    if arrived_at.astimezone(config.get_settings().zone).date() != day:
        return f"The time of arrival must be on {_day(day)}, the day of arrival."
    return None


def start_episode(db: Session, actor_id: int, person: Person, data: EpisodeStartForm, today: date) -> DetentionEpisode:
    """Record a detention. Without an end date it is the current one; with one, an earlier detention."""
    check_version(person, data.version)
    start_date, end_date, end_reason = data.start_date, data.end_date, data.end_reason
    errors: dict[str, str] = {}
    if start_date > today:
        errors["start_date"] = "The date detained cannot be in the future."
    if end_date is not None:
        if end_date > today:
            errors["end_date"] = "The end date cannot be in the future."
        elif end_date < start_date:
            errors["end_date"] = "The end date must be on or after the date detained."
        if end_reason is None:
            errors["end_reason"] = "Choose why the detention ended."
    elif end_reason is not None:
        errors["end_date"] = "Enter the date the detention ended, or clear the reason."
    if problem := _arrival_problem(data.arrived_at, start_date, utcnow()):
        errors["arrived_at"] = problem
    if not errors:
        new_end = end_date or date.max
        for other in episodes_of(db, person.id):
            other_end = other.end_date or date.max
            if start_date <= other_end and other.start_date <= new_end:
                until = _day(other.end_date) if other.end_date else "now (still ongoing)"
                errors["start_date"] = (f"This overlaps the detention from {_day(other.start_date)} to "
                                        f"{until}. Change the dates, or end that detention first.")
                break
    if problem := _facility_problem(db, data.facility_id):
        errors["facility_id"] = problem
    if errors:
        raise RuleBroken(errors)
    episode = DetentionEpisode(person_id=person.id, start_date=start_date, end_date=end_date, end_reason=end_reason)
    db.add(episode)
    db.flush()
    placement = Placement(episode_id=episode.id, facility_id=data.facility_id, date_in=start_date, date_out=end_date,
                          arrived_at=data.arrived_at)
    db.add(placement)
    if end_date is None:
        person.status = PersonStatus.detained
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="detention_episodes", row_id=episode.id, person_id=person.id,
                     before=None, after=episode_snapshot(episode))
    revisions.record(db, actor_id=actor_id, table="placements", row_id=placement.id, person_id=person.id,
                     before=None, after=_placement_snapshot(placement))
    return episode


def _still_open(episode: DetentionEpisode) -> None:
    # Transfers, bail and GP exams belong to the detention going on; an ended one is history.
    if episode.end_date is not None:
        raise RuleBroken.on(FORM_ERROR, "This detention has already ended.")


def record_transfer(db: Session, actor_id: int, person: Person, episode: DetentionEpisode, data: TransferForm,
                    today: date) -> Placement:
    """A move to another facility inside the same detention: the clock carries on."""
    check_version(person, data.version)
    _still_open(episode)
    current = open_placement(db, episode.id)
    transfer_date = data.transfer_date
    errors: dict[str, str] = {}
    if transfer_date > today:
        errors["transfer_date"] = "The transfer date cannot be in the future."
    elif transfer_date < episode.start_date:
        errors["transfer_date"] = (f"The transfer must be within this detention, which began on "
                                   f"{_day(episode.start_date)}.")
    elif current is not None and transfer_date < current.date_in:
        errors["transfer_date"] = (f"The transfer must be on or after the arrival at the current facility on "
                                   f"{_day(current.date_in)}.")
    if problem := _arrival_problem(data.arrived_at, transfer_date, utcnow()):
        errors["arrived_at"] = problem
    if problem := _facility_problem(db, data.facility_id):
        errors["facility_id"] = problem
    elif current is not None and current.facility_id == data.facility_id:
        errors["facility_id"] = "The person is already at this facility."
    if errors:
        raise RuleBroken(errors)
    if current is not None:
        before = _placement_snapshot(current)
        current.date_out = transfer_date
        db.flush()
        revisions.record(db, actor_id=actor_id, table="placements", row_id=current.id, person_id=person.id,
                         before=before, after=_placement_snapshot(current))
    placement = Placement(episode_id=episode.id, facility_id=data.facility_id, date_in=transfer_date,
                          arrived_at=data.arrived_at)
    db.add(placement)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="placements", row_id=placement.id, person_id=person.id,
                     before=None, after=_placement_snapshot(placement))
    return placement


def end_episode(db: Session, actor_id: int, person: Person, episode: DetentionEpisode, data: EpisodeEndForm,
                today: date) -> None:
    check_version(person, data.version)
    _still_open(episode)
    current = open_placement(db, episode.id)
    end_date = data.end_date
    if end_date > today:
        raise RuleBroken.on("end_date", "The end date cannot be in the future.")
    if end_date < episode.start_date:
        raise RuleBroken.on("end_date", (f"The end date must be on or after the date detained, "
                                         f"{_day(episode.start_date)}."))
    if current is not None and end_date < current.date_in:
        raise RuleBroken.on("end_date", (f"The end date must be on or after the arrival at the current "
                                         f"facility on {_day(current.date_in)}."))
    before = episode_snapshot(episode)
    episode.end_date = end_date
    episode.end_reason = data.end_reason
    if current is not None:
        placement_before = _placement_snapshot(current)
        current.date_out = end_date
        db.flush()
        revisions.record(db, actor_id=actor_id, table="placements", row_id=current.id, person_id=person.id,
                         before=placement_before, after=_placement_snapshot(current))
    person.status = _status_after(data.end_reason)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="detention_episodes", row_id=episode.id, person_id=person.id,
                     before=before, after=episode_snapshot(episode))


def record_bail(db: Session, actor_id: int, person: Person, episode: DetentionEpisode, data: BailForm,
                today: date) -> None:
    check_version(person, data.version)
    _still_open(episode)
    application_date = data.application_date
    if application_date > today:
        raise RuleBroken.on("application_date", "The application date cannot be in the future.")
    if application_date < episode.start_date:
        raise RuleBroken.on("application_date", (f"The application must be within this detention, which "
                                                 f"began on {_day(episode.start_date)}."))
    before = episode_snapshot(episode)
    episode.last_bail_application_date = application_date
    episode.last_bail_outcome = data.outcome
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="detention_episodes", row_id=episode.id, person_id=person.id,
                     before=before, after=episode_snapshot(episode))


def record_gp_exam(db: Session, actor_id: int, person: Person, episode: DetentionEpisode,
                   data: GpExamForm) -> Placement:
    """The centre GP's admission examination at the current facility."""
    check_version(person, data.version)
    _still_open(episode)
    current = open_placement(db, episode.id)
    gp_exam_at = data.gp_exam_at
    if current is None:
        raise RuleBroken.on(FORM_ERROR, "No current facility is recorded for this detention.")
    if gp_exam_at > utcnow():
        raise RuleBroken.on("gp_exam_at", "The examination time cannot be in the future.")
    local_day = gp_exam_at.astimezone(config.get_settings().zone).date()
    if (current.arrived_at is not None and gp_exam_at < current.arrived_at) or local_day < current.date_in:
        raise RuleBroken.on("gp_exam_at", "The examination must be after the arrival at this facility.")
    before = _placement_snapshot(current)
    current.gp_exam_at = gp_exam_at
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="placements", row_id=current.id, person_id=person.id,
                     before=before, after=_placement_snapshot(current))
    return current
