"""Operational figures: what the organisation did each month of a year, counted over every case, for its own use.

Nothing here is published or passes disclosure control: the counts include people who gave no research consent
and can be small enough to point to someone. Publishing goes through the anonymised summaries (app/reports/
summaries.py). Each figure is one GROUP BY over its own dated column; a month is a calendar month where the
organisation works (a timestamp is placed by the organisation's time zone, not UTC's, so a request received
at 00:30 on 1 April in summer counts in April).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from app.detention.models import DetentionEpisode, EndReason
from app.evidence.models import EvidenceItem, EvidenceKind, Rule35Outcome, Rule35Record
from app.intake.models import Decision, HelpRequest
from app.medicolegal.letter_models import Letter
from app.medicolegal.models import MedicoLegalReport
from app.people.models import Assignment, Person
from app.visits.models import Visit, VisitStatus

FIRST_YEAR = 2000
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
# The end reasons that mean the person left detention into the community (not removal, prison, hospital or death).
RELEASE_REASONS = (EndReason.bailed, EndReason.granted_leave, EndReason.released_temporary_admission)
RELEASE_LABELS = {EndReason.bailed: "Bailed", EndReason.granted_leave: "Granted leave",
                  EndReason.released_temporary_admission: "Released on temporary admission"}
DECISION_LABELS = {Decision.accepted: "Accepted", Decision.declined: "Declined", Decision.signposted: "Signposted",
                   Decision.more_information: "More information asked for"}
OUTCOME_LABELS = {Rule35Outcome.detention_maintained: "Detention maintained", Rule35Outcome.released: "Released"}
# Bucket 0 holds the year before (its total is the comparison column); 1 to 12 are the chosen year's months.
PREVIOUS = 0
YEAR = 13  # the whole chosen year, where a figure counts it apart from its months


@dataclass
class Figure:
    label: str
    months: list[int]
    previous: int
    total: int
    note: str = ""
    part: bool = False  # a breakdown of the figure above it

    @classmethod
    def of(cls, label: str, buckets: dict[int, int], *, total: int | None = None, previous: int | None = None,
           note: str = "", part: bool = False) -> Figure:
        months = [buckets.get(m, 0) for m in range(1, 13)]
        return cls(label, months, buckets.get(PREVIOUS, 0) if previous is None else previous,
                   sum(months) if total is None else total, note, part)


@dataclass
class Group:
    title: str
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Operations:
    year: int
    groups: list[Group]


class BadYear(ValueError):
    """The year asked for is not one the figures can be given for."""


def parse_year(text: str | None, today: date) -> int:
    """The year in `?year=`, the current year when there is none; BadYear with a message to show otherwise."""
    if text is None or not text.strip():
        return today.year
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise BadYear(f"Enter the year as four digits, for example {today.year}.")
    year = int(text)
    if not FIRST_YEAR <= year <= today.year:
        raise BadYear(f"Enter a year from {FIRST_YEAR} to {today.year}: there are no figures for later years.")
    return year


# --- months as SQL ---------------------------------------------------------------------------------------------

def _month_starts(year: int) -> list[date]:
    """1 January of the year before, then the first of each month of `year`, then 1 January after it."""
    return [date(year - 1, 1, 1)] + [date(year, m, 1) for m in range(1, 13)] + [date(year + 1, 1, 1)]


def _months(column: Any, starts: Sequence[date | datetime]) -> tuple[Any, list[ColumnElement[bool]]]:
    """The bucket of each row (0: the year before, 1-12: the months) and the condition keeping the two years.
    A CASE over the boundaries rather than EXTRACT: the same on SQLite and PostgreSQL, reads the column's index,
    and lets a timestamp's boundaries be local midnights."""
    bucket = case(*[(column < starts[m + 1], m) for m in range(12)], else_=12)
    return bucket, [column >= starts[0], column < starts[13]]


