"""The demo data generator: realistic proportions, valid dates and links, fictional identities, no repeats."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.alerts import service as alerts
from app.auth.models import Role, User
from app.config import get_settings, organisation_today
from app.consent.models import Consent
from app.contacts.models import LegalRepresentative, Representation
from app.db import build_engine
from app.demo import DEMO_USERS, SeedResult, ensure_demo_users, generator, names, seed_demo
from app.detention.models import DetentionEpisode, Hearing, Placement, RemovalDirection
from app.evidence.models import EvidenceItem, Finding, Rule35Record
from app.health_events.models import HealthEvent
from app.home import dashboard
from app.intake.models import HelpRequest
from app.intake.schemas import DETAIL_LABELS
from app.intake.service import waiting_limit
from app.people.models import Assignment, Handover, Identity, Person
from app.referrals.models import NrmReferral, Organisation, Referral
from app.visits.models import Visit
from app.work.models import CaseNote, Task

# These tests build their own databases, so the shared per-test reset is not needed.
pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 200
TODAY = date(2026, 6, 30)
PASSWORD = "demo password for tests"
REFERENCE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")
# The generator's "now" for TODAY: the end of that day, or the real now if TODAY were still to come.
NOW = min(datetime.now(UTC), datetime.combine(TODAY, time(23, 59), UTC))


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


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, SeedResult]]:
    """The demo as `casework serve --demo` loads it: 60 people, seed 2026, dated today."""
    engine = migrated_engine(tmp_path_factory.mktemp("default-demo") / "demo.sqlite3")
    result = seed_demo(engine, people=60, password=PASSWORD, seed=2026)
    yield engine, result
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
                             (Identity, "identities"), (NrmReferral, "nrm_referrals"),
                             (LegalRepresentative, "legal_representatives"), (Representation, "representations"),
                             (RemovalDirection, "removal_directions"), (Hearing, "hearings"),
                             (HelpRequest, "requests")):
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
        # Removal directions and hearings may lie ahead; what was recorded or decided may not.
        for stamp in (Representation.started_at, Representation.ended_at, HelpRequest.received_at,
                      HelpRequest.recorded_at, HelpRequest.decided_at, RemovalDirection.recorded_at,
                      Hearing.recorded_at):
            latest_stamp = session.scalar(select(func.max(stamp)))
            assert latest_stamp is not None and latest_stamp <= NOW, stamp
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
        queries = [
            select(Person.reference, Person.status, Person.opened_date).order_by(Person.id),
            select(Representation.person_id, Representation.legal_representative_id, Representation.started_at)
            .order_by(Representation.id),
            select(RemovalDirection.person_id, RemovalDirection.removal_at, RemovalDirection.status)
            .order_by(RemovalDirection.id),
            select(Hearing.person_id, Hearing.kind, Hearing.hearing_at, Hearing.outcome).order_by(Hearing.id),
            select(HelpRequest.reference, HelpRequest.received_at, HelpRequest.decision, HelpRequest.person_id)
            .order_by(HelpRequest.id),
        ]
        with engine.connect() as a, other.connect() as b:
            for query in queries:
                assert a.execute(query).all() == b.execute(query).all()
    finally:
        other.dispose()


# --- the case's life: representatives, removals, hearings, requests for help ---------------------------------

# sha256 (first 16 hex digits) of each table's rows as generator.batch() built them for seed 2026, 200 people,
# TODAY and an all-zero index key, computed with the generator BEFORE representatives, removals, hearings and
# requests were added (the identity's old free-text `legal_representative` left out). The new tables draw from
# streams of their own: if one of these changes, the existing demo changed.
ROWS_BEFORE_THE_CASE_LIFE = {
    "people": "4de0fa48db67fbbb", "identities": "348b71bded094062", "identity_aliases": "cd08ebd4a299e8b5",
    "person_name_tokens": "68c1b556d3aa4852", "person_languages": "30200ed32c68ec0c",
    "person_aar_indicators": "fea48cbfd35fd1f9", "assignments": "aaed785660064969",
    "detention_episodes": "a3428ceac2c7fa86", "placements": "f124a01103714d65", "visits": "354f14d7ac5c617a",
    "visit_aar_indicators": "ba0f221437b0d718", "visit_addenda": "a4b1767bb0597934",
    "evidence_items": "08a9a34bedbae1fe", "findings": "26f5783a7f28f8ec", "rule35_records": "b4b0354efcfb4de8",
    "referrals": "06ee6f21cdb5742f", "nrm_referrals": "ae50c35eaab16ccf", "health_events": "d5cea4cd48da0b1a",
    "consents": "0f3cb442a07942d8",
}
NEW_TABLES = {"legal_representatives", "representations", "removal_directions", "hearings", "requests",
              "case_notes", "case_note_addenda", "tasks", "planned_visits", "letters"}


# Columns added later, drawn from streams of their own: left out, so the digests still prove the old rows unchanged.
LATER_COLUMNS = {"legal_representative", "region_code", "lesion_type", "length_mm", "width_mm", "shape", "colour",
                 "estimated_age", "overall_evaluation", "overall_evaluation_note"}


def rows_digest(rows: list[dict]) -> str:
    clean = [{k: v for k, v in row.items() if k not in LATER_COLUMNS} for row in rows]
    return hashlib.sha256(json.dumps(clean, default=repr, sort_keys=True).encode()).hexdigest()[:16]


def test_the_existing_demo_rows_are_unchanged(tmp_path: Path) -> None:
    engine = migrated_engine(tmp_path / "rows.sqlite3")
    try:
        with Session(engine) as session:
            ensure_demo_users(session, PASSWORD)
            session.commit()
        built = generator._Generator(engine, people=PEOPLE, seed=2026, today=TODAY)
        built.index_key = bytes(32)
        rows = {table.name: table_rows for table, table_rows in built.batch(0, PEOPLE).items()}
    finally:
        engine.dispose()
    assert {name: rows_digest(rows[name]) for name in ROWS_BEFORE_THE_CASE_LIFE} == ROWS_BEFORE_THE_CASE_LIFE
    assert all("legal_representative" not in identity for identity in rows["identities"])
    assert all(rows[name] for name in NEW_TABLES)
    # Every table the generator fills is either one of the old ones or one of the new ones (keys come later).
    assert set(rows) == set(ROWS_BEFORE_THE_CASE_LIFE) | NEW_TABLES | {"person_keys"}


def test_the_register_is_fictional_and_most_cases_have_a_representative(seeded) -> None:
    engine, result, _ = seeded
    with Session(engine) as session:
        register = list(session.scalars(select(LegalRepresentative)))
        representations = list(session.scalars(select(Representation)))
        people = set(session.scalars(select(Person.id)))
    assert 5 <= len(register) == result.legal_representatives <= 12
    firms = Counter(rep.firm for rep in register)
    assert len(firms) >= 4 and max(firms.values()) >= 2  # several firms, some with two caseworkers
    assert {rep.legal_aid_contract for rep in register} == {True, False}
    for rep in register:
        assert "(fictional)" in rep.firm
        assert rep.phone is not None and re.fullmatch(r"01632 960\d{3}", rep.phone)
        assert rep.email is not None and rep.email.endswith("example.org")
        assert rep.address
    archived = {rep.id for rep in register if rep.archived_at is not None}
    assert len(archived) == 1

    known = {rep.id for rep in register}
    assert all(r.legal_representative_id in known and r.person_id in people for r in representations)
    current = Counter(r.person_id for r in representations if r.ended_at is None)
    assert max(current.values()) == 1  # at most one current representative per person
    assert 0.7 <= len(current) / PEOPLE <= 0.9
    assert not any(r.legal_representative_id in archived for r in representations if r.ended_at is None)
    ended = [r for r in representations if r.ended_at is not None]
    assert ended and all(r.ended_at >= r.started_at for r in ended)
    # A change of firm: the earlier one ends when the current one starts.
    starts = {(r.person_id, r.started_at) for r in representations if r.ended_at is None}
    assert all((r.person_id, r.ended_at) in starts for r in ended)


def test_removals_never_fall_before_the_detention_began(seeded) -> None:
    engine, result, _ = seeded
    zone = get_settings().zone
    with Session(engine) as session:
        removals = list(session.scalars(select(RemovalDirection)))
        episodes = defaultdict(list)
        for episode in session.scalars(select(DetentionEpisode)):
            episodes[episode.person_id].append(episode)
    assert result.removal_directions == len(removals)
    statuses = Counter(r.status for r in removals)
    assert set(statuses) == {"set", "deferred", "cancelled", "carried_out"}
    detained_people = sum(1 for history in episodes.values() if any(e.end_date is None for e in history))
    assert 0 < statuses["set"] <= detained_people / 2  # some people in detention, not most
    for removal in removals:
        day = removal.removal_at.astimezone(zone).date()
        history = episodes[removal.person_id]
        assert min(e.start_date for e in history) <= day, removal.id
        assert removal.recorded_at <= min(removal.removal_at, NOW)
        if removal.status == "set":
            # Still set: ahead of now, for someone detained since before it.
            current = [e for e in history if e.end_date is None]
            assert removal.removal_at > NOW and current and current[0].start_date <= day
            assert removal.recorded_at.astimezone(zone).date() >= current[0].start_date
        else:
            assert removal.removal_at <= NOW
            assert any(e.start_date <= day and (e.end_date is None or day <= e.end_date) for e in history)
        if removal.status == "carried_out":
            assert any(e.end_reason == "removed" and e.end_date == day for e in history), removal.id
        assert removal.destination and removal.carrier


def test_hearings_ahead_wait_for_an_outcome_and_past_ones_have_one(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        hearings = list(session.scalars(select(Hearing)))
    kinds = Counter(h.kind for h in hearings)
    assert {"bail", "appeal", "judicial_review"} <= set(kinds) and kinds["bail"] > kinds["appeal"]
    ahead = [h for h in hearings if h.hearing_at > NOW]
    assert ahead and all(h.outcome is None for h in ahead)
    assert sum(1 for h in ahead if (h.hearing_at - NOW).days < 7) >= 3
    past = [h for h in hearings if h.hearing_at <= NOW]
    assert past and all(h.outcome is not None for h in past)
    assert all(h.outcome in ("granted", "refused", "withdrawn", "adjourned") for h in past if h.kind == "bail")
    assert all(h.venue is not None or h.remote for h in hearings)


def test_removal_imminent_and_hearing_soon_fire_for_some_demo_people(seeded) -> None:
    engine, _, _ = seeded
    cutoffs = alerts.Cutoffs.for_day(TODAY, get_settings(), now=NOW)
    with Session(engine) as session:
        people = list(session.scalars(select(Person.id)))
        firing = alerts.firing(session, cutoffs, people)
        within_a_day = session.scalar(select(func.count()).where(
            RemovalDirection.status == "set", RemovalDirection.removal_at > NOW,
            RemovalDirection.removal_at <= NOW + timedelta(hours=24)))
    fired = Counter(rule.id for rules in firing.values() for rule in rules)
    assert 2 <= fired["removal_imminent"] <= PEOPLE / 10
    assert 2 <= fired["hearing_soon"] <= PEOPLE / 10
    assert within_a_day >= 1


def test_the_default_demo_shows_imminent_removals_and_hearings_on_the_dashboard(default_demo) -> None:
    engine, result = default_demo
    settings = get_settings()
    with Session(engine) as session:
        coordinator = session.scalars(select(User).where(User.email == "coordinator@example.org")).one()
        figures = dashboard.figures(session, coordinator, alerts.Cutoffs.for_day(datetime.now(UTC).date(), settings))
        waiting = session.scalar(select(func.count()).where(HelpRequest.decided_at.is_(None)))
    assert figures.by_alert["removal_imminent"] >= 1
    assert figures.by_alert["hearing_soon"] >= 1
    assert 20 <= result.requests <= 40  # about 20-40 requests for the default demo size
    assert result.representations >= 0.7 * result.people
    assert waiting is not None and 6 <= waiting <= 15


def test_requests_for_help_are_triaged_and_some_wait_past_their_limit(seeded) -> None:
    engine, result, _ = seeded
    with Session(engine) as session:
        requests = list(session.scalars(select(HelpRequest)))
        people = set(session.scalars(select(Person.id)))
        organisations = set(session.scalars(select(Organisation.id)))
    assert len(requests) == result.requests and len({r.reference for r in requests}) == len(requests)
    assert all(re.fullmatch(r"R-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", r.reference) for r in requests)
    decisions = Counter(r.decision for r in requests)
    assert {"accepted", "declined", "signposted", "more_information"} <= set(decisions)
    waiting = [r for r in requests if r.decided_at is None or r.decision == "more_information"]
    assert 8 <= len(waiting) <= 15
    assert len({r.urgency for r in waiting}) == 3
    overdue = [r for r in waiting if r.received_at + waiting_limit(r.urgency) < NOW]
    assert 1 <= len(overdue) < len(waiting)
    for request in requests:
        assert request.decided_at is None or request.decided_at >= request.received_at
        if request.decision == "accepted":
            assert request.person_id in people
        else:
            assert request.person_id is None
        if request.decision == "signposted":
            assert request.signposted_to_id in organisations
        online = request.channel == "online_form"
        assert (request.recorded_by_id is None) == online
    assert any(r.channel == "online_form" for r in waiting)
    assert any(r.channel == "online_form" and r.decision == "accepted" for r in requests)
    # Most decided: an accepted request for some of the cases it opened.
    assert decisions["accepted"] > len(waiting)


def test_a_requests_details_open_through_the_orm(seeded) -> None:
    engine, _, _ = seeded
    with Session(engine) as session:
        accepted_id = session.scalar(select(HelpRequest.id).where(HelpRequest.decision == "accepted").limit(1))
        waiting_id = session.scalar(select(HelpRequest.id).where(HelpRequest.decided_at.is_(None)).limit(1))
        accepted = session.get(HelpRequest, accepted_id)
        waiting = session.get(HelpRequest, waiting_id)
        assert accepted is not None and waiting is not None
        details = accepted.details
        identity = session.get(Identity, accepted.person_id)
        assert identity is not None
        family_name = identity.family_name
        note = accepted.decision_note
        assert isinstance(waiting.details, dict) and waiting.details["summary"]
        stored = session.execute(select(HelpRequest.details_sealed).where(HelpRequest.id == accepted_id)).scalar_one()
    assert isinstance(details, dict) and set(details) <= set(DETAIL_LABELS)
    assert details["summary"] and details["family_name"] == family_name
    assert note is not None and note.startswith("Accepted")
    assert family_name.encode() not in stored  # sealed at rest
    phone = details.get("callback_phone")
    assert phone is None or re.fullmatch(r"01632 960\d{3}", phone)


def test_no_handovers_with_a_single_demo_coordinator(seeded) -> None:
    engine, _, _ = seeded
    # Handovers pass a case between coordinators; the demo has one, so it records none (and adds no users).
    assert [email for email, _, role in DEMO_USERS if role is Role.coordinator] == ["coordinator@example.org"]
    with Session(engine) as session:
        assert count(session, Handover) == 0


def test_open_cases_have_a_contact_log_and_tasks_some_overdue(default_demo) -> None:
    engine, result = default_demo
    today = organisation_today()
    with Session(engine) as session:
        notes = list(session.scalars(select(CaseNote)))
        tasks = list(session.scalars(select(Task)))
        closed = set(session.scalars(select(Person.id).where(Person.closed_date.is_not(None))))
        assert notes and result.case_notes == len(notes) and result.case_note_addenda >= 1
        assert not {n.person_id for n in notes} & closed  # only open cases have a contact log in the demo
        assert all(n.happened_at <= n.recorded_at for n in notes)
        summaries = [n.summary for n in notes]  # opened through the ORM with the person's key
        assert all(s in {text for _, _, text in names.CASE_NOTES} for s in summaries)
        open_tasks = [t for t in tasks if t.done_at is None]
        assert [t for t in open_tasks if t.due_date is not None and t.due_date < today], "some tasks are overdue"
        assert [t for t in tasks if t.done_at is not None] and [t for t in tasks if t.person_id is None]
        assert {t.title for t in tasks} <= set(names.CASE_TASKS) | set(names.OWN_TASKS)
        raw = session.execute(select(Task.title_sealed).where(Task.person_id.is_not(None))).scalars().all()
        assert raw and not any(b"Rule 35" in blob for blob in raw)  # a case's task title is sealed
