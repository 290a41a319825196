"""Synthetic, obviously fictional demo data: demo accounts and fictional people with case histories."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Engine, Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.passwords import hash_password
from app.config import get_settings
from app.consent.models import Consent
from app.contacts.models import LegalRepresentative, Representation
from app.crypto.fields import seal_value, sealed_fields, unsealed_json
from app.crypto.keyring import index_key_for_connection, master_keyring, person_key_label, request_key_label
from app.crypto.models import PersonKey
from app.crypto.primitives import new_key
from app.db import refresh_statistics
from app.demo import letters as demo_letters
from app.demo import medicolegal as demo_medicolegal
from app.demo import names
from app.detention.models import DetentionEpisode, Facility, Hearing, Placement, RemovalDirection
from app.evidence.models import EvidenceItem, Finding, Rule35Record
from app.health_events.models import HealthEvent
from app.intake.models import HelpRequest, Need, Urgency
from app.intake.service import waiting_limit
from app.medicolegal.letter_models import Letter
from app.people.models import (
    Assignment,
    Identity,
    IdentityAlias,
    Person,
    PersonAarIndicator,
    PersonLanguage,
    PersonNameToken,
)
from app.people.names import reference_digest, token_rows
from app.referrals.models import NrmReferral, Organisation, Referral
from app.visits.models import PlannedVisit, Visit, VisitAarIndicator, VisitAddendum
from app.work.models import CaseNote, CaseNoteAddendum, Task

DEMO_USERS: list[tuple[str, str, Role]] = [
    ("admin@example.org", "Demo Admin (fictional)", Role.admin),
    ("coordinator@example.org", "Demo Coordinator (fictional)", Role.coordinator),
    ("clinician@example.org", "Dr Demo Clinician (fictional)", Role.clinician),
    ("researcher@example.org", "Demo Researcher (fictional)", Role.researcher),
    ("clinician2@example.org", "Dr Second Demo Clinician (fictional)", Role.clinician),
]

# Big enough that per-statement overhead vanishes, small enough that a batch's rows stay a few tens of MB.
BATCH_SIZE = 2_000

# No 0/O, 1/I/L: references are read aloud on the phone and copied from paper.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

# The clinician@example.org caseload stays small so that the demo shows a clinician's restricted view.
MAIN_CLINICIAN_CASELOAD = 20


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


PEOPLE = _table(Person)
IDENTITIES = _table(Identity)
IDENTITY_ALIASES = _table(IdentityAlias)
NAME_TOKENS = _table(PersonNameToken)
PERSON_LANGUAGES = _table(PersonLanguage)
PERSON_AAR = _table(PersonAarIndicator)
ASSIGNMENTS = _table(Assignment)
EPISODES = _table(DetentionEpisode)
PLACEMENTS = _table(Placement)
VISITS = _table(Visit)
VISIT_AAR = _table(VisitAarIndicator)
VISIT_ADDENDA = _table(VisitAddendum)
EVIDENCE = _table(EvidenceItem)
FINDINGS = _table(Finding)
RULE35 = _table(Rule35Record)
REFERRALS = _table(Referral)
NRM = _table(NrmReferral)
HEALTH_EVENTS = _table(HealthEvent)
CONSENTS = _table(Consent)
PERSON_KEYS = _table(PersonKey)
LEGAL_REPRESENTATIVES = _table(LegalRepresentative)
REPRESENTATIONS = _table(Representation)
REMOVALS = _table(RemovalDirection)
HEARINGS = _table(Hearing)
REQUESTS = _table(HelpRequest)
CASE_NOTES = _table(CaseNote)
CASE_NOTE_ADDENDA = _table(CaseNoteAddendum)
TASKS = _table(Task)
PLANNED_VISITS = _table(PlannedVisit)
LETTERS = _table(Letter)

# Parents before children, so that foreign keys hold at every statement. The tables after CONSENTS came later
# and draw from random streams of their own (see _Generator), so the rows before them stay as they were.
INSERT_ORDER = (
    PEOPLE, PERSON_KEYS, IDENTITIES, IDENTITY_ALIASES, NAME_TOKENS, PERSON_LANGUAGES, PERSON_AAR, ASSIGNMENTS,
    EPISODES, PLACEMENTS, VISITS, VISIT_AAR, VISIT_ADDENDA, EVIDENCE, FINDINGS, RULE35, REFERRALS, NRM,
    HEALTH_EVENTS, CONSENTS, LEGAL_REPRESENTATIVES, REPRESENTATIONS, REMOVALS, HEARINGS, REQUESTS,
    CASE_NOTES, CASE_NOTE_ADDENDA, TASKS, PLANNED_VISITS, LETTERS,
)
# Tables whose integer ids the generator assigns itself (the others are keyed by their parent).
ID_TABLES = tuple(t for t in INSERT_ORDER if "id" in t.c)


@dataclass
class SeedResult:
    """Rows inserted per table by one seed_demo call (all zero when the database already held people)."""

    people: int = 0
    episodes: int = 0
    placements: int = 0
    visits: int = 0
    evidence_items: int = 0
    findings: int = 0
    referrals: int = 0
    health_events: int = 0
    consents: int = 0
    rule35_records: int = 0
    assignments: int = 0
    identities: int = 0
    identity_aliases: int = 0
    name_tokens: int = 0
    person_languages: int = 0
    person_aar_indicators: int = 0
    visit_aar_indicators: int = 0
    visit_addenda: int = 0
    nrm_referrals: int = 0
    person_keys: int = 0
    legal_representatives: int = 0
    representations: int = 0
    removal_directions: int = 0
    hearings: int = 0
    requests: int = 0
    case_notes: int = 0
    case_note_addenda: int = 0
    tasks: int = 0
    planned_visits: int = 0
    letters: int = 0
    users_created: int = 0

    @property
    def created_people(self) -> int:
        return self.people

    @property
    def total_rows(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self) if f.name != "users_created")


_RESULT_FIELD = {
    PEOPLE: "people", IDENTITIES: "identities", IDENTITY_ALIASES: "identity_aliases", NAME_TOKENS: "name_tokens",
    PERSON_LANGUAGES: "person_languages", PERSON_AAR: "person_aar_indicators", ASSIGNMENTS: "assignments",
    EPISODES: "episodes", PLACEMENTS: "placements", VISITS: "visits", VISIT_AAR: "visit_aar_indicators",
    VISIT_ADDENDA: "visit_addenda", EVIDENCE: "evidence_items", FINDINGS: "findings",
    RULE35: "rule35_records", REFERRALS: "referrals", NRM: "nrm_referrals", HEALTH_EVENTS: "health_events",
    CONSENTS: "consents", PERSON_KEYS: "person_keys", LEGAL_REPRESENTATIVES: "legal_representatives",
    REPRESENTATIONS: "representations", REMOVALS: "removal_directions", HEARINGS: "hearings", REQUESTS: "requests",
    CASE_NOTES: "case_notes", CASE_NOTE_ADDENDA: "case_note_addenda", TASKS: "tasks",
    PLANNED_VISITS: "planned_visits", LETTERS: "letters",
}

# Sealed columns per table (app/crypto): (column, kind, where) for each SealedField of the table's model.
_SEALED: dict[Table, list[tuple[str, str, str]]] = {
    _table(model): [(f.where.split(".", 1)[1], f.kind, f.where) for f in sealed_fields(model)]
    for model in (Identity, IdentityAlias, Visit, VisitAddendum, EvidenceItem, Finding, Rule35Record, Referral,
                  HealthEvent, Consent, DetentionEpisode, CaseNote, CaseNoteAddendum, PlannedVisit, Letter)
}
_TASK_TITLE = next(f for f in sealed_fields(Task) if f.name == "title")
# A request for help is sealed with a data key of its own, wrapped on its row (app/crypto/keyring.request_key).
_REQUEST_SEALED = [(f.where.split(".", 1)[1], f.kind, f.where) for f in sealed_fields(HelpRequest)]


def _seal_batch(rows: dict[Table, list[dict[str, Any]]]) -> None:
    """Give each new person a data key and seal their rows' sealed columns with it, as the application would;
    each request for help gets a key of its own, wrapped for its reference (app/crypto/keyring.request_key)."""
    master = master_keyring()
    keys: dict[int, bytes] = {}
    now = datetime.now(UTC)
    for person in rows[PEOPLE]:
        key = keys[person["id"]] = new_key()
        wrapped, key_id = master.wrap(key, person_key_label(person["id"]))
        rows[PERSON_KEYS].append({"person_id": person["id"], "wrapped_key": wrapped, "master_key_id": key_id,
                                  "created_at": now, "rewrapped_at": None})
    person_of_visit = {row["id"]: row["person_id"] for row in rows[VISITS]}
    person_of_item = {row["id"]: row["person_id"] for row in rows[EVIDENCE]}
    for table, columns in _SEALED.items():
        for row in rows[table]:
            person_id = (person_of_visit[row["visit_id"]] if table is VISIT_ADDENDA
                         else person_of_item[row["evidence_item_id"]] if table is FINDINGS else row["person_id"])
            key = keys[person_id]
            for column, kind, where in columns:
                if row.get(column) is not None:
                    row[column] = seal_value(key, kind, row[column], where)
    for row in rows[TASKS]:
        title = row["title"]
        row["title"] = (unsealed_json(title) if row["person_id"] is None
                        else seal_value(keys[row["person_id"]], _TASK_TITLE.kind, title, _TASK_TITLE.where))
    for row in rows[REQUESTS]:
        key = new_key()
        row["wrapped_key"], row["master_key_id"] = master.wrap(key, request_key_label(row["reference"]))
        for column, kind, where in _REQUEST_SEALED:
            if row.get(column) is not None:
                row[column] = seal_value(key, kind, row[column], where)


def ensure_demo_users(session: Session, password: str) -> int:
    """Create the demo users that do not exist yet; return how many were created. Flushes, never commits."""
    if not password:
        raise ValueError("the demo users need a password")
    emails = [email for email, _, _ in DEMO_USERS]
    existing = set(session.scalars(select(User.email).where(User.email.in_(emails))))
    missing = [user for user in DEMO_USERS if user[0] not in existing]
    if not missing:
        return 0
    # argon2 is slow by design: one hash shared by every demo account keeps start-up quick.
    password_hash = hash_password(password)
    now = datetime.now(UTC)
    for email, display_name, role in missing:
        session.add(User(email=email, display_name=display_name, role=role, password_hash=password_hash,
                         is_active=True, created_at=now, password_changed_at=now))
    session.flush()
    return len(missing)


def seed_demo(engine: Engine, *, people: int, password: str, seed: int = 2026, today: date | None = None,
              progress: Callable[[int], None] | None = None) -> SeedResult:
    """Fill an empty case database with `people` fictional people and their records.

    Does nothing (and returns zero counts) when any person already exists, so it is safe to run on every
    start. Commits once per batch and reports each finished batch's size to `progress`.
    """
    if people < 0:
        raise ValueError("people must be zero or more")
    with Session(engine) as session:
        if session.scalar(select(Person.id).limit(1)) is not None:
            return SeedResult()
        users_created = ensure_demo_users(session, password)
        session.commit()

    if people == 0:
        return SeedResult(users_created=users_created)
    # UTC's date is never later than the organisation's (UK) date, so nothing lands in its future.
    generator = _Generator(engine, people=people, seed=seed, today=today or datetime.now(UTC).date())
    result = SeedResult(users_created=users_created)
    with engine.connect() as connection, _large_sqlite_cache(connection):
        with connection.begin():
            generator.index_key = index_key_for_connection(connection)
        for first in range(0, people, BATCH_SIZE):
            count = min(BATCH_SIZE, people - first)
            rows = generator.batch(first, count)
            _seal_batch(rows)
            with connection.begin():
                for table in INSERT_ORDER:
                    if rows[table]:
                        connection.execute(table.insert(), rows[table])
                if connection.dialect.name == "postgresql":
                    # Ids were chosen here, not drawn from the sequences: move the sequences past the new
                    # rows in the same transaction, so that later inserts by the application cannot collide.
                    _advance_sequences(connection)
            for table, table_rows in rows.items():
                field = _RESULT_FIELD[table]
                setattr(result, field, getattr(result, field) + len(table_rows))
            if progress is not None:
                progress(count)
    with Session(engine) as session:  # through the ORM: reports are drafted from the records loaded above
        _, consents = demo_medicolegal.seed(session, date.fromordinal(generator.today))
        session.commit()
    result.consents += consents
    refresh_alert_states(engine)
    refresh_statistics(engine)
    return result


def refresh_alert_states(engine: Engine) -> int:
    """Works out every case's alert flags after a bulk load, which bypasses the session hook that marks them."""
    from app.alerts import service as alerts
    from app.alerts import state
    from app.alerts.models import PersonAlertState
    from app.config import get_settings, organisation_today

    settings = get_settings()
    with Session(engine) as session:
        state.refresh(session, alerts.Cutoffs.for_day(organisation_today(settings), settings), settings.zone,
                      everyone=True)
        count = session.scalar(select(func.count()).select_from(PersonAlertState)) or 0
        session.commit()
    return count


