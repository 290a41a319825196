"""The release lattice's periods: whole calendar months, quarters and years, and only those that have ended.

Arbitrary day ranges let a reader slide a period by a day and subtract; whole periods nest (a month in its
quarter, a quarter in its year), so every release overlaps only a few others and all of them can be audited
together."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

# How far back the form offers periods: a summary covers at most this many calendar years.
YEARS_BACK = 5

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    kind: str  # "year", "quarter" or "month"

    @property
    def value(self) -> str:
        """The form's value: "2026", "2026-Q3" or "2026-11"."""
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"The year {self.start.year}"
        if self.kind == "quarter":
            return (f"Quarter {(self.start.month - 1) // 3 + 1} of {self.start.year} "
                    f"({calendar.month_name[self.start.month]} to {calendar.month_name[self.end.month]})")
        return f"{calendar.month_name[self.start.month]} {self.start.year}"

    def parent(self) -> Period | None:
        """The next broader period: a month's quarter, a quarter's year."""
        if self.kind == "month":
            return quarter(self.start.year, (self.start.month - 1) // 3 + 1)
        if self.kind == "quarter":
            return year(self.start.year)
        return None


def year(number: int) -> Period:
    return Period(date(number, 1, 1), date(number, 12, 31), "year")


def quarter(number: int, q: int) -> Period:
    first = 3 * (q - 1) + 1
    return Period(date(number, first, 1), date(number, first + 2, calendar.monthrange(number, first + 2)[1]),
                  "quarter")


def month(number: int, m: int) -> Period:
    return Period(date(number, m, 1), date(number, m, calendar.monthrange(number, m)[1]), "month")


def spanning(start: date, end: date) -> Period | None:
    """The period of the lattice that runs from start to end, if one does."""
    candidates = (year(start.year), quarter(start.year, (start.month - 1) // 3 + 1), month(start.year, start.month))
    return next((p for p in candidates if (p.start, p.end) == (start, end)), None)


def parse(value: str) -> Period | None:
    """The period a form value names, or None when it names none."""
    value = value.strip()
    if match := _YEAR.fullmatch(value):
        return year(int(match.group(1))) if int(match.group(1)) >= 1900 else None
    if match := _QUARTER.fullmatch(value):
        return quarter(int(match.group(1)), int(match.group(2))) if int(match.group(1)) >= 1900 else None
    if match := _MONTH.fullmatch(value):
        return month(int(match.group(1)), int(match.group(2))) if int(match.group(1)) >= 1900 else None
    return None


def offered(today: date) -> list[Period]:
    """Every period the form offers, newest first within each kind: those that ended before today, back to the
    start of the year YEARS_BACK years ago."""
    first_year = today.year - YEARS_BACK
    years = [year(y) for y in range(today.year, first_year - 1, -1)]
    quarters = [quarter(y, q) for y in range(today.year, first_year - 1, -1) for q in (4, 3, 2, 1)]
    months = [month(y, m) for y in range(today.year, first_year - 1, -1) for m in range(12, 0, -1)]
    return [p for p in years + quarters + months if p.end < today]


def is_offered(period: Period, today: date) -> bool:
    return period.end < today and period.start.year >= today.year - YEARS_BACK
