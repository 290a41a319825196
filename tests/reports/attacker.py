"""A motivated researcher's solver: from summary documents as they were published, and public facts about where
each place of detention is, the integer range every hidden count can still take, and the differences between
releases that give small counts away. It uses only what a reader holds, never the product's own audit."""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

HIDDEN = "[c]"
BIG = 10**7  # every unknown's upper bound, so no program is unbounded; a maximum here means "no upper bound"
TOTAL = "Total"
PEOPLE_SEEN = "people_seen"
# Tables counting the people seen once each: they add up to the people seen.
PEOPLE_TABLES = ("aar_levels", "length_of_detention", "outcomes")
# Tables counting people, where a person may be counted in several rows: no row exceeds the people seen.
PEOPLE_AT_MOST = ("risk_indicators", "health_events")
VISIT_TABLES = ("visits_by_mode", "visits_by_facility")
# What is counted within the period only: a shorter period inside a longer one counts no more of it.
WITHIN_PERIOD = (PEOPLE_SEEN, "visits_by_mode", "visits_by_facility", "risk_indicators", "rule35", "aar_levels",
                 "health_events", "referrals")
NO_PLACE_PREFIX = "No place recorded"


# --- periods and filters ------------------------------------------------------------------------------------

def period_dates(period: str) -> tuple[date, date]:
    """The first and last day of "YYYY", "YYYY-Qn" or "YYYY-MM"."""
    if "-Q" in period:
        year_text, quarter = period.split("-Q")
        first_month = 3 * (int(quarter) - 1) + 1
        last_month = first_month + 2
        return (date(int(year_text), first_month, 1),
                date(int(year_text), last_month, calendar.monthrange(int(year_text), last_month)[1]))
    if "-" in period:
        year, month = (int(p) for p in period.split("-"))
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    return date(int(period), 1, 1), date(int(period), 12, 31)


@dataclass(frozen=True)
class Place:
    """A public fact: a place of detention, its type and its region."""

    name: str
    type: str
    region: str | None


@dataclass(frozen=True)
class Published:
    """One downloaded summary document with what was asked for: its period and filters (the release log shows
    both)."""

    label: str
    document: dict[str, Any]
    start: date
    end: date
    facility_type: str | None = None
    region: str | None = None

    @property
    def k(self) -> int:
        return int(self.document["k"])

    @property
    def rounded(self) -> bool:
        return bool(self.document.get("rounding"))

    def matches(self, place: Place) -> bool:
        return ((self.facility_type is None or place.type == self.facility_type)
                and (self.region is None or place.region == self.region))

    def refines(self, other: Published) -> bool:
        """Whether every visit this document's filters admit is admitted by the other's."""
        return ((other.facility_type is None or other.facility_type == self.facility_type)
                and (other.region is None or other.region == self.region))

    def same_filters(self, other: Published) -> bool:
        return self.facility_type == other.facility_type and self.region == other.region

    def within(self, other: Published) -> bool:
        return other.start <= self.start and self.end <= other.end


# --- the integer program ------------------------------------------------------------------------------------

@dataclass
class _Program:
    lower: list[int] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    rows: list[tuple[dict[int, int], float, float]] = field(default_factory=list)

    def variable(self, low: int, high: int = BIG) -> int:
        self.lower.append(low)
        self.upper.append(high)
        return len(self.lower) - 1

    def constrain(self, expression: dict[int, int], low: float, high: float) -> None:
        if expression:
            self.rows.append((expression, low, high))

    def matrix(self) -> LinearConstraint:
        a = lil_matrix((len(self.rows), len(self.lower)))
        for i, (expression, _, _) in enumerate(self.rows):
            for v, coefficient in expression.items():
                a[i, v] = coefficient
        return LinearConstraint(a.tocsr(), [r[1] for r in self.rows], [r[2] for r in self.rows])


def _minus(more: dict[int, int], less: dict[int, int]) -> dict[int, int]:
    result = dict(more)
    for v, c in less.items():
        result[v] = result.get(v, 0) - c
    return {v: c for v, c in result.items() if c}