@contextmanager
def _large_sqlite_cache(connection: Connection) -> Iterator[None]:
    """Give SQLite a 256 MB page cache while seeding: index pages stay cached as the file grows past the
    default 2 MB cache. The pooled connection gets its usual setting back afterwards."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql("PRAGMA cache_size = -262144")
    connection.commit()
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")
        connection.commit()


def _advance_sequences(connection: Connection) -> None:
    for table in ID_TABLES:
        sequence = func.pg_get_serial_sequence(table.name, "id")
        highest = select(func.max(table.c.id)).scalar_subquery()
        connection.execute(select(func.setval(sequence, highest)).where(highest.is_not(None)))


_DEMO_INTERPRETERS = ("Demo Interpreter One (fictional)", "Demo Interpreter Two (fictional)",
                      "Demo Interpreting Agency (fictional)")
_VISITOR_NOTES = ("Report to the legal visits desk 20 minutes early.", "Bring photo ID and the booking e-mail.",
                  "Ask healthcare for the latest medication list beforehand.")

T = TypeVar("T")
_MINUTES = [timedelta(minutes=m) for m in range(24 * 60)]
# A stretch of detention inside the case's open period: first day, last day (ordinals), and its placements as
# (date in, date out or None, facility id).
_Window = tuple[int, int, list[tuple[int, int | None, int]]]


class _Weighted(Generic[T]):
    """A weighted choice with the cumulative weights worked out once (random.choices redoes them per call)."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


