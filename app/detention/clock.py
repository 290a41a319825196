"""The detention clock: days detained, Home Office length bands and thresholds, computed from episode dates alone."""

# Counting rules (DESIGN.md section 3). Every date here is a calendar date in the organisation's time zone and
# "today" is always passed in, so the same inputs always give the same reading.
#
# - The start date is day 1. A closed episode counts start..end inclusive (a same-day episode is 1 day); an
#   ongoing one counts start..today inclusive.
# - Only episodes matter. A transfer is a placement inside an episode and never resets or changes the count.
# - Day threshold "day N" is reached on start + (N - 1) days, i.e. on day N: "day 29" is the day the person has
#   passed 28 days.
# - Month threshold "M months" is reached on the M-month anniversary: the same day of the month, M calendar
#   months after the start. When that day does not exist in the target month (31 Jan + 1 month) it is reached on
#   the 1st of the following month, because the M full months have not elapsed until the short month is over.
#   So start 31 Dec 2025 reaches 2 months on 1 Mar 2026, start 29 Feb 2024 reaches 12 months on 1 Mar 2025, and
#   start 15 Jan reaches 2 months on 15 Mar.
# - The band of an episode on a date is the band that starts at the highest threshold reached on or before that
#   date, or the first band ("3 days or less") if none has been reached.

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Threshold:
    key: str
    days: int | None
    months: int | None
    label: str


@dataclass(frozen=True)
class Band:
    index: int
    label: str
    starts_at: Threshold | None


def _day(n: int) -> Threshold:
    return Threshold(key=f"day_{n}", days=n, months=None, label=f"{n} days")


def _month(m: int) -> Threshold:
    return Threshold(key=f"month_{m}", days=None, months=m, label=f"{m} months")


THRESHOLDS: tuple[Threshold, ...] = (
    _day(4), _day(8), _day(15), _day(29),
    _month(2), _month(3), _month(4), _month(6), _month(12), _month(18), _month(24), _month(36), _month(48),
)

_BAND_LABELS = (
    "3 days or less", "4 to 7 days", "8 to 14 days", "15 to 28 days", "29 days to under 2 months",
    "2 to 3 months", "3 to 4 months", "4 to 6 months", "6 to 12 months", "12 to 18 months", "18 to 24 months",
    "24 to 36 months", "36 to 48 months", "48 months or more",
)

BANDS: tuple[Band, ...] = tuple(
    Band(index=i, label=label, starts_at=None if i == 0 else THRESHOLDS[i - 1])
    for i, label in enumerate(_BAND_LABELS)
)

_BY_KEY = {t.key: t for t in THRESHOLDS}


def threshold(key: str) -> Threshold:
    return _BY_KEY[key]


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def reached_on(start: date, t: Threshold) -> date:
    if t.days is not None:
        return start + timedelta(days=t.days - 1)
    assert t.months is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    year, month = _shift_month(start.year, start.month, t.months)
    if start.day <= _days_in_month(year, month):
        return date(year, month, start.day)
    year, month = _shift_month(year, month, 1)
    return date(year, month, 1)


def latest_start_reaching(t: Threshold, on: date) -> date:
    """The latest start date whose episode has reached t on `on` (reached_on(s, t) <= on exactly when s <= this).

    This is what lets SQL filter open episodes by `start_date <= :cutoff` on an index."""
    if t.days is not None:
        return on - timedelta(days=t.days - 1)
    assert t.months is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    # reached_on is non-decreasing in the start date. Starts in the month M months before `on` reach the
    # threshold in `on`'s month on their own day of the month, or (when `on`'s month is shorter than theirs)
    # never earlier than the 1st of the month after. Starts in the month after that reach it after `on`'s month.
    # So the answer is the same day of the month M months back, or that month's last day if it is shorter.
    year, month = _shift_month(on.year, on.month, -t.months)
    return date(year, month, min(on.day, _days_in_month(year, month)))


def band_on(start: date, on: date) -> Band:
    if on < start:
        raise ValueError(f"band_on: {on} is before the start date {start}")
    band = BANDS[0]
    for b in BANDS[1:]:
        assert b.starts_at is not None  # noqa: S101  (type narrowing: the code above guarantees it)
        if reached_on(start, b.starts_at) > on:
            break
        band = b
    return band


def days_between_inclusive(start: date, end: date) -> int:
    if end < start:
        raise ValueError(f"{end} is before {start}")
    return (end - start).days + 1


@dataclass(frozen=True)
class Episode:
    start: date
    end: date | None


@dataclass(frozen=True)
class ClockReading:
    detained: bool
    current_start: date | None
    current_days: int | None
    cumulative_days: int
    episodes: int
    band: Band | None
    thresholds_crossed: tuple[Threshold, ...]
    next_threshold: Threshold | None
    next_threshold_date: date | None


def _union_days(spans: list[tuple[date, date]]) -> int:
    # Overlapping episodes are bad data, but a day spent in detention must still count once.
    total = 0
    covered_to: date | None = None
    for start, end in sorted(spans):
        if covered_to is not None and start <= covered_to:
            start = covered_to + timedelta(days=1)
        if start <= end:
            total += days_between_inclusive(start, end)
            covered_to = end
    return total


def read_clock(episodes: Sequence[Episode], today: date) -> ClockReading:
    """Episodes in any order. Raises ValueError for an episode that ends before it starts. Episodes starting after
    today are ignored (future data is invalid input elsewhere; the clock must not count it). An episode whose end is
    after today counts to today."""
    for e in episodes:
        if e.end is not None and e.end < e.start:
            raise ValueError(f"episode ends ({e.end}) before it starts ({e.start})")
    # Episodes starting after today are left out of every figure, including the episode count.
    counted = [e for e in episodes if e.start <= today]
    cumulative = _union_days([(e.start, today if e.end is None else min(e.end, today)) for e in counted])

    # Only an episode with no end date is current: one with an end date, even a future one, is a recorded release,
    # which matches the `end_date IS NULL` test the SQL alerts use.
    ongoing = [e for e in counted if e.end is None]
    if len(ongoing) > 1:
        # The database allows one open episode per person; guessing which one is current would hide the error.
        raise ValueError("more than one ongoing episode")
    if not ongoing:
        return ClockReading(
            detained=False, current_start=None, current_days=None, cumulative_days=cumulative,
            episodes=len(counted), band=None, thresholds_crossed=(), next_threshold=None, next_threshold_date=None,
        )

    start = ongoing[0].start
    # Thresholds are reached in THRESHOLDS order, so the crossed ones are a prefix and the next is the one after.
    crossed = tuple(t for t in THRESHOLDS if reached_on(start, t) <= today)
    upcoming = THRESHOLDS[len(crossed)] if len(crossed) < len(THRESHOLDS) else None
    return ClockReading(
        detained=True,
        current_start=start,
        current_days=days_between_inclusive(start, today),
        cumulative_days=cumulative,
        episodes=len(counted),
        band=BANDS[len(crossed)],
        thresholds_crossed=crossed,
        next_threshold=upcoming,
        next_threshold_date=None if upcoming is None else reached_on(start, upcoming),
    )


def today_in(zone: ZoneInfo, now: datetime) -> date:
    """The calendar date in the organisation's zone at the aware instant `now` (ValueError if naive)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("today_in needs a timezone-aware datetime")
    return now.astimezone(zone).date()
