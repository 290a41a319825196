"""Helpers shared by the visit and health-event tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from app.audit.models import AuditEvent, Revision
from app.db import utcnow
from app.detention.models import Facility
from app.visits.models import Visit, VisitStatus
from tests.pages import post_form as post  # noqa: F401  (the visit tests import it from here)


def facility_id(db, name: str = "Brook House") -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(Facility.id).where(Facility.name == name))


def visit_data(db, today: date, **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "visit_date": str(today - timedelta(days=1)), "facility_id": str(facility_id(db)), "mode": "in_person",
        "interpreter_used": "true", "interpreter_language": "Tigrinya", "duration_minutes": "45",
        "presenting_concerns": "Poor sleep.\nFlashbacks at night.", "findings": "Linear scars on both forearms.",
        "risk": "moderate", "aar_indicators": ["torture", "ptsd"], "actions": "Ask for a Rule 35(3) report.",
        "follow_up_date": str(today + timedelta(days=7)),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_visit(db, person, clinician, *, signed: bool = False, **fields: Any) -> Visit:  # type: ignore[no-untyped-def]
    """A visit written straight to the database (arranging a test, not exercising the pages)."""
    db.rollback()
    values: dict[str, Any] = {"visit_date": date.today() - timedelta(days=3), "mode": "phone"}  # noqa: DTZ011
    values.update(fields)
    visit = Visit(person_id=person.id, clinician_id=clinician.id, **values)
    if signed:
        visit.status, visit.signed_at, visit.signed_by_id = VisitStatus.signed, utcnow(), clinician.id
    db.add(visit)
    db.commit()
    return visit


def visits_of(db, person) -> list[Visit]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Visit).where(Visit.person_id == person.id).order_by(Visit.id)))


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def revisions_of(db, table: str, row_id: int) -> list[Revision]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Revision).where(Revision.table_name == table, Revision.row_id == row_id)
                           .order_by(Revision.id)))