@dataclass(frozen=True)
class Slot:
    """One published position of one document: a cell, or a row, column or grand total."""

    doc: int
    table: str
    title: str
    row: str
    col: str
    display: str
    value: int | None
    expression: tuple[tuple[int, int], ...]

    @property
    def hidden(self) -> bool:
        return self.display == HIDDEN or (self.value is None and self.display not in ("", "not shown"))


@dataclass(frozen=True)
class Range:
    """The integer range a reader can work out for one hidden count; high is None when it has no upper bound."""

    label: str
    table: str
    title: str
    row: str
    col: str
    low: int
    high: int | None

    @property
    def values(self) -> float:
        return math.inf if self.high is None else self.high - self.low + 1

    def __str__(self) -> str:
        high = "unbounded" if self.high is None else str(self.high)
        return (f'{self.label}: table "{self.title}", row "{self.row}", column "{self.col}" '
                f"pinned to [{self.low}, {high}] ({self.values:g} values)")


class Reader:
    """Everything a reader knows from a set of published documents, as one integer program."""

    def __init__(self, published: Sequence[Published], places: Iterable[Place]) -> None:
        self.published = list(published)
        self.places = {p.name: p for p in places}
        self.program = _Program()
        # (doc, table key) -> {(row label, col label): variable}
        self.cells: dict[tuple[int, str], dict[tuple[str, str], int]] = {}
        self.slots: list[Slot] = []
        for d, doc in enumerate(self.published):
            self._enter(d, doc)
        for d in range(len(self.published)):
            for e in range(len(self.published)):
                if d != e:
                    self._link(d, e)

    # -- one document

    def _count(self, cell: dict[str, Any], rounded: bool) -> tuple[int, int] | None:
        """(low, high) a published count allows, or None when it is hidden."""
        if cell["value"] is None:
            return None
        value = int(cell["value"])
        return (max(0, value - 2), value + 2) if rounded else (value, value)

    def _table(self, d: int, key: str, title: str, columns: list[str], rows: list[dict[str, Any]],
               totals: dict[str, Any] | None) -> None:
        doc = self.published[d]
        grid: dict[tuple[str, str], int] = {}
        for row in rows:
            for col, cell in zip(columns, row["cells"], strict=True):
                bounds = self._count(cell, doc.rounded)
                # Zeros are always published, so a hidden count is at least 1.
                var = self.program.variable(1) if bounds is None else self.program.variable(*bounds)
                grid[(row["label"], col)] = var
                self.slots.append(Slot(d, key, title, row["label"], col, cell["display"], cell["value"],
                                       ((var, 1),)))
        self.cells[(d, key)] = grid
        margins: list[tuple[str, str, dict[str, Any] | None, dict[int, int]]] = []
        for row in rows:
            if "total" in row:
                margins.append((row["label"], TOTAL, row["total"],
                                {v: 1 for (r, _), v in grid.items() if r == row["label"]}))
        if totals and totals.get("cells"):
            for col, cell in zip(columns, totals["cells"], strict=True):
                margins.append((TOTAL, col, cell, {v: 1 for (_, c), v in grid.items() if c == col}))
        if totals and totals.get("total"):
            margins.append((TOTAL, TOTAL, totals["total"], {v: 1 for v in grid.values()}))
        for row_label, col_label, cell, expression in margins:
            if cell is None:
                continue
            bounds = self._count(cell, doc.rounded)
            if bounds is None:
                self.program.constrain(expression, 1, BIG * len(expression))
            else:
                self.program.constrain(expression, *bounds)
            self.slots.append(Slot(d, key, title, row_label, col_label, cell["display"], cell["value"],
                                   tuple(expression.items())))

    def _enter(self, d: int, doc: Published) -> None:
        document = doc.document
        headline = dict(document["headline"])
        seen = headline["People seen"]
        self._table(d, PEOPLE_SEEN, "People seen", ["People"], [{"label": "People seen", "cells": [
            {"display": seen, "value": None if seen == HIDDEN else int(seen)}]}], None)
        for table in document["tables"]:
            self._table(d, table["key"], table["title"], table["columns"], table["rows"], table.get("totals"))
        people = self.total(d, PEOPLE_SEEN)
        for key in PEOPLE_TABLES:
            if (d, key) in self.cells:
                self.program.constrain(_minus(self.total(d, key), people), 0, 0)
        for key in PEOPLE_AT_MOST:
            for var in self.cells.get((d, key), {}).values():
                self.program.constrain(_minus({var: 1}, people), -BIG, 0)
        if all((d, key) in self.cells for key in VISIT_TABLES):
            visits = self.total(d, VISIT_TABLES[0])
            self.program.constrain(_minus(visits, self.total(d, VISIT_TABLES[1])), 0, 0)
            # Everyone counted was seen at least once in the period, at a place the filters admit.
            self.program.constrain(_minus(visits, people), 0, BIG)
        # The two tables about the detention of the same people agree on who had none.
        lengths, outcomes = self.cells.get((d, "length_of_detention"), {}), self.cells.get((d, "outcomes"), {})
        for (row, col), var in lengths.items():
            if (row, col) in outcomes:
                self.program.constrain({var: 1, outcomes[(row, col)]: -1}, 0, 0)

    def total(self, d: int, key: str) -> dict[int, int]:
        return {v: 1 for v in self.cells.get((d, key), {}).values()}

    def _row(self, d: int, key: str, row: str, col: str) -> dict[int, int]:
        """A cell's variable, or nothing when the row was not published (a place with no visits is left out)."""
        var = self.cells.get((d, key), {}).get((row, col))
        return {} if var is None else {var: 1}

    # -- two documents

    def _link(self, d: int, e: int) -> None:
        """What a reader knows about document d given document e (each ordered pair is visited once)."""
        a, b = self.published[d], self.published[e]
        same_period = a.start == b.start and a.end == b.end
        if same_period and a.same_filters(b):
            if d < e:
                for key in {k for (doc, k) in self.cells if doc == d}:
                    self._relate(d, e, key, equal=True)
            return
        if not (a.within(b) and a.refines(b)):
            return
        keys = {k for (doc, k) in self.cells if doc == d} if same_period else set(WITHIN_PERIOD)
        for key in keys:
            self._relate(d, e, key, equal=False)
        if same_period and not a.same_filters(b):
            # A place the filters admit has every one of its visits in both documents.
            for (row, col), var in self.cells.get((d, "visits_by_facility"), {}).items():
                place = self.places.get(row)
                if place is not None and a.matches(place):
                    self.program.constrain(_minus({var: 1}, self._row(e, "visits_by_facility", row, col)), 0, 0)
            for (row, col), var in self.cells.get((e, "visits_by_facility"), {}).items():
                place = self.places.get(row)
                if place is not None and a.matches(place) and (row, col) not in self.cells.get(
                        (d, "visits_by_facility"), {}):
                    self.program.constrain({var: 1}, 0, 0)

    def _relate(self, d: int, e: int, key: str, *, equal: bool) -> None:
        """Cell by cell: d's count equals (or is at most) e's; a row one of them left out is zero there."""
        mine, theirs = self.cells.get((d, key), {}), self.cells.get((e, key), {})
        if not mine and not theirs:
            return
        for position in set(mine) | set(theirs):
            left = {mine[position]: 1} if position in mine else {}
            right = {theirs[position]: 1} if position in theirs else {}
            if not left and not right:
                continue
            self.program.constrain(_minus(left, right), 0 if equal else -BIG, 0)

    # -- solving

    def ranges(self) -> list[Range]:
        """The integer range of every hidden count (cells and totals) of every document."""
        program = self.program
        n = len(program.lower)
        constraints = program.matrix()
        bounds = Bounds(program.lower, program.upper)
        integrality = np.ones(n)
        found: list[Range] = []
        for slot in self.slots:
            if not slot.hidden:
                continue
            c = np.zeros(n)
            for v, coefficient in slot.expression:
                c[v] += coefficient
            low = _optimum(c, integrality, bounds, constraints, slot)
            high = -_optimum(-c, integrality, bounds, constraints, slot)
            found.append(Range(self.published[slot.doc].label, slot.table, slot.title, slot.row, slot.col,
                               round(low), None if high >= BIG - 0.5 else round(high)))
        return found

    def narrow(self) -> list[Range]:
        """Hidden counts a reader can pin to fewer than k values."""
        return [r for r in self.ranges() if r.values < self._k(r.label)]

    def _k(self, label: str) -> int:
        return next(p.k for p in self.published if p.label == label)

    def differences(self) -> list[str]:
        """Pairs of documents about the same people (the same published number of people, filters and periods
        one inside the other) whose published counts differ by 1 to k-1, or nested documents whose people differ
        by 1 to k-1: subtracting one from the other gives away the contribution of those few people."""
        leaks: list[str] = []
        exact = {(s.doc, s.table, s.row, s.col): s.value for s in self.slots if s.value is not None}
        for d, a in enumerate(self.published):
            for e, b in enumerate(self.published):
                nested = a.within(b) and a.refines(b) and (d < e or not (b.within(a) and b.refines(a)))
                if d == e or not nested or a.rounded or b.rounded:
                    continue
                k = min(a.k, b.k)
                people_a = exact.get((d, PEOPLE_SEEN, "People seen", "People"))
                people_b = exact.get((e, PEOPLE_SEEN, "People seen", "People"))
                if people_a is None or people_b is None:
                    continue
                if 0 < abs(people_b - people_a) < k:
                    leaks.append(f"{a.label} and {b.label}: the people seen differ by {abs(people_b - people_a)} "
                                 f"({people_a} against {people_b})")
                    continue
                if people_a != people_b:
                    continue
                for (doc, table, row, col), value in exact.items():
                    if doc != d or table == PEOPLE_SEEN:
                        continue
                    other = exact.get((e, table, row, col))
                    if other is not None and 0 < abs(other - value) < k:
                        title = next(s.title for s in self.slots if s.doc == d and s.table == table)
                        leaks.append(f'{a.label} and {b.label} count the same {people_a} people, but table '
                                     f'"{title}", row "{row}", column "{col}" differs by {abs(other - value)} '
                                     f"({value} against {other})")
        return leaks