class _FastRandom(random.Random):
    """random.Random with integer draws scaled from random().

    A 100,000-person seed makes tens of millions of draws; these are several times cheaper than the exact
    originals, and their bias (about n / 2**53 for a range of n) does not matter for demo data.
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            start, stop = 0, start
        if step != 1 or stop <= start:
            return super().randrange(start, stop, step)
        return start + int(self.random() * (stop - start))

    def choice(self, seq: Sequence[T]) -> T:  # type: ignore[override]  # takes Sequence, narrower than Random's
        return seq[int(self.random() * len(seq))]


# Home Office length-of-detention bands as day counts (the start date is day 1). Each range sits inside its
# band whichever way months are counted (calendar months or 30-day months), so a clock computing bands by
# either convention files the person in the same band.
_BANDS = (
    (1, 3), (4, 7), (8, 14), (15, 28), (29, 57), (64, 87), (94, 118), (125, 179), (186, 363), (368, 544),
    (551, 728), (733, 1093), (1098, 1458), (1463, 2400),
)
# People in detention today skew longer than completed detentions, as in the published statistics.
_CURRENT_BAND = _Weighted(list(zip(_BANDS, (5, 6, 8, 11, 13, 12, 9, 10, 10, 6, 3.5, 3, 2, 1.5), strict=True)))
_PAST_BAND = _Weighted(list(zip(_BANDS, (16, 15, 14, 14, 12, 8, 5, 5, 5, 2.5, 1.2, 1, 0.6, 0.3),
                                strict=True)))

# Why a case that did not end in removal was closed.
_CLOSING_REASONS = ("released_supported", "released_supported", "no_longer_needed", "lost_contact")
# Many people left detention recently; some long ago (closed or dormant cases).
_DAYS_SINCE_RELEASE = _Weighted([((0, 90), 40), ((91, 730), 40), ((731, 2000), 20)])
_EPISODE_COUNT = _Weighted([(1, 60), (2, 30), (3, 10)])
_FINAL_END_REASON = _Weighted([("removed", 30), ("bailed", 25), ("released_temporary_admission", 25),
                               ("granted_leave", 8), ("transferred_to_prison", 5), ("hospital", 3),
                               ("other", 4)])
# An earlier episode ended without removal: the person was later detained again in the UK.
_EARLIER_END_REASON = _Weighted([("bailed", 40), ("released_temporary_admission", 35),
                                 ("transferred_to_prison", 10), ("hospital", 5), ("other", 10)])
_STATUS_AFTER = {"removed": "removed", "bailed": "released", "released_temporary_admission": "released",
                 "granted_leave": "released", "hospital": "released", "transferred_to_prison": "unknown",
                 "other": "unknown", "died": "unknown"}
_PLACEMENT_COUNT = _Weighted([(1, 52), (2, 32), (3, 12), (4, 4)])
_SEX = _Weighted([("male", 82), ("female", 16), ("intersex", 0.5), ("not_recorded", 1.5)])
_NATIONALITY = _Weighted([((code, language), weight) for code, language, weight in names.NATIONALITIES])
_BIRTH_PRECISION = _Weighted([("exact", 45), ("year", 20), ("approximate", 15), ("disputed", 12),
                              ("unknown", 8)])
_AAR_LEVEL = _Weighted([(1, 35), (2, 50), (3, 15)])
_AAR_SOURCE = _Weighted([("self_declared", 30), ("professional_evidence", 45), ("home_office", 25)])
_VISIT_MODE = _Weighted([("in_person", 55), ("legal_visit_room", 15), ("phone", 20), ("video", 10)])
_RISK = _Weighted([("none", 35), ("low", 30), ("moderate", 20), ("high", 8), (None, 7)])
_EVIDENCE_KIND = _Weighted([("medico_legal_report", 15), ("gp_records", 20), ("hospital_letter", 8),
                            ("psychiatric_report", 10), ("photographs", 10), ("body_map", 10),
                            ("home_office_response", 12), ("rule35_report", 5), ("other", 5)])
_LESION_KINDS = frozenset({"medico_legal_report", "photographs", "body_map", "rule35_report"})
_CONSISTENCY = _Weighted([("not_consistent", 5), ("consistent", 35), ("highly_consistent", 35),
                          ("typical", 18), ("diagnostic", 4), (None, 3)])
# The coded regions each demo site in words may be (names.BODY_REGIONS), and what each demo description says of
# its lesion: type, length and width in millimetres, shape, colour.
_DEMO_REGION_CODES: dict[str, tuple[str, ...]] = {
    "head": ("F-HEAD", "B-HEAD"), "face": ("F-FACE",), "neck": ("F-NECK", "B-NECK"),
    "chest": ("F-CHEST-L", "F-CHEST-R"), "abdomen": ("F-ABDOMEN",), "upper back": ("B-BACK-UPPER",),
    "lower back": ("B-BACK-LOWER",), "genital area": ("F-GROIN",), "buttocks": ("B-BUTTOCK-L", "B-BUTTOCK-R"),
    "soles of feet": ("B-SOLE-L", "B-SOLE-R"),
    **{f"{side} {part}": (f"F-{code}-{side[0].upper()}", f"B-{code}-{side[0].upper()}")
       for side in ("left", "right")
       for part, code in (("upper arm", "ARM-UPPER"), ("forearm", "FOREARM"), ("hand", "HAND"),
                          ("thigh", "THIGH"), ("lower leg", "LEG-LOWER"))},
}
_DEMO_LESIONS: dict[str, tuple[str, int | None, int | None, str | None, str | None]] = {
    "Linear hyperpigmented scar, 6 cm": ("scar", 60, None, "Linear", "Hyperpigmented"),
    "Round atrophic scar, 1 cm, consistent in size with a cigarette burn": ("scar", 10, 10, "Round", "Pale"),
    "Irregular hypertrophic scar, 4 x 2 cm": ("scar", 40, 20, "Irregular", "Pink"),
    "Parallel tramline scars": ("scar", 80, 15, "Parallel lines (tramline)", "Hyperpigmented"),
    "Healed fracture deformity": ("fracture_deformity", None, None, None, None),
    "Circumferential scarring at the wrist": ("scar", 150, 10, "Circumferential band", "Pale"),
    "Reported chronic pain without visible lesion": ("other", None, None, None, None),
}
_LESION_AGE = _Weighted([("months", 20), ("over_6_months", 30), ("years", 40), ("weeks", 7), ("recent", 3)])
_OVERALL_EVALUATION = _Weighted([("consistent", 30), ("highly_consistent", 40), ("typical", 15),
                                 ("diagnostic", 5), ("not_consistent", 2), (None, 8)])
_R35_COUNT = _Weighted([(0, 62), (1, 26), (2, 12)])
_R35_LIMB = _Weighted([("35_3", 45), ("35_1", 35), ("35_2", 20)])
_REFERRAL_STATUS = _Weighted([("draft", 5), ("sent", 20), ("accepted", 25), ("declined", 10),
                              ("completed", 25), ("no_response", 15)])
_NRM_DECISION = _Weighted([("positive", 70), ("negative", 25), ("withdrawn", 5)])
_CG_DECISION = _Weighted([("positive", 75), ("negative", 20), ("withdrawn", 5)])
_HEALTH_EVENT_COUNT = _Weighted([(0, 22), (1, 24), (2, 20), (3, 16), (4, 10), (5, 8)])
_HEALTH_EVENT_KIND = _Weighted([("self_harm", 14), ("acdt_opened", 12), ("food_refusal", 10),
                                ("fluid_refusal", 4), ("segregation", 8), ("use_of_force", 8),
                                ("hospital_transfer", 6),
                                ("missed_appointment", 16)])
# Hours an episode of each kind lasts (low, high); kinds not listed are single moments.
_HEALTH_EVENT_HOURS = {"food_refusal": (12, 240), "fluid_refusal": (6, 72), "segregation": (24, 14 * 24),
                       "hospital_transfer": (3, 72)}
_BAIL_OUTCOME = _Weighted([("refused", 55), ("granted", 15), ("withdrawn", 15), ("pending", 15)])
# Removal directions still set for the first people in detention who have one, as hours from now: one within
# 24 hours, two more within the 72 of removal_imminent, two later in the week; the rest anywhere in 45 days.
_REMOVAL_SLOTS = ((3, 20), (26, 70), (30, 70), (80, 160), (100, 165))
# Hearings still to come for the first people in detention who have one, as (days from today, kind): two
# tomorrow (inside hearing_soon's two days), the rest later in the week.
_HEARING_SLOTS = ((1, "bail"), (1, "appeal"), (2, "bail"), (4, "judicial_review"), (6, "bail"))
_HEARING_KIND = _Weighted([("bail", 60), ("appeal", 25), ("judicial_review", 12), ("other", 3)])
_HEARING_OUTCOMES = {"bail": ("granted", "refused", "refused", "withdrawn", "adjourned"),
                     "appeal": ("allowed", "dismissed", "dismissed", "adjourned", "withdrawn"),
                     "judicial_review": ("granted", "refused", "refused", "withdrawn"),
                     "other": ("adjourned", "withdrawn", "granted")}
# A bail application on the episode (its last_bail_outcome) as heard at the tribunal.
_BAIL_HEARD = {"granted": "granted", "refused": "refused", "withdrawn": "withdrawn", "pending": "adjourned"}
_HEARING_MINUTES = (9 * 60 + 30, 10 * 60, 14 * 60)
_CHANNEL = _Weighted([("phone", 35), ("email", 25), ("online_form", 20), ("letter", 5), ("in_person", 15)])
_REQUESTER = _Weighted([("self", 25), ("legal_representative", 30), ("visitor_group", 20), ("charity", 10),
                        ("healthcare", 10), ("other", 5)])
_URGENCY = _Weighted([("immediate", 20), ("this_week", 45), ("routine", 35)])
_NEEDS = [need.value for need in Need]
_INDICATOR_CHANCE = (("mental_health", 0.40), ("torture", 0.30), ("ptsd", 0.25), ("trafficking", 0.12),
                     ("physical_illness", 0.10), ("physical_disability", 0.04))


def _spelling_variant(rng: random.Random, name: str) -> str:
    lowered = name.lower()
    swaps = [(old, new) for old, new in names.SPELLING_SWAPS if old in lowered[1:]]
    if not swaps:
        return name + "h"
    old, new = rng.choice(swaps)
    at = lowered.index(old, 1)
    return name[:at] + new + name[at + len(old):]


class _Generator:
    """Builds rows batch by batch from one seeded random stream, numbering primary keys itself."""

    def __init__(self, engine: Engine, *, people: int, seed: int, today: date) -> None:
        self.rng = _FastRandom(seed)
        self.today = today.toordinal()
        midnight = datetime.combine(today, time(), UTC)
        self.midnight_today = midnight
        self.now = min(datetime.now(UTC), midnight + timedelta(hours=23, minutes=59))
        self.midnights: dict[int, datetime] = {}
        self.references: set[str] = set()
        self.home_office_references: set[str] = set()
        self.detained_so_far = 0
        self.index_key = b""  # the blind-index key, set by seed_demo before the first batch
        # One stream per later concern, so that adding them left every value drawn from self.rng as it was.
        self.representation_rng = _FastRandom(f"{seed}-representatives")
        self.removal_rng = _FastRandom(f"{seed}-removals")
        self.hearing_rng = _FastRandom(f"{seed}-hearings")
        self.intake_rng = _FastRandom(f"{seed}-intake")
        self.work_rng = _FastRandom(f"{seed}-work")
        self.planning_rng = _FastRandom(f"{seed}-planning")
        self.zone = get_settings().zone  # planned visits are booked in the organisation's time of day
        self.planned_for_others = 0
        self.body_rng = _FastRandom(f"{seed}-body-diagram")
        self.removal_slots = list(_REMOVAL_SLOTS)
        self.hearing_slots = list(_HEARING_SLOTS)
        self.request_references: set[str] = set()
        self.waiting_limits = {urgency: waiting_limit(urgency) for urgency in Urgency}
        # The register of legal representatives (made with the first batch): ids by firm, and each one's contact.
        self.firm_representatives: dict[str, list[int]] = defaultdict(list)
        self.active_representatives: list[int] = []
        self.representative_contacts: dict[int, tuple[str, str | None, str, str]] = {}
        self.former_representative = 0
        self.former_until = 0

        with engine.connect() as connection:
            users = dict(connection.execute(
                select(User.email, User.id).where(User.email.in_([e for e, _, _ in DEMO_USERS]))).all())
            self.next_id = {t: (connection.scalar(select(func.max(t.c.id))) or 0) + 1 for t in ID_TABLES}
            facility_rows = connection.execute(select(Facility.id, Facility.type, Facility.is_active,
                                                       Facility.name)).all()
            organisation_rows = connection.execute(
                select(Organisation.id, Organisation.type).where(Organisation.is_active)).all()
            if not organisation_rows:
                organisation_rows = connection.execute(select(Organisation.id, Organisation.type)).all()
        if not facility_rows or not organisation_rows:
            raise RuntimeError("no facilities or organisations: run the migrations (they seed both) first")
        self.coordinator = users["coordinator@example.org"]
        self.clinician = users["clinician@example.org"]
        self.clinician2 = users["clinician2@example.org"]

        def ids(*types: str, active: bool | None = True) -> list[int]:
            return [f.id for f in facility_rows
                    if f.type in types and (active is None or f.is_active == active)]

        everything = [f.id for f in facility_rows]
        self.facility_names = {f.id: f.name for f in facility_rows}  # for the demo letters
        self.ircs = ids("irc") or everything
        # Closed centres appear only in detentions that ended years ago.
        self.closed_ircs = ids("irc", active=False)
        self.short_term = ids("sthf", "holding_room")
        self.prisons = ids("prison") or self.ircs
        self.organisations = [o.id for o in organisation_rows]
        self.first_responders = [o.id for o in organisation_rows if o.type == "nrm_first_responder"]

        caseload = min(MAIN_CLINICIAN_CASELOAD, max(1, people // 5)) if people else 0
        self.main_clinician_people = set(self.rng.sample(range(people), caseload))
        self.rows: dict[Table, list[dict[str, Any]]] = {}

    # -- helpers -------------------------------------------------------------------------------------------

    def _id(self, table: Table) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def _at(self, day: int, minute: int | None = None) -> datetime:
        """A UTC timestamp on the given day (ordinal), never later than now."""
        if minute is None:
            minute = self.rng.randint(8 * 60, 19 * 60)
        midnight = self.midnights.get(day)
        if midnight is None:
            midnight = self.midnights[day] = self.midnight_today + timedelta(days=day - self.today)
        stamp = midnight + _MINUTES[minute]
        return stamp if stamp < self.now else self.now

    def _reference(self) -> str:
        rng = self.rng
        while True:
            chars = rng.choices(REFERENCE_ALPHABET, k=8)
            reference = "".join(chars[:4]) + "-" + "".join(chars[4:])
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def _home_office_reference(self) -> str:
        # Unique like the real thing, so that a search by reference finds one person.
        while True:
            reference = f"DEMO-{self.rng.randrange(10**7):07d}"
            if reference not in self.home_office_references:
                self.home_office_references.add(reference)
                return reference

    def _day_in(self, windows: list[_Window]) -> tuple[int, int | None]:
        """A day drawn evenly over the detention windows, with the facility the person was in that day."""
        total = sum(b - a + 1 for a, b, _ in windows)
        offset = self.rng.randrange(total)
        for a, b, placements in windows:
            length = b - a + 1
            if offset < length:
                day = a + offset
                facility = placements[0][2]
                for date_in, _, facility_id in placements:
                    if date_in <= day:
                        facility = facility_id
                return day, facility
            offset -= length
        raise AssertionError("offset beyond the windows")

    # -- one batch -----------------------------------------------------------------------------------------

    def batch(self, first: int, count: int) -> dict[Table, list[dict[str, Any]]]:
        self.rows = {table: [] for table in INSERT_ORDER}
        if first == 0:
            self._register()
        for index in range(first, first + count):
            self._person(index)
        if first == 0:
            self._request_queue()
            self._own_tasks()
        return self.rows

    def _person(self, index: int) -> None:
        rng = self.rng
        today = self.today
        person_id = self._id(PEOPLE)
        mine = index in self.main_clinician_people
        detained = rng.random() < (0.5 if mine else 0.25)

        # Detention history, built backwards from the most recent episode.
        episodes: list[tuple[int, int | None, str | None]] = []
        if detained:
            if self.detained_so_far < len(_BANDS):
                # The first people in detention take one band each, so that every band is populated.
                low, high = _BANDS[self.detained_so_far]
            else:
                low, high = _CURRENT_BAND.pick(rng)
            self.detained_so_far += 1
            start = today - rng.randint(low, high) + 1
            episodes.append((start, None, None))
        else:
            end = today - rng.randint(*_DAYS_SINCE_RELEASE.pick(rng))
            low, high = _PAST_BAND.pick(rng)
            start = end - rng.randint(low, high) + 1
            episodes.append((start, end, _FINAL_END_REASON.pick(rng)))
        for _ in range(_EPISODE_COUNT.pick(rng) - 1):
            end = episodes[-1][0] - rng.randint(20, 700)
            low, high = _PAST_BAND.pick(rng)
            episodes.append((end - rng.randint(low, high) + 1, end, _EARLIER_END_REASON.pick(rng)))
        episodes.reverse()
        last_start, last_end, last_reason = episodes[-1]
        status = "detained" if detained else _STATUS_AFTER[cast(str, last_reason)]

        # The case opens during the first or the latest detention; earlier history is recorded after the fact.
        open_start, open_end, _ = episodes[0] if rng.random() < 0.5 else episodes[-1]
        opened = min(open_start + rng.randint(0, 20), open_end if open_end is not None else today)
        closed: int | None = None
        # clinician@'s few people stay open cases, so the demo clinician's caseload looks current.
        if last_end is not None and not mine:
            if status == "removed":
                closed = min(today, last_end + rng.randint(0, 30))
            elif rng.random() < 0.5:
                candidate = last_end + rng.randint(30, 365)
                closed = candidate if candidate <= today else None
        active_until = closed if closed is not None else today

        # Person and identity.
        sex = _SEX.pick(rng)
        nationality: str | None
        stateless = rng.random() < 0.02
        if stateless:
            nationality, language = None, rng.choice(("Arabic", "Kurdish Kurmanji", "Rohingya"))
        else:
            nationality, language = _NATIONALITY.pick(rng)
        interpreter_needed = language != "English" and rng.random() < 0.85
        age = rng.randint(70, 79) if rng.random() < 0.01 else int(rng.triangular(18, 69, 29))
        precision = _BIRTH_PRECISION.pick(rng)
        birth_year = None if precision == "unknown" else date.fromordinal(today).year - age
        birth_date = None
        if precision == "exact" and birth_year is not None:
            birth_date = date(birth_year, 1, 1) + timedelta(days=rng.randrange(365))

        indicators = [name for name, chance in _INDICATOR_CHANCE if rng.random() < chance]
        if rng.random() < (0.30 if sex == "female" else 0.06):
            indicators.append("sexual_gbv")
        if sex == "female" and age <= 45 and rng.random() < 0.05:
            indicators.append("pregnancy")
        if age >= 70:
            indicators.append("aged_70_plus")
        gender_identity = None
        if sex == "intersex" or rng.random() < 0.005:
            gender_identity = "Self-described (demo)"
            indicators.append("transsexual_intersex")

        aar_level = aar_level_date = aar_level_source = None
        if indicators and rng.random() < 0.45:
            aar_level = _AAR_LEVEL.pick(rng)
            aar_level_date = date.fromordinal(rng.randint(opened, active_until))
            aar_level_source = _AAR_SOURCE.pick(rng)

        created_at = self._at(opened)
        self.rows[PEOPLE].append({
            "id": person_id, "reference": self._reference(), "status": status, "sex": sex,
            "gender_identity": gender_identity, "nationality": nationality, "stateless": stateless,
            "interpreter_needed": interpreter_needed, "birth_date": birth_date, "birth_year": birth_year,
            "birth_precision": precision, "aar_level": aar_level, "aar_level_date": aar_level_date,
            "aar_level_source": aar_level_source,
            "lead_coordinator_id": self.coordinator if rng.random() < 0.9 else None,
            "opened_date": date.fromordinal(opened),
            "closed_date": date.fromordinal(closed) if closed is not None else None,
            # From the dates, not the random stream, so that everything drawn after it stays as it was.
            "closing_reason": None if closed is None else "removed" if status == "removed"
            else _CLOSING_REASONS[closed % len(_CLOSING_REASONS)],
            "version": 1, "created_at": created_at, "updated_at": max(created_at, self._at(active_until)),
        })

        given = rng.choice(names.GIVEN_NAMES)
        given_names = given + (" " + rng.choice(names.GIVEN_NAMES) if rng.random() < 0.25 else "")
        family = rng.choice(names.FAMILY_NAMES)
        ho_reference = self._home_office_reference() if rng.random() < 0.95 else None
        self.rows[IDENTITIES].append({
            "person_id": person_id, "given_names": given_names, "family_name": family,
            "home_office_reference": ho_reference,
            "home_office_reference_digest": reference_digest(self.index_key, ho_reference),
            "port_reference": f"DEMO-PORT-{rng.randrange(10**6):06d}" if rng.random() < 0.2 else None,
            "cid_number": f"DEMO-CID-{rng.randrange(10**7):07d}" if rng.random() < 0.3 else None,
            "other_numbers": None,
            # Ofcom's drama range: numbers that are never allocated to a real phone.
            "phone_in_detention": (f"07700 900{rng.randrange(1000):03d}"
                                   if detained and rng.random() < 0.7 else None),
        })
        # Drawn here, where the identity's free-text representative once was, so that every later draw stays put.
        legal_choice = rng.choice(names.LEGAL_REPRESENTATIVES)
        aliases: list[str] = []
        if rng.random() < 0.2:
            aliases.append(f"{_spelling_variant(rng, given)} {_spelling_variant(rng, family)}")
            self.rows[IDENTITY_ALIASES].append({
                "id": self._id(IDENTITY_ALIASES), "person_id": person_id, "kind": "spelling", "name": aliases[-1],
            })
            if rng.random() < 0.4:
                aliases.append(f"{rng.choice(names.GIVEN_NAMES)} {rng.choice(names.FAMILY_NAMES)}")
                self.rows[IDENTITY_ALIASES].append({
                    "id": self._id(IDENTITY_ALIASES), "person_id": person_id, "kind": "alias", "name": aliases[-1],
                })
        self.rows[NAME_TOKENS].extend(token_rows(self.index_key, person_id, given_names, family, aliases))

        self._languages_and_indicators(person_id, language, indicators, opened, active_until)

        # Clinician assignment: clinician@ keeps a small caseload; clinician2@ holds or held the rest.
        clinician = self.clinician if mine else self.clinician2
        ended_at = None
        if not mine:
            if closed is not None:
                ended_at = self._at(closed)
            elif not detained and rng.random() < 0.4:
                ended_at = self._at(min(today, cast(int, last_end) + rng.randint(0, 60)))
        assigned_at = self._at(opened, 7 * 60)
        self.rows[ASSIGNMENTS].append({
            "id": self._id(ASSIGNMENTS), "person_id": person_id, "clinician_id": clinician,
            "assigned_by_id": self.coordinator, "assigned_at": assigned_at,
            "ended_at": max(ended_at, assigned_at) if ended_at is not None else None,
        })

        windows = self._episodes(person_id, episodes, opened, active_until)
        after_release = None
        if last_end is not None and last_end < active_until:
            after_release = (last_end + 1, min(active_until, last_end + 120))

        context = _Case(person_id, clinician, given, family, ho_reference, language, interpreter_needed,
                        indicators, opened, active_until, windows, after_release, episodes,
                        given_names=given_names, nationality=nationality, birth_year=birth_year,
                        phone=self.rows[IDENTITIES][-1]["phone_in_detention"])
        self._visits(context)
        self._evidence_and_rule35(context)
        self._referrals(context)
        self._health_events(context)
        self._consents(context)
        self._case_life(context, legal_choice)

    def _languages_and_indicators(self, person_id: int, language: str, indicators: list[str], opened: int,
                                  active_until: int) -> None:
        rng = self.rng
        self.rows[PERSON_LANGUAGES].append({"person_id": person_id, "language": language, "is_main": True})
        if rng.random() < 0.45:
            second = rng.choice(names.SECOND_LANGUAGES)
            if second != language:
                self.rows[PERSON_LANGUAGES].append(
                    {"person_id": person_id, "language": second, "is_main": False})
        for indicator in indicators:
            self.rows[PERSON_AAR].append({
                "person_id": person_id, "indicator": indicator,
                "recorded_date": date.fromordinal(min(active_until, opened + rng.randint(0, 30))),
            })

    def _case_life(self, case: _Case, legal_choice: str | None) -> None:
        """The records added after the first demo: each builder draws from its own stream, never self.rng.
        No handovers: they pass a case between coordinators, and the demo has one."""
        representative = self._representation(case, legal_choice)
        self._removals(case)
        # _episodes has just added this person's episodes, one row each, last.
        self._hearings(case, self.rows[EPISODES][-len(case.episodes):])
        self._requests(case, representative)
        self._daily_work(case)
        self._planned_visits(case)
        demo_letters.add(self, case)

    def _episodes(self, person_id: int, episodes: list[tuple[int, int | None, str | None]], opened: int,
                  active_until: int) -> list[_Window]:
        """Add episodes and their placements; return the detained stretches within the case's open period."""
        rng = self.rng
        today = self.today
        windows = []
        for start, end, reason in episodes:
            episode_id = self._id(EPISODES)
            last = end if end is not None else today
            length = last - start + 1
            bail_date = bail_outcome = None
            if length > 14 and rng.random() < 0.4:
                if reason == "bailed":
                    bail_day, bail_outcome = max(start, last - rng.randint(0, 3)), "granted"
                else:
                    bail_day = rng.randint(start + 7, last)
                    bail_outcome = _BAIL_OUTCOME.pick(rng)
                    if bail_outcome == "granted" and end is None:
                        bail_outcome = "refused"
                    if bail_outcome == "pending" and last - bail_day > 21:
                        bail_outcome = "refused"
                bail_date = date.fromordinal(bail_day)
            self.rows[EPISODES].append({
                "id": episode_id, "person_id": person_id, "start_date": date.fromordinal(start),
                "end_date": date.fromordinal(end) if end is not None else None, "end_reason": reason,
                "last_bail_application_date": bail_date, "last_bail_outcome": bail_outcome,
                "notes": rng.choice(names.EPISODE_NOTES),
            })

            count = min(_PLACEMENT_COUNT.pick(rng), length)
            cuts = sorted(rng.sample(range(start + 1, last + 1), count - 1)) if count > 1 else []
            short_first = count > 1 and bool(self.short_term) and rng.random() < 0.4
            if short_first:
                # Arrivals often spend a night or two in a short-term holding facility first.
                cuts[0] = min(cuts[0], start + rng.randint(1, 2))
            # Placement i runs from starts[i] to ends[i]: only the last can be open (when the episode is).
            starts = [start, *cuts]
            ends: list[int | None] = [*cuts, end]
            placements: list[tuple[int, int | None, int]] = []
            previous = None
            for i in range(count):
                date_in, date_out = starts[i], ends[i]
                if i == 0 and short_first:
                    facility = rng.choice(self.short_term)
                else:
                    pool = self.ircs
                    if rng.random() < 0.08:
                        pool = self.prisons
                    elif self.closed_ircs and date_out is not None and date_out < today - 5 * 365 \
                            and rng.random() < 0.3:
                        pool = self.closed_ircs
                    facility = rng.choice(pool)
                    if facility == previous and len(self.ircs) > 1:
                        facility = rng.choice([f for f in self.ircs if f != previous])
                previous = facility
                placements.append((date_in, date_out, facility))
                # Most arrivals have the centre GP's examination recorded within a few hours; a few never do,
                # so that the admission-exam alert has something to show.
                arrived_at = self._at(date_in)
                exam_at = (arrived_at + timedelta(minutes=rng.randint(20, 20 * 60))
                           if rng.random() < 0.93 else None)
                self.rows[PLACEMENTS].append({
                    "id": self._id(PLACEMENTS), "episode_id": episode_id, "facility_id": facility,
                    "date_in": date.fromordinal(date_in),
                    "date_out": date.fromordinal(date_out) if date_out is not None else None,
                    "arrived_at": arrived_at,
                    "gp_exam_at": exam_at if exam_at is None or exam_at <= self.now else None,
                })
            a, b = max(start, opened), min(last, active_until)
            if a <= b:
                windows.append((a, b, placements))
        return windows

    def _visits(self, case: _Case) -> None:
        rng = self.rng
        today = self.today
        count = rng.randint(4, 16)
        detained_days = sum(b - a + 1 for a, b, _ in case.windows)
        if case.after_release is None:
            # Someone detained only days ago cannot have had a dozen visits yet.
            count = min(count, max(1, detained_days))
        # Short detentions leave little time to visit: more of the follow-up then happens by phone afterwards.
        post_share = 0.15 if detained_days >= 2 * count else 0.6
        for _ in range(count):
            if case.after_release and (not case.windows or rng.random() < post_share):
                day = rng.randint(*case.after_release)
                facility = None
                mode = rng.choice(("phone", "video"))
            elif case.windows:
                day, facility = self._day_in(case.windows)
                mode = _VISIT_MODE.pick(rng)
            else:
                continue
            visit_id = self._id(VISITS)
            interpreter = case.interpreter_needed and rng.random() < 0.9
            concerns = rng.choice(names.PRESENTING_CONCERNS)
            # A few notes name the person, as real typed-up notes do: the narrative scrubber must catch them.
            if rng.random() < 0.08:
                concerns = f"{case.given} {case.family}: {concerns}"
            actions = rng.choice(names.ACTIONS_TEXT)
            if case.ho_reference and rng.random() < 0.03:
                actions += f" Home Office ref {case.ho_reference} quoted."
            draft = rng.random() < (0.35 if today - day <= 14 else 0.02)
            created_at = self._at(day + rng.randint(0, 2))
            signed_at = None if draft else min(created_at + timedelta(minutes=rng.randint(10, 600)), self.now)
            self.rows[VISITS].append({
                "id": visit_id, "person_id": case.person_id, "clinician_id": case.clinician, "visit_date":
                date.fromordinal(day), "facility_id": facility, "mode": mode, "interpreter_used": interpreter,
                "interpreter_language": case.language if interpreter else None,
                "duration_minutes": rng.randint(10, 60) if mode == "phone" else rng.randint(20, 150),
                "presenting_concerns": concerns, "findings": rng.choice(names.FINDINGS_TEXT),
                "risk": _RISK.pick(rng), "actions": actions,
                "follow_up_date": date.fromordinal(day + rng.randint(3, 28)) if rng.random() < 0.7 else None,
                "status": "draft" if draft else "signed", "signed_at": signed_at,
                "signed_by_id": None if draft else case.clinician,
                "created_at": created_at, "updated_at": signed_at or created_at,
            })
            if case.indicators and rng.random() < 0.3:
                for indicator in rng.sample(case.indicators, min(len(case.indicators), rng.randint(1, 2))):
                    self.rows[VISIT_AAR].append({"visit_id": visit_id, "indicator": indicator})
            if signed_at is not None and rng.random() < 0.03:
                self.rows[VISIT_ADDENDA].append({
                    "id": self._id(VISIT_ADDENDA), "visit_id": visit_id, "author_id": case.clinician,
                    "created_at": min(signed_at + timedelta(days=rng.randint(1, 10)), self.now),
                    "text": "Correction: follow-up arranged by phone rather than in person.",
                })

    def _evidence_item(self, case: _Case, kind: str, issued: int) -> int:
        rng = self.rng
        evidence_id = self._id(EVIDENCE)
        received = min(self.today, issued + rng.randint(0, 30))
        author = rng.choice(names.GP_AUTHORS if kind == "rule35_report" else names.EXTERNAL_AUTHORS)
        high = kind in ("photographs", "body_map") or (kind == "medico_legal_report" and rng.random() < 0.5)
        self.rows[EVIDENCE].append({
            "id": evidence_id, "person_id": case.person_id, "kind": kind, "author": author,
            "issued_date": date.fromordinal(issued), "received_date": date.fromordinal(received),
            "summary": rng.choice(names.EVIDENCE_SUMMARIES), "sensitivity": "high" if high else "standard",
            "created_by_id": case.clinician if rng.random() < 0.5 else self.coordinator,
            "created_at": self._at(received),
            **self._overall_evaluation(kind),
        })
        if kind in _LESION_KINDS and rng.random() < 0.7:
            for _ in range(rng.randint(1, 3)):
                finding_id = self._id(FINDINGS)
                site, description = rng.choice(names.BODY_REGIONS), rng.choice(names.FINDING_DESCRIPTIONS)
                self.rows[FINDINGS].append({
                    "id": finding_id, "evidence_item_id": evidence_id, "body_region": site,
                    "description": description, "attributed_cause": rng.choice(names.ATTRIBUTED_CAUSES),
                    "consistency": _CONSISTENCY.pick(rng), **self._coded_finding(site, description),
                })
        return evidence_id

    def _coded_finding(self, site: str, description: str) -> dict[str, Any]:
        """The body-diagram fields of a demo finding: a region code for the site in words (front or back drawn
        from a stream of its own, so every value drawn before stays as it was) and the lesion its description
        names."""
        rng = self.body_rng
        lesion_type, length, width, shape, colour = _DEMO_LESIONS[description]
        return {"region_code": rng.choice(_DEMO_REGION_CODES[site]), "lesion_type": lesion_type,
                "length_mm": length, "width_mm": width, "shape": shape, "colour": colour,
                "estimated_age": None if lesion_type == "other" else _LESION_AGE.pick(rng)}

    def _overall_evaluation(self, kind: str) -> dict[str, Any]:
        if kind != "medico_legal_report":
            return {"overall_evaluation": None, "overall_evaluation_note": None}
        evaluation = _OVERALL_EVALUATION.pick(self.body_rng)
        return {"overall_evaluation": evaluation,
                "overall_evaluation_note": "Rests on the scars taken together, not on any one of them."
                if evaluation is not None else None}

    def _evidence_and_rule35(self, case: _Case) -> None:
        rng = self.rng
        today = self.today
        items = rng.randint(1, 7)
        if case.windows:
            for _ in range(_R35_COUNT.pick(rng)):
                written, _ = self._day_in(case.windows)
                evidence_id = None
                if rng.random() < 0.6:
                    evidence_id = self._evidence_item(case, "rule35_report", written)
                    items -= 1
                sent = written + rng.randint(0, 2) if rng.random() < 0.85 else None
                if sent is not None and sent > today:
                    sent = None
                response = outcome = level = None
                if sent is not None:
                    candidate = sent + rng.randint(1, 25)
                    if candidate <= today and rng.random() < 0.8:
                        response = candidate
                        released = case.released_after(written, response) and rng.random() < 0.35
                        outcome = "released" if released else "detention_maintained"
                        level = rng.choice((1, 2, 2, 3, None))
                    elif today - sent > 60:
                        outcome = "no_response"
                self.rows[RULE35].append({
                    "id": self._id(RULE35), "person_id": case.person_id, "evidence_item_id": evidence_id,
                    "limb": _R35_LIMB.pick(rng), "author_name": rng.choice(names.GP_AUTHORS),
                    "written_date": date.fromordinal(written),
                    "sent_date": date.fromordinal(sent) if sent is not None else None,
                    "consent_to_send": sent is not None or rng.random() < 0.5,
                    "response_date": date.fromordinal(response) if response is not None else None,
                    "outcome": outcome, "aar_level_given": level, "created_by_id": case.clinician,
                    "created_at": self._at(sent if sent is not None else written),
                })
        for _ in range(max(0, items)):
            issued = rng.randint(case.opened - 60, case.active_until)
            self._evidence_item(case, _EVIDENCE_KIND.pick(rng), issued)

    def _referrals(self, case: _Case) -> None:
        rng = self.rng
        today = self.today
        nrm_due = bool(self.first_responders) and "trafficking" in case.indicators and rng.random() < 0.8
        for _ in range(rng.randint(1, 5)):
            if nrm_due:
                organisation = rng.choice(self.first_responders)
                status = rng.choice(("sent", "accepted", "completed"))
            else:
                organisation = rng.choice(self.organisations)
                status = _REFERRAL_STATUS.pick(rng)
            made = None if status == "draft" else rng.randint(case.opened, case.active_until)
            response = None
            if made is not None and status in ("accepted", "declined", "completed"):
                response = min(today, made + rng.randint(1, 45))
            follow_up = None
            if made is not None and (status == "sent" or rng.random() < 0.2):
                follow_up = made + rng.randint(7, 28)
            referral_id = self._id(REFERRALS)
            self.rows[REFERRALS].append({
                "id": referral_id, "person_id": case.person_id, "organisation_id": organisation,
                "reason": names.REFERRAL_REASONS[4] if nrm_due else rng.choice(names.REFERRAL_REASONS),
                "made_by_id": case.clinician if rng.random() < 0.4 else self.coordinator,
                "made_date": date.fromordinal(made) if made is not None else None, "status": status,
                "response_date": date.fromordinal(response) if response is not None else None,
                "outcome": rng.choice(names.REFERRAL_OUTCOMES) if response is not None else None,
                "follow_up_date": date.fromordinal(follow_up) if follow_up is not None else None,
                "created_at": self._at(made if made is not None else case.active_until),
            })
            if nrm_due:
                nrm_due = False
                made = cast(int, made)
                rg_date = rg = cg_date = cg = None
                candidate = made + rng.randint(2, 60)
                # Some stay undecided: the "reasonable-grounds decision outstanding" alert needs cases.
                if candidate <= today and rng.random() < 0.75:
                    rg_date, rg = candidate, _NRM_DECISION.pick(rng)
                    candidate = rg_date + rng.randint(45, 500)
                    if rg == "positive" and candidate <= today and rng.random() < 0.6:
                        cg_date, cg = candidate, _CG_DECISION.pick(rng)
                self.rows[NRM].append({
                    "referral_id": referral_id, "first_responder_id": organisation,
                    "reasonable_grounds_date": date.fromordinal(rg_date) if rg_date is not None else None,
                    "reasonable_grounds_outcome": rg,
                    "conclusive_grounds_date": date.fromordinal(cg_date) if cg_date is not None else None,
                    "conclusive_grounds_outcome": cg,
                })

    def _health_events(self, case: _Case) -> None:
        if not case.windows:
            return
        rng = self.rng
        for _ in range(_HEALTH_EVENT_COUNT.pick(rng)):
            day, _ = self._day_in(case.windows)
            kind = _HEALTH_EVENT_KIND.pick(rng)
            started_at = self._at(day, rng.randrange(24 * 60))
            ended_at = None
            if kind in _HEALTH_EVENT_HOURS:
                low, high = _HEALTH_EVENT_HOURS[kind]
                candidate = started_at + timedelta(hours=rng.randint(low, high))
                # An end still in the future means it is going on now: leave it open.
                ended_at = candidate if candidate <= self.now else None
            recorded_by = case.clinician if rng.random() < 0.6 else self.coordinator
            self._health_event(case, kind, started_at, ended_at, recorded_by)
            if kind == "acdt_opened" and rng.random() < 0.6:
                closed_at = started_at + timedelta(days=rng.randint(2, 30))
                if closed_at <= self.now:
                    self._health_event(case, "acdt_closed", closed_at, None, recorded_by)

    def _health_event(self, case: _Case, kind: str, started_at: datetime, ended_at: datetime | None,
                      recorded_by: int) -> None:
        self.rows[HEALTH_EVENTS].append({
            "id": self._id(HEALTH_EVENTS), "person_id": case.person_id, "kind": kind,
            "started_at": started_at, "ended_at": ended_at,
            "notes": self.rng.choice(names.HEALTH_EVENT_NOTES),
            "recorded_by_id": recorded_by,
            "created_at": min(started_at + timedelta(hours=self.rng.randint(1, 72)), self.now),
        })

    def _consents(self, case: _Case) -> None:
        rng = self.rng
        self._consent(case, "care_record", None, case.opened, withdrawable=False)
        if rng.random() < 0.6:
            given = min(case.active_until, case.opened + rng.randint(0, 60))
            self._consent(case, "anonymised_research", None, given)
        if rng.random() < 0.3:
            self._consent(case, "share_with_organisation", rng.choice(self.organisations),
                          rng.randint(case.opened, case.active_until))
        if rng.random() < 0.08:
            self._consent(case, "home_office_submission", None, rng.randint(case.opened, case.active_until))
        if rng.random() < 0.06:
            self._consent(case, "medico_legal_report", None, rng.randint(case.opened, case.active_until))

    def _consent(self, case: _Case, purpose: str, organisation: int | None, given: int,
                 withdrawable: bool = True) -> None:
        rng = self.rng
        withdrawn = None
        if withdrawable and rng.random() < 0.06:
            candidate = given + rng.randint(1, 365)
            withdrawn = candidate if candidate <= self.today else None
        if case.interpreter_needed:
            method = rng.choice(("verbal_with_interpreter", "written_with_interpreter"))
        else:
            method = rng.choice(("verbal", "written"))
        self.rows[CONSENTS].append({
            "id": self._id(CONSENTS), "person_id": case.person_id, "purpose": purpose,
            "organisation_id": organisation, "given_date": date.fromordinal(given), "method": method,
            "interpreter_language": case.language if case.interpreter_needed else None, "notes": None,
            "recorded_by_id": case.clinician if rng.random() < 0.5 else self.coordinator,
            "recorded_at": self._at(given),
            "withdrawn_date": date.fromordinal(withdrawn) if withdrawn is not None else None,
            "withdrawal_recorded_by_id": self.coordinator if withdrawn is not None else None,
        })

    # -- the case's life: representatives, removals, hearings, requests for help (each its own stream) ---------

    def _stamp(self, rng: random.Random, day: int, low: int = 8 * 60, high: int = 19 * 60) -> datetime:
        """_at with the minute drawn from `rng` (a later concern's stream), not from self.rng."""
        return self._at(day, rng.randint(low, high))

    def _on_day(self, day: int, minute: int) -> datetime:
        """A UTC timestamp on the given day (ordinal), which may be in the future."""
        return self.midnight_today + timedelta(days=day - self.today, minutes=minute)

    def _hours_ahead(self, hours: int) -> datetime:
        """A time `hours` from now, on a five-minute mark."""
        at = (self.now + timedelta(hours=hours)).replace(second=0, microsecond=0)
        return at - timedelta(minutes=at.minute % 5)

    def _register(self) -> None:
        """The firms on the demo's register, one row per caseworker, and a former caseworker kept archived."""
        created_at = self._at(self.today - 2500, 9 * 60)
        addresses = {}
        for firm, phone, address, legal_aid, caseworkers in names.LEGAL_FIRMS:
            addresses[firm] = (phone, address, legal_aid)
            for caseworker, email in caseworkers:
                representative = self._representative_row(firm, caseworker, phone, email, address, legal_aid,
                                                          created_at, None)
                self.firm_representatives[firm].append(representative)
                self.active_representatives.append(representative)
        firm, caseworker, email = names.FORMER_CASEWORKER
        phone, address, legal_aid = addresses[firm]
        self.former_until = self.today - 400
        self.former_representative = self._representative_row(
            firm, caseworker, phone, email, address, legal_aid, created_at, self._at(self.former_until, 12 * 60))

    def _representative_row(self, firm: str, caseworker: str | None, phone: str, email: str, address: str,
                            legal_aid: bool, created_at: datetime, archived_at: datetime | None) -> int:
        representative = self._id(LEGAL_REPRESENTATIVES)
        self.rows[LEGAL_REPRESENTATIVES].append({
            "id": representative, "firm": firm, "caseworker": caseworker, "phone": phone, "email": email,
            "address": address, "legal_aid_contract": legal_aid, "archived_at": archived_at,
            "created_at": created_at, "version": 1,
        })
        self.representative_contacts[representative] = (firm, caseworker, phone, email)
        return representative

    def _representation(self, case: _Case, choice: str | None) -> int | None:
        """Who acts for the person now (the firm their identity once named; half of the rest get one too, so
        about 80% are represented), since the case opened or the detention began; a few changed firm once."""
        rng = self.representation_rng
        if choice is None and rng.random() >= 0.5:
            return None
        current = (rng.choice(self.firm_representatives[choice]) if choice is not None
                   else rng.choice(self.active_representatives))
        start_day = case.episodes[-1][0] if rng.random() < 0.3 else case.opened
        started_at = self._stamp(rng, start_day)
        if case.active_until - start_day >= 30 and rng.random() < 0.12:
            switch = rng.randint(start_day + 7, case.active_until)
            if switch <= self.former_until and rng.random() < 0.5:
                earlier = self.former_representative
            else:
                earlier = rng.choice([r for r in self.active_representatives if r != current])
            switched_at = max(started_at, self._stamp(rng, switch))
            self._representation_row(case, earlier, started_at, switched_at)
            started_at = switched_at
        self._representation_row(case, current, started_at, None)
        return current

    def _representation_row(self, case: _Case, representative: int, started_at: datetime,
                            ended_at: datetime | None) -> None:
        self.rows[REPRESENTATIONS].append({
            "id": self._id(REPRESENTATIONS), "person_id": case.person_id, "legal_representative_id": representative,
            "recorded_by_id": self.coordinator, "started_at": started_at, "ended_at": ended_at,
        })

    def _removals(self, case: _Case) -> None:
        """Directions still set for some people in detention (the first few within the week), some deferred or
        cancelled in the past, and most removals that ended a detention: never before the detention began."""
        rng = self.removal_rng
        today = self.today
        for start, end, reason in case.episodes:
            if end is None:
                if rng.random() < (0.6 if self.removal_slots else 0.1):
                    low, high = self.removal_slots.pop(0) if self.removal_slots else (24, 45 * 24)
                    recorded_at = self._stamp(rng, max(start, today - rng.randint(1, 14)))
                    self._removal(case, self._hours_ahead(rng.randint(low, high)), "set", recorded_at)
                if today - start >= 3 and rng.random() < 0.08:
                    self._past_removal(case, start, today - 1, rng.choice(("deferred", "cancelled")))
            elif reason == "removed" and rng.random() < 0.6:
                if end - start >= 5 and rng.random() < 0.3:
                    self._past_removal(case, start, end - 2, "deferred")
                removal_at = self._stamp(rng, end, 5 * 60, 11 * 60)
                recorded_at = self._stamp(rng, max(start, end - rng.randint(2, 20)), 8 * 60, 9 * 60)
                self._removal(case, removal_at, "carried_out", min(recorded_at, removal_at))
            elif end - start >= 5 and rng.random() < 0.04:
                self._past_removal(case, start, end - 1, "cancelled")

    def _past_removal(self, case: _Case, first: int, last: int, status: str) -> None:
        rng = self.removal_rng
        day = rng.randint(first, last)
        removal_at = self._stamp(rng, day, 5 * 60, 11 * 60)
        recorded_at = self._stamp(rng, max(first, day - rng.randint(1, 14)), 8 * 60, 9 * 60)
        self._removal(case, removal_at, status, min(recorded_at, removal_at))

    def _removal(self, case: _Case, removal_at: datetime, status: str, recorded_at: datetime) -> None:
        rng = self.removal_rng
        destination = names.COUNTRY_NAMES.get(case.nationality or "", "Third country (demo)")
        self.rows[REMOVALS].append({
            "id": self._id(REMOVALS), "person_id": case.person_id, "removal_at": removal_at,
            "carrier": rng.choice(names.REMOVAL_CARRIERS), "destination": destination, "status": status,
            "source": rng.choice(names.REMOVAL_SOURCES), "recorded_by_id": self.coordinator,
            "recorded_at": recorded_at, "version": 1,
        })

    def _hearings(self, case: _Case, episodes: list[dict[str, Any]]) -> None:
        """The bail applications on the episodes as heard, hearings to come for some people in detention (the
        first few within the week, two of them tomorrow), and a few appeals and judicial reviews heard."""
        rng = self.hearing_rng
        today = self.today
        for episode in episodes:
            applied, outcome = episode["last_bail_application_date"], episode["last_bail_outcome"]
            if applied is not None and rng.random() < 0.7:
                heard_at = self._at(applied.toordinal(), rng.choice(_HEARING_MINUTES))
                self._hearing(case, "bail", heard_at, _BAIL_HEARD[outcome])
        if case.episodes[-1][1] is None and rng.random() < (0.5 if self.hearing_slots else 0.1):
            if self.hearing_slots:
                days, kind = self.hearing_slots.pop(0)
            else:
                days, kind = rng.randint(1, 40), _HEARING_KIND.pick(rng)
            self._hearing(case, kind, self._on_day(today + days, rng.choice(_HEARING_MINUTES)), None)
        if rng.random() < 0.1:
            start, end, _ = rng.choice(case.episodes)
            last = min(end if end is not None else today, today - 1)
            if start <= last:
                kind = "appeal" if rng.random() < 0.7 else "judicial_review"
                heard_at = self._at(rng.randint(start, last), rng.choice(_HEARING_MINUTES))
                self._hearing(case, kind, heard_at, rng.choice(_HEARING_OUTCOMES[kind]))

    def _hearing(self, case: _Case, kind: str, hearing_at: datetime, outcome: str | None) -> None:
        rng = self.hearing_rng
        remote = rng.random() < (0.5 if kind == "bail" else 0.2)
        venue = None if remote and rng.random() < 0.5 else rng.choice(names.HEARING_VENUES)
        recorded_day = min(self.today, hearing_at.date().toordinal() - rng.randint(1, 21))
        self.rows[HEARINGS].append({
            "id": self._id(HEARINGS), "person_id": case.person_id, "kind": kind, "hearing_at": hearing_at,
            "venue": venue, "remote": remote, "outcome": outcome, "recorded_by_id": self.coordinator,
            "recorded_at": min(self._stamp(rng, recorded_day), hearing_at), "version": 1,
        })

    def _requests(self, case: _Case, representative: int | None) -> None:
        """The request for help that opened about a third of the cases, and (unattached) a few declined or
        signposted ones: decided requests, in proportion to the people."""
        rng = self.intake_rng
        draw = rng.random()
        if draw < 0.3:
            received_day = case.opened - rng.randint(0, 3)
            received_at = self._stamp(rng, received_day)
            if received_day < case.opened:
                decided_at = max(received_at, self._stamp(rng, case.opened))
            else:
                decided_at = min(self.now, received_at + timedelta(minutes=rng.randint(20, 300)))
            kind = _REQUESTER.pick(rng)
            if kind == "legal_representative" and representative is None:
                kind = "visitor_group"
            details = self._request_details(rng, kind, representative if kind == "legal_representative" else None)
            details.update(self._person_details(rng, case))
            self._request(received_at, kind, _URGENCY.pick(rng), details,
                          facility=self._facility_on(case, received_day),
                          representative=representative if kind == "legal_representative" else None,
                          decided=("accepted", decided_at), person_id=case.person_id)
        elif draw < 0.4:
            received_at = self._stamp(rng, rng.randint(self.today - 730, self.today - 1))
            decided_at = min(self.now, received_at + timedelta(minutes=rng.randint(60, 5 * 24 * 60)))
            kind = _REQUESTER.pick(rng)
            if kind == "legal_representative":
                kind = "charity"
            details = {**self._request_details(rng, kind, None), **self._invented_person(rng)}
            decision = rng.choice(("declined", "signposted"))
            self._request(received_at, kind, _URGENCY.pick(rng), details, facility=rng.choice(self.ircs),
                          decided=(decision, decided_at),
                          signposted_to=rng.choice(self.organisations) if decision == "signposted" else None)

    def _daily_work(self, case: _Case) -> None:
        """The contact log of an open case (a few calls, e-mails and letters, some corrected by an addendum) and,
        for about a third of them, tasks for its clinician or the coordinator: some done, some overdue."""
        if case.active_until < self.today:
            return
        rng = self.work_rng
        first_day = max(case.opened, self.today - 120)
        for _ in range(rng.randint(0, 4)):
            kind, with_whom, summary = rng.choice(names.CASE_NOTES)
            day = rng.randint(first_day, self.today)
            happened_at = self._stamp(rng, day)
            recorded_at = min(self.now, happened_at + timedelta(minutes=rng.randint(5, 240)))
            note_id = self._id(CASE_NOTES)
            author = self.coordinator if rng.random() < 0.7 else case.clinician
            self.rows[CASE_NOTES].append({
                "id": note_id, "person_id": case.person_id, "kind": kind, "with_whom": with_whom,
                "organisation_id": rng.choice(self.organisations) if with_whom == "organisation" else None,
                "happened_at": min(happened_at, recorded_at), "summary": summary, "recorded_by_id": author,
                "recorded_at": recorded_at,
            })
            if rng.random() < 0.1:
                self.rows[CASE_NOTE_ADDENDA].append({
                    "id": self._id(CASE_NOTE_ADDENDA), "note_id": note_id, "person_id": case.person_id,
                    "author_id": author, "created_at": min(self.now, recorded_at + timedelta(hours=rng.randint(1, 48))),
                    "text": rng.choice(names.NOTE_ADDENDA),
                })
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                self._task(rng, case.person_id, rng.choice(names.CASE_TASKS),
                           case.clinician if rng.random() < 0.4 else self.coordinator)

    def _planned_visits(self, case: _Case) -> None:
        """Visits planned this week and next for people detained now: most of clinician@'s few, and for
        clinician2@ the first three then about one in 200 (so the number stays small at any size), some with an
        interpreter booked. Those earlier in this week wait to be logged."""
        rng = self.planning_rng
        facility = self._facility_on(case, self.today) if case.active_until >= self.today else None
        if facility is None:
            return
        mine = case.clinician == self.clinician
        chance = 0.8 if mine else 1.0 if self.planned_for_others < 3 else 0.005
        if rng.random() >= chance:
            return
        if not mine:
            self.planned_for_others += 1
        monday = self.today - date.fromordinal(self.today).weekday()
        day = monday + rng.choice((0, 1, 2, 3, 4, 7, 8, 9, 10, 11))
        starts = datetime.combine(date.fromordinal(day), time(9 + rng.randrange(7), rng.choice((0, 30))), self.zone)
        booked = case.interpreter_needed and rng.random() < 0.7
        self.rows[PLANNED_VISITS].append({
            "id": self._id(PLANNED_VISITS), "person_id": case.person_id, "clinician_id": case.clinician,
            "facility_id": facility, "starts_at": starts.astimezone(UTC), "duration_minutes": rng.choice((45, 60, 90)),
            "booking_reference": f"DEMO-LV-{rng.randrange(10**5):05d}" if rng.random() < 0.6 else None,
            "interpreter_booked": booked, "interpreter_language": case.language if case.interpreter_needed else None,
            "interpreter_name": rng.choice(_DEMO_INTERPRETERS) if booked else None,
            # Ofcom's drama range, as for the people's phones.
            "interpreter_phone": f"07700 900{rng.randrange(1000):03d}" if booked else None,
            "notes": rng.choice(_VISITOR_NOTES) if rng.random() < 0.5 else None,
            "status": "planned", "visit_id": None, "made_by_id": self.coordinator,
            "made_at": self._stamp(rng, self.today - rng.randint(1, 10)), "version": 1,
        })

    def _own_tasks(self) -> None:
        """A few tasks about no case (the coordinator's own), one of them overdue."""
        rng = self.work_rng
        for title in names.OWN_TASKS:
            self._task(rng, None, title, self.coordinator)

    def _task(self, rng: random.Random, person_id: int | None, title: str, assignee: int) -> None:
        made_day = self.today - rng.randint(1, 21)
        due = made_day + rng.randint(2, 28) if rng.random() < 0.85 else None
        done = rng.random() < 0.2
        made_at = self._stamp(rng, made_day)
        done_at = min(self.now, made_at + timedelta(hours=rng.randint(2, 96))) if done else None
        self.rows[TASKS].append({
            "id": self._id(TASKS), "person_id": person_id, "title": title, "assignee_id": assignee,
            "due_date": date.fromordinal(due) if due else None, "from_alert": None, "made_by_id": self.coordinator,
            "made_at": made_at, "done_at": done_at, "done_by_id": assignee if done else None, "version": 1,
        })

    def _request_queue(self) -> None:
        """8 to 15 requests waiting for triage, of every urgency and age: the first three are past their waiting
        limit (request_untriaged), two wait for more information, some came through the online form."""
        rng = self.intake_rng
        for i in range(rng.randint(8, 15)):
            urgency = ("immediate", "this_week", "routine")[i] if i < 3 else _URGENCY.pick(rng)
            limit = self.waiting_limits[Urgency(urgency)]
            if i < 3:
                waited = limit + timedelta(minutes=rng.randint(30, int(limit.total_seconds() // 60)))
            else:
                waited = limit * rng.uniform(0.05, 0.85)
            received_at = (self.now - waited).replace(second=0, microsecond=0)
            kind = _REQUESTER.pick(rng)
            if kind == "legal_representative":
                kind = "visitor_group"
            online = i == 1 or rng.random() < 0.3
            details = {**self._request_details(rng, kind, None), **self._invented_person(rng)}
            more_information = i in (3, 4)
            self._request(received_at, kind, urgency, details,
                          facility=rng.choice(self.ircs) if rng.random() < 0.85 else None,
                          channel="online_form" if online else None,
                          decided=("more_information", received_at + waited / 2) if more_information else None)

    def _request(self, received_at: datetime, kind: str, urgency: str, details: dict[str, str], *,
                 facility: int | None, representative: int | None = None, channel: str | None = None,
                 decided: tuple[str, datetime] | None = None, person_id: int | None = None,
                 signposted_to: int | None = None) -> None:
        """One request row; `decided` is (decision, when), None while it waits."""
        rng = self.intake_rng
        decision, decided_at = decided if decided is not None else (None, None)
        channel = channel or _CHANNEL.pick(rng)
        online = channel == "online_form"
        needs = sorted(rng.sample(range(len(_NEEDS)), rng.randint(1, 2)))
        recorded_at = received_at if online else min(self.now, received_at + timedelta(minutes=rng.randint(5, 90)))
        self.rows[REQUESTS].append({
            "id": self._id(REQUESTS), "reference": self._request_reference(), "received_at": received_at,
            "channel": channel, "requester_kind": kind, "urgency": urgency,
            "needs": ",".join(_NEEDS[n] for n in needs), "facility_id": facility,
            "legal_representative_id": representative, "details": details,
            "wrapped_key": None, "master_key_id": None,  # made when the batch is sealed
            "recorded_by_id": None if online else self.coordinator, "recorded_at": recorded_at,
            "decision": decision,
            "decision_note": rng.choice(names.DECISION_NOTES[decision]) if decision is not None else None,
            "signposted_to_id": signposted_to, "decided_by_id": self.coordinator if decision is not None else None,
            "decided_at": decided_at, "person_id": person_id, "document_name": None, "document_type": None,
            "document_size": None, "document_sha256": None, "document_content": None, "version": 1,
        })

    def _request_reference(self) -> str:
        while True:
            chars = self.intake_rng.choices(REFERENCE_ALPHABET, k=8)
            reference = "R-" + "".join(chars[:4]) + "-" + "".join(chars[4:])
            if reference not in self.request_references:
                self.request_references.add(reference)
                return reference

    def _request_details(self, rng: random.Random, kind: str, representative: int | None) -> dict[str, str]:
        """Who asked and how to reach them, and what they asked for."""
        details = {"summary": rng.choice(names.REQUEST_SUMMARIES)}
        if kind == "self":
            details["callback_notes"] = "Call the centre and ask for the person by name; mornings are best."
            return details
        if representative is not None:
            firm, caseworker, phone, email = self.representative_contacts[representative]
            details.update(requester_name=caseworker or "Duty caseworker", requester_organisation=firm,
                           callback_phone=phone, callback_email=email)
            return details
        organisation = {"visitor_group": names.VISITOR_GROUPS, "charity": names.CHARITIES,
                        "healthcare": names.HEALTHCARE_SENDERS}.get(kind)
        details["requester_name"] = f"{rng.choice(names.GIVEN_NAMES)} {rng.choice(names.FAMILY_NAMES)}"
        if organisation is not None:
            details["requester_organisation"] = rng.choice(organisation)
        details["callback_phone"] = f"01632 960{rng.randrange(700, 1000):03d}"
        if rng.random() < 0.6:
            details["callback_email"] = f"referrals{rng.randrange(1, 99)}@example.org"
        return details

    def _person_details(self, rng: random.Random, case: _Case) -> dict[str, str]:
        """The person as the request described them: the case's own identity, as far as the asker knew it."""
        details = {"given_names": case.given_names, "family_name": case.family,
                   "language": case.language + (", needs an interpreter" if case.interpreter_needed else "")}
        if case.birth_year is not None:
            details["birth"] = str(case.birth_year)
        if case.nationality is not None:
            details["nationality"] = names.COUNTRY_NAMES.get(case.nationality, case.nationality)
        if case.ho_reference is not None and rng.random() < 0.6:
            details["home_office_reference"] = case.ho_reference
        if case.phone is not None and rng.random() < 0.7:
            details["phone_in_detention"] = case.phone
        return details

    def _invented_person(self, rng: random.Random) -> dict[str, str]:
        """Someone who never became a case: a name and a few facts, invented like the rest."""
        code, language = _NATIONALITY.pick(rng)
        details = {"given_names": rng.choice(names.GIVEN_NAMES), "family_name": rng.choice(names.FAMILY_NAMES),
                   "nationality": names.COUNTRY_NAMES.get(code, code), "language": language}
        if rng.random() < 0.6:
            details["birth"] = str(date.fromordinal(self.today).year - rng.randint(19, 60))
        if rng.random() < 0.5:
            details["phone_in_detention"] = f"07700 900{rng.randrange(1000):03d}"
        return details

    def _facility_on(self, case: _Case, day: int) -> int | None:
        for _, _, placements in case.windows:
            for date_in, date_out, facility in placements:
                if date_in <= day and (date_out is None or day <= date_out):
                    return facility
        return None


@dataclass(slots=True)
class _Case:
    """What the per-record builders need to know about the person being generated."""

    person_id: int
    clinician: int
    given: str
    family: str
    ho_reference: str | None
    language: str
    interpreter_needed: bool
    indicators: list[str]
    opened: int
    active_until: int
    windows: list[_Window]
    after_release: tuple[int, int] | None
    episodes: list[tuple[int, int | None, str | None]]
    given_names: str = ""
    nationality: str | None = None
    birth_year: int | None = None
    phone: str | None = None

    def released_after(self, written: int, response: int) -> bool:
        """Whether a Rule 35 response on `response` could have led to release: its episode ended by then."""
        for start, end, _ in self.episodes:
            if start <= written and (end is None or written <= end):
                return end is not None and response <= end
        return False
