"""Reports fixtures: consenting people with signed visits, inserted directly so a test can make dozens at once."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import Role, User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.detention.models import DetentionEpisode, Facility, Placement
from app.people.models import Identity, Person, PersonStatus
from app.reports import periods
from app.reports.periods import Period
from app.visits.models import Visit, VisitMode, VisitStatus

_serial = itertools.count(1)


@pytest.fixture
def research_people(db, today):  # type: ignore[no-untyped-def]  # noqa: F811
    """make(n, consent=True, detained_days=40, facility="Brook House", visit_days_ago=None) -> list[Person].

    Visits fall in the middle of last month (the period `period()` names) unless visit_days_ago says otherwise."""

    def make(n: int, *, consent: bool = True, detained_days: int | None = 40, facility: str = "Brook House",
             visit_days_ago: int | None = None, withdrawn: bool = False, nationality: str | None = None,
             **person_fields) -> list[Person]:  # type: ignore[no-untyped-def]
        db.rollback()
        actor = db.scalars(select(User).where(User.role == Role.admin)).first()
        if actor is None:
            actor = User(email="reports-fixture@example.org", display_name="Fixture Admin", role=Role.admin,
                         password_hash="x")
            db.add(actor)
            db.flush()
        facility_id = db.scalar(select(Facility.id).where(Facility.name == facility))
        people = []
        for _ in range(n):
            number = next(_serial)
            person = Person(reference=f"{number:04d}-TEST", status=PersonStatus.detained,
                            opened_date=today - timedelta(days=400), nationality=nationality, **person_fields)
            db.add(person)
            db.flush()
            db.add(Identity(person_id=person.id, given_names=f"Fictiva{number}", family_name="Testperson"))
            if consent:
                db.add(Consent(person_id=person.id, purpose=ConsentPurpose.anonymised_research,
                               given_date=today - timedelta(days=100), method=ConsentMethod.written,
                               recorded_by_id=actor.id,
                               withdrawn_date=today - timedelta(days=1) if withdrawn else None,
                               withdrawal_recorded_by_id=actor.id if withdrawn else None))
            if detained_days is not None:
                start = today - timedelta(days=detained_days - 1)
                episode = DetentionEpisode(person_id=person.id, start_date=start)
                db.add(episode)
                db.flush()
                db.add(Placement(episode_id=episode.id, facility_id=facility_id, date_in=start))
            visit_date = (last_month(today).start + timedelta(days=14) if visit_days_ago is None
                          else today - timedelta(days=visit_days_ago))
            db.add(Visit(person_id=person.id, clinician_id=actor.id, visit_date=visit_date,
                         facility_id=facility_id, mode=VisitMode.in_person, status=VisitStatus.signed,
                         signed_at=datetime.now(UTC), signed_by_id=actor.id))
            people.append(person)
        db.commit()
        return people

    return make


def last_month(today: date) -> Period:
    before = today.replace(day=1) - timedelta(days=1)
    return periods.month(before.year, before.month)


def period(today: date) -> dict[str, str]:
    """The summary form's period field for last month, where the fixture's visits fall."""
    return {"period": last_month(today).value}
