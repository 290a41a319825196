"""Shared fixtures: people created through the service, with optional detention, assignment and bail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import Role, User
from app.config import get_settings, organisation_today
from app.detention.models import BailOutcome, DetentionEpisode, Facility, Placement
from app.people import service
from app.people.models import Assignment, Person
from app.people.schemas import PersonForm


@pytest.fixture
def today() -> date:
    return organisation_today(get_settings())


@pytest.fixture
def make_person(db, today):  # type: ignore[no-untyped-def]
    def make(given: str = "Testa", family: str = "Fictivo", *, detained_days: int | None = None,
             facility: str = "Brook House", assigned_to: User | None = None, closed: bool = False,
             bail: tuple[date, BailOutcome] | None = None, **fields) -> Person:  # type: ignore[no-untyped-def]
        db.rollback()
        actor = db.scalars(select(User).where(User.role == Role.admin)).first()
        if actor is None:
            actor = User(email="fixture-admin@example.org", display_name="Fixture", role=Role.admin,
                         password_hash="x")
            db.add(actor)
            db.flush()
        person = service.create_person(db, actor, PersonForm(given_names=given, family_name=family, **fields),
                                       today - timedelta(days=400))
        if detained_days is not None:
            start = today - timedelta(days=detained_days - 1)
            episode = DetentionEpisode(person_id=person.id, start_date=start,
                                       last_bail_application_date=bail[0] if bail else None,
                                       last_bail_outcome=bail[1] if bail else None)
            db.add(episode)
            db.flush()
            facility_id = db.scalar(select(Facility.id).where(Facility.name == facility))
            db.add(Placement(episode_id=episode.id, facility_id=facility_id, date_in=start))
            person.status = "detained"
        if assigned_to is not None:
            db.add(Assignment(person_id=person.id, clinician_id=assigned_to.id))
        if closed:
            person.closed_date, person.closing_reason = today, "other"
        db.commit()
        return person

    return make