def _years(column: Any, starts: Sequence[date | datetime]) -> tuple[Any, list[ColumnElement[bool]]]:
    """As `_months`, with the chosen year as one bucket (YEAR)."""
    return case((column < starts[1], PREVIOUS), else_=YEAR), [column >= starts[0], column < starts[13]]


def _local_midnights(year: int, zone: ZoneInfo) -> list[datetime]:
    return [datetime.combine(day, time(0), tzinfo=zone) for day in _month_starts(year)]


def _counts(db: Session, buckets: tuple[Any, list[ColumnElement[bool]]], *where: Any,
            by: Any = None, distinct: Any = None) -> dict[Any, dict[int, int]]:
    """{group: {bucket: count}} (group None when there is no `by`), in one statement. The rows are bucketed in a
    subquery and grouped outside it, so that PostgreSQL never has to match two copies of the CASE."""
    bucket, keep = buckets
    columns = [bucket.label("bucket")]
    if by is not None:
        columns.append(by.label("grp"))
    if distinct is not None:
        columns.append(distinct.label("what"))
    inner = select(*columns).where(*keep, *where).subquery()
    counted = func.count(inner.c.what.distinct()) if distinct is not None else func.count()
    grouping = [inner.c.grp, inner.c.bucket] if by is not None else [inner.c.bucket]
    found: dict[Any, dict[int, int]] = {}
    for row in db.execute(select(*grouping, counted).group_by(*grouping)):
        group, month, number = (row[0], row[1], row[2]) if by is not None else (None, row[0], row[1])
        found.setdefault(group, {})[int(month)] = int(number)
    return found


def _single(found: dict[Any, dict[int, int]]) -> dict[int, int]:
    return found.get(None, {})


