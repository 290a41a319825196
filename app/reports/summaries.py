"""The aggregate summary: who is counted and the tables DESIGN section 4 lists, computed by SQL aggregation."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy import ColumnElement, case, func, or_, select, union
from sqlalchemy.orm import Session

from app.consent import service as consent_service
from app.consent.models import ConsentPurpose
from app.dates import format_date
from app.detention import clock
from app.detention.models import (
    END_REASON_LABELS,
    FACILITY_TYPE_LABELS,
    DetentionEpisode,
    EndReason,
    Facility,
    FacilityType,
)
from app.evidence.models import RULE35_LIMB_LABELS, Rule35Limb, Rule35Outcome, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.health_events.schemas import KIND_LABELS as HEALTH_EVENT_LABELS
from app.people.models import AAR_INDICATOR_LABELS, AarIndicator, Person, PersonAarIndicator
from app.referrals.models import Organisation, OrganisationType, Referral, ReferralStatus
from app.referrals.schemas import ORGANISATION_TYPE_LABELS
from app.reports import disclosure
from app.reports.disclosure import Policy, ProtectedTable, Table
from app.visits.models import RiskLevel, Visit, VisitAarIndicator, VisitMode, VisitStatus
from app.visits.schemas import MODE_LABELS

# Rows stream from the database in chunks of this size, so memory stays flat however many people are counted.
_CHUNK = 5000


@dataclass(frozen=True)
class SummaryParams:
    start_date: date
    end_date: date
    facility_type: FacilityType | None = None
    region: str | None = None
    rounding: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat(),
            "facility_type": self.facility_type.value if self.facility_type else None,
            "region": self.region, "rounding": self.rounding,
        }

    def describe(self) -> list[tuple[str, str]]:
        """The parameters in plain words, as every output states them."""
        return [
            ("Period", f"{format_date(self.start_date)} to {format_date(self.end_date)}"),
            ("Type of place", FACILITY_TYPE_LABELS[self.facility_type] if self.facility_type else "All"),
            ("Region", self.region or "All"),
            ("Small numbers", "Rounded to the nearest 5" if self.rounding else "Suppressed"),
        ]


def _research_consent_current(today: date) -> ColumnElement[bool]:
    """People whose consent to anonymised research stands today: the day of the release, not the period's."""
    return Visit.person_id.in_(consent_service.people_consenting(ConsentPurpose.anonymised_research, today))


def _visits_in_scope(params: SummaryParams, today: date) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Visit.status == VisitStatus.signed,
        Visit.visit_date >= params.start_date, Visit.visit_date <= params.end_date,
        _research_consent_current(today),
    ]
    if params.facility_type is not None or params.region is not None:
        facility = select(Facility.id)
        if params.facility_type is not None:
            facility = facility.where(Facility.type == params.facility_type)
        if params.region is not None:
            facility = facility.where(Facility.region == params.region)
        conditions.append(Visit.facility_id.in_(facility))
    return conditions