def under_k(published: Sequence[Published]) -> list[str]:
    """Documents released about fewer than k people."""
    found = []
    for doc in published:
        seen = dict(doc.document["headline"])["People seen"]
        if seen == HIDDEN or int(seen) < doc.k:
            found.append(f"{doc.label}: released about fewer than {doc.k} people (people seen {seen})")
    return found


def _optimum(c: np.ndarray, integrality: np.ndarray, bounds: Bounds, constraints: LinearConstraint,
             slot: Slot) -> float:
    result = milp(c, integrality=integrality, bounds=bounds, constraints=constraints)
    if result.status != 0 or result.fun is None:
        raise AssertionError(f"the reader's integer program failed (status {result.status}: {result.message}) "
                             f'bounding "{slot.title}", row "{slot.row}", column "{slot.col}": the documents '
                             "contradict what a reader assumes of them")
    return float(result.fun)


def leaks(published: Sequence[Published], places: Iterable[Place], *, alone: bool = False) -> list[str]:
    """Every leak a reader finds: hidden counts pinned to fewer than k values, differences of fewer than k, and
    documents about fewer than k people. With alone, each document is attacked on its own."""
    places = list(places)
    found: list[str] = []
    if alone:
        for doc in published:
            found += [str(r) for r in Reader([doc], places).narrow()]
    else:
        reader = Reader(published, places)
        found += [str(r) for r in reader.narrow()] + reader.differences()
    found += under_k(published)
    return found
