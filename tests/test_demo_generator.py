"""The demo data generator: realistic proportions, valid dates and links, fictional identities, no repeats."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.consent.models import Consent
from app.db import build_engine
from app.demo import DEMO_USERS, SeedResult, ensure_demo_users, seed_demo
from app.detention.models import DetentionEpisode, Placement
from app.evidence.models import EvidenceItem, Finding, Rule35Record
from app.health_events.models import HealthEvent
from app.people.models import Assignment, Identity, Person
from app.referrals.models import NrmReferral, Referral
from app.visits.models import Visit

# These tests build their own databases, so the shared per-test reset is not needed.
pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 200
TODAY = date(2026, 6, 30)
PASSWORD = "demo password for tests"
REFERENCE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")


def migrated_engine(path: Path) -> Engine:
    engine = build_engine(f"sqlite:///{path}")
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    return engine


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, SeedResult, list[int]]]:
    engine = migrated_engine(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    batches: list[int] = []
    result = seed_demo(engine, people=PEOPLE, password=PASSWORD, today=TODAY, progress=batches.append)
    yield engine, result, batches
    engine.dispose()


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def home_office_band(start: date, end: date) -> str:
    """The Home Office length band of a detention from start to end inclusive (the start date is day 1)."""
    days = (end - start).days + 1
    for limit, label in ((3, "<=3d"), (7, "4-7d"), (14, "8-14d"), (28, "15-28d")):
        if days <= limit:
            return label
    months = 0
    while add_months(start, months + 1) <= end:
        months += 1
    for limit, label in ((2, "29d-2m"), (3, "2-3m"), (4, "3-4m"), (6, "4-6m"), (12, "6-12m"), (18, "12-18m"),
                         (24, "18-24m"), (36, "24-36m"), (48, "36-48m")):
        if months < limit:
            return label
    return "48m+"


ALL_BANDS = {"<=3d", "4-7d", "8-14d", "15-28d", "29d-2m", "2-3m", "3-4m", "4-6m", "6-12m", "12-18m", "18-24m",
             "24-36m", "36-48m", "48m+"}


def test_counts_match_the_database_and_progress_reports_every_person(seeded) -> None:
    engine, result, batches = seeded
    assert sum(batches) == PEOPLE
    with Session(engine) as session:
        for model, field in ((Person, "people"), (DetentionEpisode, "episodes"), (Placement, "placements"),
                             (Visit, "visits"), (EvidenceItem, "evidence_items"), (Finding, "findings"),
                             (Referral, "referrals"), (HealthEvent, "health_events"), (Consent, "consents"),
                             (Rule35Record, "rule35_records"), (Assignment, "assignments"),
                             (Identity, "identities"), (NrmReferral, "nrm_referrals")):
            assert count(session, model) == getattr(result, field), field
    assert result.created_people == PEOPLE
    assert result.users_created == len(DEMO_USERS)


@pytest.mark.parametrize(("field", "low", "high"), [
    ("episodes", 1.2, 1.8), ("placements", 2.0, 3.0), ("visits", 8, 12), ("evidence_items", 3, 5),
    ("referrals", 2.4, 3.6), ("health_events", 1.5, 2.6), ("consents", 1.7, 2.4),
    ("rule35_records", 0.3, 0.7),
])
def test_records_per_person_are_realistic(seeded, field: str, low: float, high: float) -> None:
    _, result, _ = seeded
    assert low <= getattr(result, field) / result.people <= high


def test_variety_of_records(seeded) -> None:
    engine, result, _ = seeded
    with Session(engine) as session:
        assert result.findings > 0
        assert session.scalar(select(func.count()).where(Finding.consistency.is_not(None))) > 0
        assert set(session.scalars(select(Rule35Record.limb).distinct())) == {"35_1", "35_2", "35_3"}
        awaiting = select(func.count()).where(Rule35Record.sent_date.is_not(None),
                                              Rule35Record.response_date.is_(None))
        assert session.scalar(awaiting) > 0
        assert len(set(session.scalars(select(Referral.status).distinct()))) >= 5
        assert result.nrm_referrals > 0
        decided = select(func.count()).where(NrmReferral.reasonable_grounds_outcome.is_not(None))
        assert session.scalar(decided) > 0
        statuses = Counter(session.scalars(select(Visit.status)))
        assert statuses["draft"] > 0 and statuses["signed"] > 0.8 * result.visits
        purposes = Counter(session.scalars(select(Consent.purpose)))
        assert purposes["care_record"] == PEOPLE
        assert purposes["anonymised_research"] > PEOPLE / 3
        assert purposes["share_with_organisation"] > 0
        assert session.scalar(select(func.count()).where(Consent.withdrawn_date.is_not(None))) > 0
        assert session.scalar(select(func.count()).where(Person.aar_level.is_not(None))) > 0
        assert result.person_aar_indicators > 0 and result.identity_aliases > 0


def test_a_quarter_are_detained_and_status_matches_the_last_episode(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        status = dict(session.execute(select(Person.id, Person.status)).all())
        episodes = defaultdict(list)
        for episode in session.scalars(select(DetentionEpisode).order_by(DetentionEpisode.start_date)):
            episodes[episode.person_id].append(episode)
    detained = [pid for pid, s in status.items() if s == "detained"]
    assert 0.15 <= len(detained) / PEOPLE <= 0.35
    assert set(episodes) == set(status)
    for person_id, history in episodes.items():
        *earlier, last = history
        assert all(e.end_date is not None and e.end_reason is not None for e in earlier)
        for before, after in zip(history, history[1:], strict=False):
            assert before.end_date is not None and before.end_date < after.start_date
        if status[person_id] == "detained":
            assert last.end_date is None and last.end_reason is None
        else:
            assert last.end_date is not None and last.end_reason is not None
            assert (status[person_id] == "removed") == (last.end_reason == "removed")


def test_every_home_office_band_is_populated(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        spans = session.execute(select(DetentionEpisode.start_date, DetentionEpisode.end_date)).all()
    current = {home_office_band(start, TODAY) for start, end in spans if end is None}
    assert current == ALL_BANDS, ALL_BANDS - current
    assert len({home_office_band(start, end) for start, end in spans if end is not None}) >= 8


def test_placements_are_contiguous_inside_their_episode(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        spans = {e.id: (e.start_date, e.end_date) for e in session.scalars(select(DetentionEpisode))}
        placements = defaultdict(list)
        for placement in session.scalars(select(Placement).order_by(Placement.date_in, Placement.id)):
            placements[placement.episode_id].append(placement)
    assert set(placements) == set(spans)
    for episode_id, (start, end) in spans.items():
        chain = placements[episode_id]
        assert chain[0].date_in == start
        assert chain[-1].date_out == end
        for before, after in zip(chain, chain[1:], strict=False):
            assert before.date_out == after.date_in
            assert before.facility_id != after.facility_id


def test_visits_in_detention_name_the_facility_the_person_was_in(seeded) -> None:
    engine, _, _ = seeded
    misplaced = text("""
        SELECT count(*) FROM visits v WHERE v.facility_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM placements p JOIN detention_episodes e ON e.id = p.episode_id
            WHERE e.person_id = v.person_id AND p.facility_id = v.facility_id
              AND p.date_in <= v.visit_date AND (p.date_out IS NULL OR v.visit_date <= p.date_out))
    """)
    with engine.connect() as connection:
        assert connection.scalar(misplaced) == 0


def test_no_date_is_after_today(seeded) -> None:
    engine, _, _ = seeded
    columns = [Person.opened_date, Person.closed_date, DetentionEpisode.start_date, DetentionEpisode.end_date,
               Placement.date_out, Visit.visit_date, EvidenceItem.received_date, Rule35Record.response_date,
               Referral.made_date, Referral.response_date, Consent.given_date, Consent.withdrawn_date,
               NrmReferral.conclusive_grounds_date]
    with Session(engine) as session:
        for column in columns:
            latest = session.scalar(select(func.max(column)))
            assert latest is None or latest <= TODAY, column
        latest_event = session.scalar(select(func.max(HealthEvent.started_at)))
        assert latest_event is not None and latest_event.date() <= TODAY
        person = session.scalars(select(Person).limit(1)).one()
        assert person.version == 1 and person.created_at.tzinfo is not None


def test_identities_are_obviously_fictional(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        references = list(session.scalars(select(Person.reference).order_by(Person.id)))
        # Sealed fields open with the session's keys, so they are read while it is open.
        identities = [SimpleNamespace(home_office_reference=i.home_office_reference,
                                      phone_in_detention=i.phone_in_detention)
                      for i in session.scalars(select(Identity))]
    assert len(set(references)) == PEOPLE
    assert all(REFERENCE.match(reference) for reference in references)
    # Random, not a counter: consecutive people do not get neighbouring references.
    assert references != sorted(references)
    home_office = [i.home_office_reference for i in identities if i.home_office_reference is not None]
    assert len(set(home_office)) == len(home_office) > PEOPLE / 2
    for identity in identities:
        assert identity.home_office_reference is None or identity.home_office_reference.startswith("DEMO-")
        phone = identity.phone_in_detention
        assert phone is None or re.fullmatch(r"07700 900\d{3}", phone)


def test_demo_users_exist_once_and_caseloads_are_split(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        users = {u.email: u for u in session.scalars(select(User))}
        current = select(Assignment.clinician_id).where(Assignment.ended_at.is_(None))
        active = Counter(session.scalars(current))
    assert set(users) == {email for email, _, _ in DEMO_USERS}
    assert {email for email, _, _ in DEMO_USERS} == {
        "admin@example.org", "coordinator@example.org", "clinician@example.org", "researcher@example.org",
        "clinician2@example.org"}
    assert {u.role for u in users.values()} == set(Role)
    assert 10 <= active[users["clinician@example.org"].id] <= 30
    assert active[users["clinician2@example.org"].id] > 50
    assert sum(active.values()) < PEOPLE  # some people have no current clinician


def test_second_seed_adds_nothing(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        before = count(session, Person), count(session, User), count(session, Visit)
    again = seed_demo(engine, people=50, password=PASSWORD, today=TODAY)
    assert again == SeedResult()
    with Session(engine) as session:
        assert (count(session, Person), count(session, User), count(session, Visit)) == before


def test_foreign_keys_and_integrity_hold(seeded) -> None:
    engine, _, _ = seeded
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert connection.exec_driver_sql("PRAGMA quick_check").scalar() == "ok"


def test_ensure_demo_users_is_idempotent(tmp_path: Path) -> None:
    engine = migrated_engine(tmp_path / "users.sqlite3")
    try:
        with Session(engine) as session:
            assert ensure_demo_users(session, PASSWORD) == len(DEMO_USERS)
            session.commit()
        with Session(engine) as session:
            assert ensure_demo_users(session, PASSWORD) == 0
            hashes = set(session.scalars(select(User.password_hash)))
            assert len(hashes) == 1 and next(iter(hashes)).startswith("$argon2id$")
    finally:
        engine.dispose()


def test_same_seed_gives_the_same_people(seeded, tmp_path: Path) -> None:
    engine, _, _ = seeded
    other = migrated_engine(tmp_path / "again.sqlite3")
    try:
        seed_demo(other, people=PEOPLE, password=PASSWORD, today=TODAY)
        query = select(Person.reference, Person.status, Person.opened_date).order_by(Person.id)
        with engine.connect() as a, other.connect() as b:
            assert a.execute(query).all() == b.execute(query).all()
    finally:
        other.dispose()
