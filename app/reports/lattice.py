"""The cumulative audit: a new release together with every earlier release it can be linked to.

A reader who holds several releases knows more than each one tells: a centre's visits are the same in the summary
for all places and in the one for its region; a filtered population is part of the unfiltered one; a month's
counts are part of its quarter's. Every linked release goes into one integer system (disclosure.System) with
those relations, and the release is refused if any hidden count of any of them, or any difference between two
linked counts, could then take fewer than k values. A pure module: the releases are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.reports import disclosure
from app.reports.disclosure import Cell, ProtectedTable, System, Table

# Tables whose counts depend on the period's last day (a length band, a detention still open), not only on what
# happened within it: a month's are not part of its quarter's.
PERIOD_END_TABLES = frozenset({"length_of_detention", "outcomes"})
# The table whose rows are places: a place's row is the same in any summary of the same period that includes it.
PLACES_TABLE = "visits_by_facility"


@dataclass(frozen=True)
class Held:
    """One release as the audit sees it: what was published, the true counts behind it, and what it covers."""

    label: str  # "this release" or "release 12 (quarter 3 of 2026, all places)"
    start: date
    end: date
    facility_type: str | None
    region: str | None
    rounding: bool
    published: Sequence[ProtectedTable]
    truth: Sequence[Table]


class LinkedRefusal(Exception):
    """The release would let a reader who also holds earlier releases narrow a count below k; str() says which.
    `differencing`: the count is a difference of two linked counts, which an administrator may override."""

    def __init__(self, message: str, *, differencing: bool = False) -> None:
        super().__init__(message)
        self.differencing = differencing


# --- kept tables --------------------------------------------------------------------------------------------

def _cell_json(cell: Cell | None) -> list[Any] | None:
    return None if cell is None else [cell.value, cell.display, cell.suppressed]


def _cell(data: list[Any] | None) -> Cell | None:
    return None if data is None else Cell(value=data[0], display=data[1], suppressed=data[2])


def tables_json(published: Sequence[ProtectedTable], truth: Sequence[Table]) -> dict[str, Any]:
    """What SummaryRelease.tables keeps: every table as published, with its true counts."""
    kept = []
    for table, true in zip(published, truth, strict=True):
        kept.append({
            "key": table.key, "title": table.title, "rows": list(table.row_labels), "cols": list(table.col_labels),
            "population": table.population, "counts": [list(row) for row in true.counts],
            "cells": [[_cell_json(c) for c in row] for row in table.cells],
            "row_totals": None if table.row_totals is None else [_cell_json(c) for c in table.row_totals],
            "col_totals": None if table.col_totals is None else [_cell_json(c) for c in table.col_totals],
            "grand_total": _cell_json(table.grand_total),
        })
    return {"tables": kept}


def tables_from_json(data: Mapping[str, Any]) -> tuple[list[ProtectedTable], list[Table]]:
    published: list[ProtectedTable] = []
    truth: list[Table] = []
    for kept in data["tables"]:
        rows, cols = tuple(kept["rows"]), tuple(kept["cols"])
        published.append(ProtectedTable(
            key=kept["key"], title=kept["title"], row_labels=rows, col_labels=cols,
            cells=tuple(tuple(_cell(c) for c in row) for row in kept["cells"]),  # type: ignore[misc]  # kept cells are never None
            row_totals=None if kept["row_totals"] is None else tuple(_cell(c) for c in kept["row_totals"]),  # type: ignore[misc]  # as above
            col_totals=None if kept["col_totals"] is None else tuple(_cell(c) for c in kept["col_totals"]),  # type: ignore[misc]  # as above
            grand_total=_cell(kept["grand_total"]), population=kept["population"]))
        truth.append(Table(key=kept["key"], title=kept["title"], row_labels=rows, col_labels=cols,
                           counts=tuple(tuple(int(n) for n in row) for row in kept["counts"]),
                           row_totals=kept["row_totals"] is not None, col_totals=kept["col_totals"] is not None,
                           grand_total=kept["grand_total"] is not None, population=kept["population"]))
    return published, truth


# --- relations between releases -----------------------------------------------------------------------------

def within(inner: Held, outer: Held) -> bool:
    """Whether everything `inner` counts is counted by `outer` too: a period inside the other's, and filters
    at least as narrow."""
    return (outer.start <= inner.start and inner.end <= outer.end
            and outer.facility_type in (None, inner.facility_type) and outer.region in (None, inner.region))


def _matched(a: ProtectedTable, b: ProtectedTable) -> list[tuple[disclosure._Pos, disclosure._Pos]]:
    """Positions of the same row and column in two tables of the same kind (rows found by label: a place's row
    is present only where it had visits)."""
    rows = {label: i for i, label in enumerate(b.row_labels)}
    cols = {label: i for i, label in enumerate(b.col_labels)}
    pairs = []
    for pos in disclosure._positions(len(a.row_labels), len(a.col_labels)):
        row, col = pos
        r = rows.get(a.row_labels[row]) if row >= 0 else -1
        c = cols.get(a.col_labels[col]) if col >= 0 else -1
        if r is not None and c is not None and (row < 0) == (r < 0) and (col < 0) == (c < 0):
            pairs.append((pos, (r, c)))
    return pairs


@dataclass
class _Target:
    expression: dict[int, int]
    truth: int
    message: str
    involved: tuple[int, ...]
    # A difference of two linked counts is a count of people or events nobody published: narrowing it matters only
    # while it may be small (a count of k or more may be published exactly). A hidden count matters at any size.
    derived: bool = False


class _Audit:
    def __init__(self, held: Sequence[Held], k: int, places: Mapping[str, tuple[str, str | None]], *,
                 differences: bool) -> None:
        self.held = list(held)
        self.k = k
        self.differences = differences
        self.places = places
        self.system = System()
        self.expressions = [disclosure.add_release(self.system, h.published, h.truth, rounding=h.rounding)
                            for h in self.held]
        self.targets: list[_Target] = []
        for i, h in enumerate(self.held):
            if h.rounding:
                continue
            for t, table in enumerate(h.published):
                for pos in disclosure._hidden_positions(table):
                    self.targets.append(_Target(
                        self.expressions[i][(t, pos)], disclosure._value(h.truth[t], pos),
                        f'the hidden count at {self._where(table, pos)} of table "{table.title}" in {h.label}',
                        (i,)))
        for i in range(len(self.held)):
            for j in range(len(self.held)):
                if i != j and within(self.held[i], self.held[j]):
                    self._link(i, j)

    @staticmethod
    def _where(table: ProtectedTable, pos: disclosure._Pos) -> str:
        return disclosure._where(pos, table.row_labels, table.col_labels)

    def _place_in(self, label: str, h: Held) -> bool:
        kind, region = self.places.get(label, (None, None))
        return (kind is not None and h.facility_type in (None, kind) and h.region in (None, region))

    def _link(self, i: int, j: int) -> None:
        """Release i counts part of what release j counts: every count of i is at most the same count of j; a
        place's row is equal when both cover the same period; and each difference counts people too."""
        inner, outer = self.held[i], self.held[j]
        same_period = (inner.start, inner.end) == (outer.start, outer.end)
        same = same_period and within(outer, inner)
        by_key = {table.key: u for u, table in enumerate(outer.published)}
        for t, table in enumerate(inner.published):
            u = by_key.get(table.key)
            if u is None or (table.key in PERIOD_END_TABLES and not same_period):
                continue
            pairs = _matched(table, outer.published[u])
            true_pairs = [(disclosure._value(inner.truth[t], a), disclosure._value(outer.truth[u], b))
                          for a, b in pairs]
            # The relation is entered only where it holds: a consent withdrawn or a visit signed between two
            # releases changes who is counted, and then the differencing guard compares them instead.
            if same and all(x == y for x, y in true_pairs):
                if i > j:
                    continue  # the same query twice with the same counts: tied once, by the other direction
                for a, b in pairs:
                    self.system.constrain(disclosure.difference(self.expressions[i][(t, a)],
                                                                self.expressions[j][(u, b)]), 0, 0)
                continue
            if not all(x <= y for x, y in true_pairs):
                continue
            for (a, b), (x, y) in zip(pairs, true_pairs, strict=True):
                gap = disclosure.difference(self.expressions[j][(u, b)], self.expressions[i][(t, a)])
                # Only where it holds, as above: a visit signed at the place since makes the rows differ.
                equal = (x == y and same_period and table.key == PLACES_TABLE and a[0] >= 0
                         and self._place_in(table.row_labels[a[0]], inner))
                self.system.constrain(gap, 0, 0 if equal else float("inf"))
                if self.differences and y > x and not equal and not (inner.rounding and outer.rounding):
                    self.targets.append(_Target(
                        gap, y - x, f'the count at {self._where(table, a)} of table "{table.title}" in {outer.label} '
                                    f"less the same count in {inner.label}", (i, j), derived=True))

    def first_narrow(self) -> tuple[_Target, tuple[int, int]] | None:
        ranges = self.system.ranges([t.expression for t in self.targets], self.k)
        for target, found in zip(self.targets, ranges, strict=True):
            if found is None:
                continue
            low, high = found
            if high is not None and high - low < self.k and not (target.derived and low >= self.k):
                return target, (low, high)
        return None


def audit_together(new: Held, earlier: Sequence[Held], k: int, places: Mapping[str, tuple[str, str | None]], *,
                   differences: bool = True) -> None:
    """Refuses (LinkedRefusal) if, holding the new release and every earlier one, a reader could narrow any hidden
    count or (unless an administrator overrode the differencing guard: `differences` False) any difference of
    linked counts to fewer than k values. `places` gives each place's type and region (public facts) by the name
    its row carries."""
    if not earlier:
        return
    held = [new, *earlier]
    try:
        narrow = _Audit(held, k, places, differences=differences).first_narrow()
    except disclosure._AuditFailure as exc:
        raise LinkedRefusal(f"The check against earlier releases could not be completed ({exc}), so nothing is "
                            "released.") from exc
    if narrow is None:
        return
    target, (low, high) = narrow
    others = [held[i].label for i in target.involved if i != 0] or [h.label for h in earlier]
    raise LinkedRefusal(
        f"Together with {' and '.join(others)}, {target.message} could be worked out to lie between {low} and "
        f"{high}, a range of {high - low}, narrower than the threshold k = {k}.", differencing=target.derived)
