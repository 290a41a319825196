"""Facilities (the detention estate): queries and the rules for adding, changing, closing and reopening them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import config
from app.config import get_settings
from app.detention.models import Facility, FacilityType, Placement

DUPLICATE_NAME = "A facility with this name already exists."


class FacilityRuleError(ValueError):
    """A facility change that would break a rule. `errors` maps each field to its message (first one also
    as `field` and `message`), so that a form can show every problem at once."""

    def __init__(self, field: str, message: str, *, more: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors = {field: message, **(more or {})}

    @classmethod
    def of(cls, errors: dict[str, str]) -> FacilityRuleError:
        (field, message), *rest = errors.items()
        return cls(field, message, more=dict(rest))


def organisation_today() -> date:
    """Today's date where the organisation works (not the server's zone, not UTC)."""
    return config.organisation_today(get_settings())


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

def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


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
        raise FacilityRuleError("name", DUPLICATE_NAME) from None


def create_facility(db: Session, *, name: str, type: FacilityType, operator: str | None = None,
                    region: str | None = None, opened_date: date | None = None,
                    today: date | None = None) -> Facility:
    """Add an open facility. Raises FacilityRuleError for a duplicate name or an opening date in the future."""
    name = name.strip()
    problems = _detail_problems(db, name=name, opened_date=opened_date, today=today or organisation_today())
    if problems:
        raise FacilityRuleError.of(problems)
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
        raise FacilityRuleError.of(problems)
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
        raise FacilityRuleError("facility", "This facility is already closed.")
    if closed_date > (today or organisation_today()):
        raise FacilityRuleError("closed_date", "The closing date must be today or in the past.")
    if facility.opened_date is not None and closed_date < facility.opened_date:
        raise FacilityRuleError("closed_date", (
            f"The closing date must be on or after the opening date ({_day(facility.opened_date)})."))
    facility.closed_date = closed_date
    facility.is_active = False
    db.flush()


def reopen_facility(db: Session, facility: Facility) -> date | None:
    """Open a closed facility again; returns the closing date it had."""
    if facility.is_active:
        raise FacilityRuleError("facility", "This facility is already open.")
    previous = facility.closed_date
    facility.closed_date = None
    facility.is_active = True
    db.flush()
    return previous