def _sum(parts: Iterable[dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for part in parts:
        for month, number in part.items():
            total[month] = total.get(month, 0) + number
    return total


# --- the figures -----------------------------------------------------------------------------------------------

def _requests(db: Session, year: int, zone: ZoneInfo) -> Group:
    midnights = _local_midnights(year, zone)
    received = _single(_counts(db, _months(HelpRequest.received_at, midnights)))
    decided = _counts(db, _months(HelpRequest.decided_at, midnights), HelpRequest.decision.is_not(None),
                      by=HelpRequest.decision)
    return Group("Requests for help", [
        Figure.of("Requests received", received),
        Figure.of("Requests decided", _sum(decided.values()),
                  note="By the date of the request's latest decision: one decided again counts once, then."),
        *[Figure.of(label, decided.get(decision, {}), part=True) for decision, label in DECISION_LABELS.items()],
    ])


def _cases(db: Session, year: int) -> Group:
    starts = _month_starts(year)
    return Group("Cases", [
        Figure.of("Cases opened", _single(_counts(db, _months(Person.opened_date, starts)))),
        Figure.of("Cases closed", _single(_counts(db, _months(Person.closed_date, starts))),
                  note="Cases closed now, by their closing date: a case reopened since is not counted."),
    ])


def _visits(db: Session, year: int) -> Group:
    starts = _month_starts(year)
    by_status = _counts(db, _months(Visit.visit_date, starts), by=Visit.status)
    people = _single(_counts(db, _months(Visit.visit_date, starts), distinct=Visit.person_id))
    # A person visited in several months counts once in the year: the total is its own count, not a sum.
    per_year = _single(_counts(db, _years(Visit.visit_date, starts), distinct=Visit.person_id))
    return Group("Visits", [
        Figure.of("People visited", people, total=int(per_year.get(YEAR, 0)), previous=int(per_year.get(PREVIOUS, 0)),
                  note="Different people seen in each month, signed or draft visits; the year's total counts each "
                       "person once."),
        Figure.of("Visits signed", by_status.get(VisitStatus.signed, {})),
        Figure.of("Visits still in draft", by_status.get(VisitStatus.draft, {}),
                  note="Visits logged but not yet signed by the clinician, by the date of the visit."),
    ])


def _evidence(db: Session, year: int, zone: ZoneInfo) -> Group:
    starts = _month_starts(year)
    midnights = _local_midnights(year, zone)
    written = _single(_counts(db, _months(MedicoLegalReport.signed_at, midnights)))
    letters = _single(_counts(db, _months(Letter.issued_at, midnights)))
    dated = func.coalesce(EvidenceItem.issued_date, EvidenceItem.received_date)
    reports = _single(_counts(db, _months(dated, starts), EvidenceItem.kind == EvidenceKind.medico_legal_report))
    sent = _single(_counts(db, _months(Rule35Record.sent_date, starts)))
    answered = _counts(db, _months(Rule35Record.response_date, starts),
                       Rule35Record.outcome.in_(list(OUTCOME_LABELS)), by=Rule35Record.outcome)
    unanswered = _single(_counts(db, _months(Rule35Record.sent_date, starts),
                                 Rule35Record.outcome == Rule35Outcome.no_response))
    return Group("Reports", [
        Figure.of("Medico-legal reports", reports, note="By the date issued, or received when no issue date is "
                                                         "recorded."),
        Figure.of("Medico-legal reports signed off here", written,
                  note="Written, peer reviewed and signed off in this system, by the day of sign-off."),
        Figure.of("Letters issued", letters, note="Letters to centres and others, by the day of issue."),
        Figure.of("Rule 35 reports sent", sent),
        Figure.of("Home Office responses to Rule 35 reports", _sum(answered.values()),
                  note="By the date of the response."),
        *[Figure.of(label, answered.get(outcome, {}), part=True) for outcome, label in OUTCOME_LABELS.items()],
        Figure.of("Rule 35 reports recorded as having had no response", unanswered,
                  note="By the month the report was sent."),
    ])


def _releases(db: Session, year: int, zone: ZoneInfo) -> Group:
    """Detention ending in release for someone we had visited or assigned a clinician to by then. Whether an
    assignment came first is judged on its local date, so the releases of the two years are read (a few hundred
    rows at most) and placed in their months here."""
    starts = _month_starts(year)
    first_visit = (select(func.min(Visit.visit_date)).where(Visit.person_id == DetentionEpisode.person_id)
                   .scalar_subquery())
    first_assigned = (select(func.min(Assignment.assigned_at))
                      .where(Assignment.person_id == DetentionEpisode.person_id).scalar_subquery())
    rows = db.execute(
        select(DetentionEpisode.end_date, DetentionEpisode.end_reason, first_visit, first_assigned)
        .where(DetentionEpisode.end_date >= starts[0], DetentionEpisode.end_date < starts[13],
               DetentionEpisode.end_reason.in_(RELEASE_REASONS))).all()
    by_reason: dict[Any, dict[int, int]] = {}
    for ended, reason, visited, assigned in rows:
        if ended is None or reason is None:
            continue  # never: the statement keeps ended episodes with a release reason only
        involved = (visited is not None and visited <= ended) or (
            assigned is not None and _local_day(assigned, zone) <= ended)
        if not involved:
            continue
        bucket = PREVIOUS if ended < starts[1] else ended.month
        months = by_reason.setdefault(EndReason(reason), {})
        months[bucket] = months.get(bucket, 0) + 1
    return Group("Releases", [
        Figure.of("Released after our involvement", _sum(by_reason.values()),
                  note="Detention ended by bail, leave or temporary admission, for someone with a visit or an "
                       "assigned clinician on or before that day."),
        *[Figure.of(label, by_reason.get(reason, {}), part=True) for reason, label in RELEASE_LABELS.items()],
    ])


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()


def figures(db: Session, year: int, zone: ZoneInfo) -> Operations:
    """Every figure for `year`, month by month, with the year's total and the year before's."""
    return Operations(year, [_requests(db, year, zone), _cases(db, year), _visits(db, year), _evidence(db, year, zone),
                             _releases(db, year, zone)])


def month_headings() -> list[tuple[str, str]]:
    """(short, full) month names for the table's columns."""
    return list(zip(MONTHS, MONTH_NAMES, strict=True))