# The population of one summary, worked out once and joined by every table that follows. Temporary: private to
# the connection and gone when the summary is done.
_population = sa.Table(
    "summary_population", sa.MetaData(),
    sa.Column("person_id", sa.Integer, primary_key=True),
    # Whether any of the person's visits in scope recorded a moderate or high risk of self-harm or suicide.
    sa.Column("risky", sa.Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
POPULATION = select(_population.c.person_id)


@contextmanager
def population(db: Session, params: SummaryParams, today: date) -> Iterator[None]:
    """Materialises the people counted for the duration of the block. One pass over the visits in scope serves
    the population and the per-person risk flag; every table after it reads this small keyed table instead."""
    connection = db.connection()
    _population.create(connection)
    try:
        risky = func.max(case((Visit.risk.in_([RiskLevel.moderate, RiskLevel.high]), 1), else_=0))
        db.execute(_population.insert().from_select(
            ["person_id", "risky"],
            select(Visit.person_id, risky).where(*_visits_in_scope(params, today)).group_by(Visit.person_id)))
        yield
    finally:
        _population.drop(connection)


def population_ids(db: Session) -> list[int]:
    """The sorted ids of the people counted; only inside `population()`."""
    return list(db.scalars(POPULATION.order_by(_population.c.person_id)))


def fingerprint(ids: Sequence[int]) -> str:
    digest = hashlib.sha256()
    for person_id in ids:
        digest.update(struct.pack("<I", person_id))
    return digest.hexdigest()


def pack_ids(ids: Sequence[int]) -> bytes:
    return zlib.compress(struct.pack(f"<{len(ids)}I", *ids))


def unpack_ids(packed: bytes) -> frozenset[int]:
    raw = zlib.decompress(packed)
    return frozenset(struct.unpack(f"<{len(raw) // 4}I", raw))


# --- the tables ---------------------------------------------------------------------------------------------

RULE35_COLUMNS = ("Released", "Detention maintained", "No response recorded", "Awaiting a response")
REFERRAL_STATUSES = (ReferralStatus.sent, ReferralStatus.accepted, ReferralStatus.declined,
                     ReferralStatus.completed, ReferralStatus.no_response)
REFERRAL_COLUMNS = ("Awaiting a response", "Accepted", "Declined", "Completed", "No response")
AAR_LEVEL_ROWS = ("Level 1", "Level 2", "Level 3", "Not assessed")
NO_DETENTION = "No detention recorded in the period"
STILL_DETAINED = "Still detained at the end of the period"
SUMMARY_HEALTH_EVENTS = tuple(k for k in HealthEventKind if k is not HealthEventKind.acdt_closed)
SELF_HARM = "Self-harm recorded in the period"
SUICIDAL = "Suicidal ideation (moderate or high risk at a visit, or a Rule 35(2) report)"


@dataclass(frozen=True)
class Computed:
    """Everything a summary publishes, before disclosure control. Never leaves this module unprotected."""

    tables: list[Table]
    people: int
    detention_days: Counter[int]
    contributions: Contributions


class Contributions:
    """What each counted person contributes to a summary, one 64-bit digest per person: the sum of a digest of
    every count they are in (so the order rows arrive in does not matter). Two releases whose digests differ for
    only a few people differ by those people's worth, whoever else they count."""

    _MASK = (1 << 64) - 1

    def __init__(self) -> None:
        self.digests: dict[int, int] = {}

    def add(self, person_id: int, *item: object) -> None:
        data = "\x1f".join(str(getattr(part, "value", part)) for part in item).encode()
        digest = (zlib.crc32(data) << 32) | zlib.crc32(data, 0x5BD1E995)
        self.digests[person_id] = (self.digests.get(person_id, 0) + digest) & self._MASK

    def arrays(self) -> tuple[Any, Any]:
        """(ids, digests) as numpy arrays, ids sorted: the form unpack_contributions reads back."""
        ids = np.array(sorted(self.digests), dtype="<u4")
        return ids, np.array([self.digests[int(i)] for i in ids], dtype="<u8")

    def packed(self) -> bytes:
        ids, digests = self.arrays()
        return zlib.compress(ids.tobytes() + digests.tobytes())


def unpack_contributions(packed: bytes) -> tuple[Any, Any]:
    """(ids, digests) as numpy arrays, ids sorted."""
    raw = zlib.decompress(packed)
    n = len(raw) // 12
    return np.frombuffer(raw, dtype="<u4", count=n), np.frombuffer(raw, dtype="<u8", count=n, offset=4 * n)


def _period_bounds(params: SummaryParams, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(params.start_date, time(0), zone).astimezone(UTC)
    end = datetime.combine(params.end_date + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _column(key: str, title: str, rows: Sequence[str], counts: Sequence[int], column: str, *,
            total: bool, population: str | None = None) -> Table:
    return Table(key=key, title=title, row_labels=tuple(rows), col_labels=(column,),
                 counts=tuple((int(c),) for c in counts), grand_total=total, population=population)


def compute(db: Session, params: SummaryParams, today: date, zone: ZoneInfo) -> Computed:
    """Every table, before disclosure control. Only inside `population()`."""
    scope = _visits_in_scope(params, today)
    in_people = (lambda column: column.in_(POPULATION))  # noqa: E731
    start_at, end_at = _period_bounds(params, zone)
    tables: list[Table] = []
    # Every table is counted from rows per person, so that what each person contributes is known exactly.
    contributions = Contributions()

    n_people = 0
    for person_id in db.scalars(POPULATION.execution_options(yield_per=_CHUNK)):
        n_people += 1
        contributions.add(person_id, "seen")
    tables.append(_column("people_seen", "People seen", ["People seen"], [n_people], "People",
                          total=True, population="people"))

    # Visits: by how they were made, and where (a facility only ever as an aggregate count).
    # One pass over the visits in scope gives both visit tables.
    by_mode: Counter[VisitMode] = Counter()
    by_facility_id: Counter[int | None] = Counter()
    for person_id, mode, facility_id, n in db.execute(
            select(Visit.person_id, Visit.mode, Visit.facility_id, func.count()).where(*scope)
            .group_by(Visit.person_id, Visit.mode, Visit.facility_id).execution_options(yield_per=_CHUNK)):
        by_mode[mode] += n
        by_facility_id[facility_id] += n
        contributions.add(person_id, "visits", mode, facility_id, n)
    modes = list(VisitMode)
    tables.append(_column("visits_by_mode", "Visits by how they were made", [MODE_LABELS[m] for m in modes],
                          [by_mode.get(m, 0) for m in modes], "Visits", total=True, population="visits"))
    names = dict(db.execute(select(Facility.id, Facility.name)).all())
    by_facility = [((names[f] if f is not None else None), n) for f, n in by_facility_id.items()]
    by_facility.sort(key=lambda pair: (pair[0] is None, pair[0] or ""))
    tables.append(_column("visits_by_facility", "Visits by place of detention",
                          [name or "No place recorded (phone or video)" for name, _ in by_facility],
                          [n for _, n in by_facility], "Visits", total=True, population="visits"))

    # Risk indicators: a person counts once per indicator, whether it is on their record or seen at a visit.
    indicator_rows = union(
        select(PersonAarIndicator.person_id.label("pid"), PersonAarIndicator.indicator.label("indicator"))
        .where(in_people(PersonAarIndicator.person_id)),
        select(Visit.person_id.label("pid"), VisitAarIndicator.indicator.label("indicator"))
        .join(Visit, Visit.id == VisitAarIndicator.visit_id).where(*scope),
    ).subquery()
    by_indicator: Counter[AarIndicator] = Counter()
    for person_id, indicator in db.execute(select(indicator_rows.c.pid, indicator_rows.c.indicator)
                                           .execution_options(yield_per=_CHUNK)):
        by_indicator[indicator] += 1
        contributions.add(person_id, "indicator", indicator)
    self_harm = 0
    for person_id in db.scalars(select(HealthEvent.person_id).distinct().where(
            in_people(HealthEvent.person_id), HealthEvent.kind == HealthEventKind.self_harm,
            HealthEvent.started_at >= start_at, HealthEvent.started_at < end_at)):
        self_harm += 1
        contributions.add(person_id, "self-harm")
    suicidal_rows = union(
        select(_population.c.person_id.label("pid")).where(_population.c.risky == 1),
        select(Rule35Record.person_id.label("pid")).where(
            in_people(Rule35Record.person_id), Rule35Record.limb == Rule35Limb.suicidal_intentions,
            Rule35Record.written_date >= params.start_date, Rule35Record.written_date <= params.end_date),
    ).subquery()
    suicidal = 0
    for person_id in db.scalars(select(suicidal_rows.c.pid)):
        suicidal += 1
        contributions.add(person_id, "suicidal")
    indicators = list(AarIndicator)
    tables.append(_column(
        "risk_indicators", "People with each risk indicator (a person may have several)",
        [AAR_INDICATOR_LABELS[i] for i in indicators] + [SELF_HARM, SUICIDAL],
        [by_indicator.get(i, 0) for i in indicators] + [self_harm, suicidal], "People", total=False))

    # Rule 35 reports written in the period, by limb and by what the Home Office did.
    by_limb = db.execute(
        select(Rule35Record.person_id, Rule35Record.limb, Rule35Record.outcome, func.count()).where(
            in_people(Rule35Record.person_id),
            Rule35Record.written_date >= params.start_date, Rule35Record.written_date <= params.end_date)
        .group_by(Rule35Record.person_id, Rule35Record.limb, Rule35Record.outcome)
    ).all()
    column_of = {Rule35Outcome.released: 0, Rule35Outcome.detention_maintained: 1, Rule35Outcome.no_response: 2,
                 None: 3}
    limbs = list(Rule35Limb)
    grid = [[0] * len(RULE35_COLUMNS) for _ in limbs]
    for person_id, limb, outcome, n in by_limb:
        grid[limbs.index(limb)][column_of[outcome]] += n
        contributions.add(person_id, "rule35", limb, outcome, n)
    tables.append(Table(key="rule35", title="Rule 35 reports by limb and outcome",
                        row_labels=tuple(RULE35_LIMB_LABELS[limb] for limb in limbs), col_labels=RULE35_COLUMNS,
                        counts=tuple(tuple(r) for r in grid), row_totals=True, col_totals=True, grand_total=True))

    by_level: Counter[int | None] = Counter()
    for person_id, level in db.execute(select(Person.id, Person.aar_level).where(in_people(Person.id))
                                       .execution_options(yield_per=_CHUNK)):
        by_level[level] += 1
        contributions.add(person_id, "level", level)
    tables.append(_column("aar_levels", "People by Adults at Risk level", AAR_LEVEL_ROWS,
                          [by_level.get(1, 0), by_level.get(2, 0), by_level.get(3, 0),
                           sum(n for level, n in by_level.items() if level not in (1, 2, 3))],
                          "People", total=True, population="people"))

    bands, outcomes, days = _detention(db, POPULATION, params, n_people, contributions)
    tables.append(_column("length_of_detention", "People by length of detention (Home Office bands)",
                          [b.label for b in clock.BANDS] + [NO_DETENTION],
                          [bands.get(b.label, 0) for b in clock.BANDS] + [bands.get(NO_DETENTION, 0)],
                          "People", total=True, population="people"))
    outcome_rows = [END_REASON_LABELS[r] for r in EndReason] + [STILL_DETAINED, NO_DETENTION]
    tables.append(_column("outcomes", "How detention ended", outcome_rows,
                          [outcomes.get(label, 0) for label in outcome_rows], "People", total=True,
                          population="people"))

    by_event: Counter[HealthEventKind] = Counter()
    for person_id, kind in db.execute(
            select(HealthEvent.person_id, HealthEvent.kind).distinct().where(
                in_people(HealthEvent.person_id), HealthEvent.started_at >= start_at,
                HealthEvent.started_at < end_at)):
        by_event[kind] += 1
        contributions.add(person_id, "event", kind)
    tables.append(_column("health_events", "People with each kind of health event (a person may have several)",
                          [HEALTH_EVENT_LABELS[k] for k in SUMMARY_HEALTH_EVENTS],
                          [by_event.get(k, 0) for k in SUMMARY_HEALTH_EVENTS], "People", total=False))

    by_referral = db.execute(
        select(Referral.person_id, Organisation.type, Referral.status, func.count())
        .join(Organisation, Organisation.id == Referral.organisation_id)
        .where(in_people(Referral.person_id), Referral.status != ReferralStatus.draft,
               Referral.made_date >= params.start_date, Referral.made_date <= params.end_date)
        .group_by(Referral.person_id, Organisation.type, Referral.status)
    ).all()
    types = list(OrganisationType)
    referral_grid = [[0] * len(REFERRAL_STATUSES) for _ in types]
    for person_id, org_type, status, n in by_referral:
        referral_grid[types.index(org_type)][REFERRAL_STATUSES.index(status)] += n
        contributions.add(person_id, "referral", org_type, status, n)
    tables.append(Table(key="referrals", title="Referrals by type of organisation and outcome",
                        row_labels=tuple(ORGANISATION_TYPE_LABELS[t] for t in types), col_labels=REFERRAL_COLUMNS,
                        counts=tuple(tuple(r) for r in referral_grid), row_totals=True, col_totals=True,
                        grand_total=True))
    return Computed(tables=tables, people=n_people, detention_days=days, contributions=contributions)


def _detention(db: Session, people: Any, params: SummaryParams, n_people: int,
               contributions: Contributions) -> tuple[Counter[str], Counter[str], Counter[int]]:
    """Each person's latest detention that overlaps the period: its Home Office band and length on the period's
    last day (or its end, if sooner) and how it ended. Bands count calendar months, which is the clock's job, so
    the episodes stream through it in chunks rather than being binned in SQL."""
    rows = db.execute(
        select(DetentionEpisode.person_id, DetentionEpisode.start_date, DetentionEpisode.end_date,
               DetentionEpisode.end_reason)
        .where(DetentionEpisode.person_id.in_(people), DetentionEpisode.start_date <= params.end_date,
               or_(DetentionEpisode.end_date.is_(None), DetentionEpisode.end_date >= params.start_date))
        .order_by(DetentionEpisode.person_id, DetentionEpisode.start_date)
        .execution_options(yield_per=_CHUNK)
    )
    bands: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    days: Counter[int] = Counter()
    with_detention = 0
    for person_id, start, end, reason in _latest_per_person(rows):
        with_detention += 1
        last_day = params.end_date if end is None or end > params.end_date else end
        band = clock.band_on(start, last_day).label
        length = clock.days_between_inclusive(start, last_day)
        ended_in_period = end is not None and end <= params.end_date and reason is not None
        outcome = END_REASON_LABELS[reason] if ended_in_period and reason else STILL_DETAINED
        bands[band] += 1
        days[length] += 1
        outcomes[outcome] += 1
        contributions.add(person_id, "detention", band, length, outcome)
    bands[NO_DETENTION] = outcomes[NO_DETENTION] = n_people - with_detention
    return bands, outcomes, days


def _latest_per_person(rows: Any) -> Iterator[tuple[int, date, date | None, EndReason | None]]:
    current: int | None = None
    latest: tuple[int, date, date | None, EndReason | None] | None = None
    for person_id, start, end, reason in rows:
        if person_id != current and latest is not None:
            yield latest
        current, latest = person_id, (person_id, start, end, reason)
    if latest is not None:
        yield latest


def weighted_median(counts: Counter[int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    seen = 0
    ordered = sorted(counts.items())
    lower = upper = None
    for value, n in ordered:
        seen += n
        if lower is None and seen >= (total + 1) // 2:
            lower = value
        if seen >= total // 2 + 1:
            upper = value
            break
    assert lower is not None and upper is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    return (lower + upper) / 2


# --- the published summary ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    params: SummaryParams
    k: int
    generated_at: datetime
    tables: list[ProtectedTable]
    median_days: float | None
    release_rates: list[tuple[str, float | None]]

    def table(self, key: str) -> ProtectedTable:
        return next(t for t in self.tables if t.key == key)


def build(computed: Computed, params: SummaryParams, policy: Policy, generated_at: datetime) -> Summary:
    """Disclosure control over everything computed; raises disclosure.DisclosureRefused when it cannot be made safe."""
    protected = disclosure.protect_all(computed.tables, policy)
    with_detention = sum(computed.detention_days.values())
    median = weighted_median(computed.detention_days) if with_detention >= policy.k else None
    # A rate is worked out from the published cells only, and only when none of them is hidden: a rate over a
    # denominator that includes a hidden cell would let a reader solve for that cell.
    rule35 = next(t for t in protected if t.key == "rule35")
    rates: list[tuple[str, float | None]] = []
    for label, cells in zip(rule35.row_labels, rule35.cells, strict=True):
        released, maintained, no_response = cells[0], cells[1], cells[2]
        if any(c.suppressed or c.value is None for c in (released, maintained, no_response)):
            rates.append((label, None))
            continue
        assert released.value is not None and maintained.value is not None and no_response.value is not None  # noqa: S101  (type narrowing: the code above guarantees it)
        rates.append((label, disclosure.share(released.value,
                                              released.value + maintained.value + no_response.value, policy)))
    return Summary(params=params, k=policy.k, generated_at=generated_at, tables=protected, median_days=median,
                   release_rates=rates)
