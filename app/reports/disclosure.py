"""Statistical disclosure control for anonymised summaries: suppression, rounding, the release audit, safe rates."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.optimize import linprog

MIN_K = 5
DEFAULT_K = 10
ROUNDING_BASE = 5
TOTAL = "total"
# What a reader sees for every hidden count (the Office for National Statistics' mark for "confidential").
HIDDEN = "[c]"

# HiGHS answers within about 1e-7 per constraint; counts are whole numbers, so anything closer than this to a
# whole number is that number, and the bound is rounded inwards (which only ever makes the audit stricter).
_INTEGER_TOLERANCE = 1e-4

# A position in a table extended by its margins: (row, col) for a cell, (row, -1) for a row total, (-1, col) for a
# column total and (-1, -1) for the grand total.
_Pos = tuple[int, int]
_GRAND: _Pos = (-1, -1)
# An item across several tables being protected together: (index of the table, position).
_Item = tuple[int, _Pos]


@dataclass(frozen=True)
class Policy:
    k: int = DEFAULT_K
    rounding: bool = False
    secondary: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, Integral):
            raise ValueError(f"k must be a whole number, not {self.k!r}")
        if self.k < MIN_K:
            raise ValueError(f"k must be at least {MIN_K}, not {self.k}")


@dataclass(frozen=True)
class Table:
    """The true counts of one table, before protection. Never published as such."""

    key: str
    title: str
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    row_totals: bool = False
    col_totals: bool = False
    grand_total: bool = False
    population: str | None = None

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.row_labels):
            raise ValueError(f"table {self.key!r}: {len(self.counts)} rows of counts for {len(self.row_labels)} labels")
        for label, row in zip(self.row_labels, self.counts, strict=True):
            if len(row) != len(self.col_labels):
                raise ValueError(f"table {self.key!r}, row {label!r}: {len(row)} counts for "
                                 f"{len(self.col_labels)} columns")
            for count in row:
                if isinstance(count, bool) or not isinstance(count, Integral) or count < 0:
                    raise ValueError(f"table {self.key!r}, row {label!r}: counts must be non-negative whole "
                                     f"numbers, not {count!r}")


@dataclass(frozen=True)
class Cell:
    value: int | None
    display: str
    suppressed: bool


@dataclass(frozen=True)
class ProtectedTable:
    """What a reader sees of one table: a suppressed cell carries no trace of its true value."""

    key: str
    title: str
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...] | None
    col_totals: tuple[Cell, ...] | None
    grand_total: Cell | None
    population: str | None


@dataclass(frozen=True)
class Interval:
    """The range a reader can work out for one hidden count; high is None when it has no upper bound."""

    table_key: str
    row: str
    col: str
    low: int
    high: int | None

    @property
    def width(self) -> float:
        return math.inf if self.high is None else self.high - self.low


class DisclosureRefused(Exception):
    """A release that would let a reader narrow a hidden count to fewer than k values; str() is the reason."""

    def __init__(self, table_key: str, table_title: str, reason: str) -> None:
        super().__init__(reason)
        self.table_key = table_key
        self.table_title = table_title
        self.reason = reason


def _value(table: Table, pos: _Pos) -> int:
    row, col = pos
    if row >= 0 and col >= 0:
        return int(table.counts[row][col])
    if row >= 0:
        return sum(int(c) for c in table.counts[row])
    if col >= 0:
        return sum(int(r[col]) for r in table.counts)
    return sum(int(c) for r in table.counts for c in r)


def _publishes(table: Table, pos: _Pos) -> bool:
    """Whether the table has a slot for this position (a grand total always exists, but may go unpublished)."""
    row, col = pos
    if row >= 0 and col >= 0:
        return True
    if row >= 0:
        return table.row_totals
    if col >= 0:
        return table.col_totals
    return table.grand_total


def _slot(table: ProtectedTable, pos: _Pos) -> Cell | None:
    row, col = pos
    if row >= 0 and col >= 0:
        return table.cells[row][col]
    if row >= 0:
        return table.row_totals[row] if table.row_totals is not None else None
    if col >= 0:
        return table.col_totals[col] if table.col_totals is not None else None
    return table.grand_total


def _positions(n_rows: int, n_cols: int) -> list[_Pos]:
    cells = [(r, c) for r in range(n_rows) for c in range(n_cols)]
    return cells + [(r, -1) for r in range(n_rows)] + [(-1, c) for c in range(n_cols)] + [_GRAND]


# --- single numbers ---------------------------------------------------------------------------------------------

def _round(n: int) -> int:
    # Whole-number arithmetic: never a tie, since a count is never halfway between two multiples of 5.
    return ROUNDING_BASE * ((n + ROUNDING_BASE // 2) // ROUNDING_BASE)


def _hidden(k: int) -> Cell:
    # Primary and secondary suppression look the same, so a reader cannot tell which hidden cells are small; and
    # the mark claims no range, because a cell hidden to protect another may hold any number (not "<10").
    return Cell(value=None, display=HIDDEN, suppressed=True)


def _is_small(n: int, k: int) -> bool:
    return 1 <= n < k


def publish_count(n: int, policy: Policy) -> Cell:
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
        raise ValueError(f"a count must be a non-negative whole number, not {n!r}")
    n = int(n)
    if policy.rounding:
        rounded = _round(n)
        return Cell(value=rounded, display=str(rounded), suppressed=False)
    if _is_small(n, policy.k):
        return _hidden(policy.k)
    return Cell(value=n, display=str(n), suppressed=False)


def share(numerator: int, denominator: int, policy: Policy) -> float | None:
    """Percentage 0..100, or None when publishing it would reveal a count below k.

    In rounding mode nothing is suppressed, so only the denominator rule applies; the caller must then pass the
    published (rounded) counts, since a percentage of true counts would undo the rounding."""
    if numerator < 0 or denominator < 0 or numerator > denominator:
        raise ValueError(f"not a share: {numerator} of {denominator}")
    if denominator < policy.k:
        return None
    if not policy.rounding and (_is_small(numerator, policy.k) or _is_small(denominator - numerator, policy.k)):
        return None
    return 100 * numerator / denominator


def mean(values: Sequence[float], policy: Policy) -> float | None:
    return statistics.fmean(values) if len(values) >= policy.k else None


def median(values: Sequence[float], policy: Policy) -> float | None:
    return float(statistics.median(values)) if len(values) >= policy.k else None


# --- the audit ----------------------------------------------------------------------------------------------------

def _label(labels: tuple[str, ...], index: int) -> str:
    return TOTAL if index < 0 else labels[index]


def _where(pos: _Pos, row_labels: tuple[str, ...], col_labels: tuple[str, ...]) -> str:
    row, col = pos
    if row < 0 and col < 0:
        return "the overall total"
    if col < 0:
        return f'the total of row "{row_labels[row]}"'
    if row < 0:
        return f'the total of column "{col_labels[col]}"'
    return f'row "{row_labels[row]}", column "{col_labels[col]}"'


def _narrow_reason(table: ProtectedTable, pos: _Pos, interval: Interval, k: int) -> str:
    return (f'Table "{table.title}": the hidden count at {_where(pos, table.row_labels, table.col_labels)} can be '
            f"worked out from the published figures to lie between {interval.low} and {interval.high}, a range of "
            f"{interval.width:g}, narrower than the threshold k = {k}.")


def _hidden_positions(table: ProtectedTable) -> Iterator[_Pos]:
    for pos in _positions(len(table.row_labels), len(table.col_labels)):
        cell = _slot(table, pos)
        if cell is not None and cell.suppressed:
            yield pos


def _components(tables: Sequence[ProtectedTable | Table]) -> list[list[int]]:
    """Indices of the tables that must be audited together: those sharing a population are linked."""
    groups: dict[str, list[int]] = {}
    components: list[list[int]] = []
    for index, table in enumerate(tables):
        if table.population is None:
            components.append([index])
        elif table.population in groups:
            groups[table.population].append(index)
        else:
            groups[table.population] = [index]
            components.append(groups[table.population])
    return components


def _bound(c: np.ndarray, a_eq: np.ndarray | None, b_eq: np.ndarray | None,
           bounds: list[tuple[float, float | None]]) -> tuple[int, float]:
    """(status, optimum) of minimising c.x; status 0 solved, 3 unbounded, anything else a failure."""
    result = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    return result.status, (result.fun if result.status == 0 else math.nan)


class _AuditFailure(Exception):
    pass


def _component_intervals(tables: Sequence[ProtectedTable]) -> Iterator[tuple[int, _Pos, Interval]]:
    """Bounds of every hidden count in one linked group of tables, from the published figures alone."""
    hidden = [(t, pos) for t, table in enumerate(tables) for pos in _hidden_positions(table)]
    if not hidden:
        return
    shapes = [(len(t.row_labels), len(t.col_labels)) for t in tables]
    offsets = np.cumsum([0] + [r * c for r, c in shapes]).tolist()
    n_vars = offsets[-1]

    def coefficients(t: int, pos: _Pos) -> np.ndarray:
        n_rows, n_cols = shapes[t]
        grid = np.zeros((n_rows, n_cols))
        row, col = pos
        grid[row if row >= 0 else slice(None), col if col >= 0 else slice(None)] = 1.0
        vector = np.zeros(n_vars)
        vector[offsets[t]:offsets[t + 1]] = grid.ravel()
        return vector

    bounds: list[tuple[float, float | None]] = []
    for table in tables:
        for row in table.cells:
            for cell in row:
                # No upper bound of k-1 for a hidden cell: "<k" tells the reader that much, and it is accepted.
                bounds.append((0.0, None) if cell.suppressed or cell.value is None else (cell.value, cell.value))
    equations: list[np.ndarray] = []
    values: list[float] = []
    for t, table in enumerate(tables):
        n_rows, n_cols = shapes[t]
        margins = [(r, -1) for r in range(n_rows)] + [(-1, c) for c in range(n_cols)] + [_GRAND]
        for pos in margins:
            margin = _slot(table, pos)
            if margin is not None and not margin.suppressed and margin.value is not None:
                equations.append(coefficients(t, pos))
                values.append(float(margin.value))
    # A reader knows that tables about the same people add up to the same number, published or not.
    for t in range(1, len(tables)):
        equations.append(coefficients(t, _GRAND) - coefficients(0, _GRAND))
        values.append(0.0)
    a_eq = np.array(equations) if equations else None
    b_eq = np.array(values) if values else None
    constrained = (a_eq != 0).any(axis=0) if a_eq is not None else np.zeros(n_vars, dtype=bool)
    unknown = np.array([hi is None for _, hi in bounds], dtype=bool)
    # A hidden count tied to no published figure can grow without limit, and no linear program is needed to see it.
    free = unknown & ~constrained
    fixed = np.array([lo if hi is not None else 0.0 for lo, hi in bounds])

    for t, pos in hidden:
        c = coefficients(t, pos)
        support = c != 0
        if (support & unknown & constrained).any():
            status, low = _bound(c, a_eq, b_eq, bounds)
            if status != 0:
                raise _AuditFailure(f"lower bound: status {status}")
        else:
            low = float(fixed @ c)
        if (support & free).any():
            high = math.inf
        else:
            status, negated = _bound(-c, a_eq, b_eq, bounds)
            # The minimum was found, so the problem is feasible: "infeasible or unbounded" means unbounded.
            if status in (2, 3):
                high = math.inf
            elif status == 0:
                high = -negated
            else:
                raise _AuditFailure(f"upper bound: status {status}")
        table = tables[t]
        interval = Interval(
            table_key=table.key, row=_label(table.row_labels, pos[0]), col=_label(table.col_labels, pos[1]),
            low=math.ceil(low - _INTEGER_TOLERANCE),
            high=None if math.isinf(high) else math.floor(high + _INTEGER_TOLERANCE),
        )
        yield t, pos, interval


def _check_keys(tables: Sequence[ProtectedTable] | Sequence[Table]) -> None:
    keys = [t.key for t in tables]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"table keys must be unique: {', '.join(duplicates)}")


def _checked(tables: Sequence[ProtectedTable]) -> Iterator[tuple[int, _Pos, Interval]]:
    # A check that cannot be completed must stop the release, never let it through.
    try:
        yield from _component_intervals(tables)
    except _AuditFailure as exc:
        raise DisclosureRefused(tables[0].key, tables[0].title,
                                f'Table "{tables[0].title}": the disclosure check could not be completed '
                                f"({exc}), so nothing is released.") from exc


def _first_narrow(tables: Sequence[ProtectedTable], k: int) -> tuple[int, _Pos, Interval] | None:
    return next((found for found in _checked(tables) if found[2].width < k), None)


def audit(published: Sequence[ProtectedTable], policy: Policy) -> list[Interval]:
    """The interval of every hidden count given everything published together; refuses if any is narrower than k."""
    _check_keys(published)
    if policy.rounding:
        return []
    intervals: list[Interval] = []
    for component in _components(published):
        tables = [published[i] for i in component]
        for t, pos, interval in _checked(tables):
            if interval.width < policy.k:
                raise DisclosureRefused(tables[t].key, tables[t].title,
                                        _narrow_reason(tables[t], pos, interval, policy.k))
            intervals.append(interval)
    return intervals


# --- protection ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Line:
    """Counts published with their sum: hide exactly one member and subtraction gives it back."""

    members: tuple[_Item, ...]
    total: _Item


def _lines(t: int, table: Table) -> list[_Line]:
    """Lines of cells come first: pairing hidden cells is cheaper than hiding a total, which then needs its own pair."""
    n_rows, n_cols = len(table.row_labels), len(table.col_labels)
    lines: list[_Line] = []
    if table.row_totals:
        lines += [_Line(tuple((t, (r, c)) for c in range(n_cols)), (t, (r, -1))) for r in range(n_rows)]
    if table.col_totals:
        lines += [_Line(tuple((t, (r, c)) for r in range(n_rows)), (t, (-1, c))) for c in range(n_cols)]
    if table.row_totals:
        lines.append(_Line(tuple((t, (r, -1)) for r in range(n_rows)), (t, _GRAND)))
    if table.col_totals:
        lines.append(_Line(tuple((t, (-1, c)) for c in range(n_cols)), (t, _GRAND)))
    if not table.row_totals and not table.col_totals:
        # Kept even without a published grand total: a linked table may publish it.
        lines.append(_Line(tuple((t, (r, c)) for r in range(n_rows) for c in range(n_cols)), (t, _GRAND)))
    return lines


class _Protector:
    """Primary suppression, then secondary suppression until the audit of the linked group passes."""

    def __init__(self, tables: Sequence[Table], k: int) -> None:
        self.tables = list(tables)
        self.k = k
        self.lines = [line for t, table in enumerate(self.tables) for line in _lines(t, table)]
        self.member_of: dict[_Item, list[_Line]] = {}
        self.total_of: dict[_Item, list[_Line]] = {}
        for line in self.lines:
            for member in line.members:
                self.member_of.setdefault(member, []).append(line)
            self.total_of.setdefault(line.total, []).append(line)
        self.hidden: set[_Item] = {item for item in self._items(range(len(self.tables)))
                                   if _is_small(self.value(item), k)}

    def _items(self, indices: Sequence[int] | range) -> Iterator[_Item]:
        for t in indices:
            table = self.tables[t]
            positions = _positions(len(table.row_labels), len(table.col_labels))
            yield from ((t, pos) for pos in positions if _publishes(table, pos))

    def value(self, item: _Item) -> int:
        return _value(self.tables[item[0]], item[1])

    def shown(self, item: _Item) -> bool:
        return _publishes(self.tables[item[0]], item[1]) and item not in self.hidden

    def _hidden_members(self, line: _Line) -> int:
        return sum(1 for m in line.members if m in self.hidden)

    def _category(self, item: _Item, line: _Line) -> int:
        """0 if hiding the item also mends another line, 2 if it would break or be undone by one, else 1."""
        mends = breaks = False
        for other in self.member_of.get(item, []):
            if other is line or not self.shown(other.total):
                continue
            hidden = self._hidden_members(other)
            breaks |= hidden == 0
            mends |= hidden == 1
        for other in self.total_of.get(item, []):
            # A hidden total whose members are all published is just their sum.
            hidden = self._hidden_members(other)
            breaks |= hidden == 0
            mends |= hidden == 1
        return 2 if breaks else 0 if mends else 1

    def _candidate(self, line: _Line, exclude: _Item | None = None) -> _Item | None:
        # Zeros are never hidden: a hidden zero adds no room for the other hidden cells to move.
        options = [m for m in line.members if m != exclude and self.shown(m) and self.value(m) > 0]
        if not options:
            return None
        return min(options, key=lambda m: (self._category(m, line), self.value(m), line.members.index(m)))

    def _pair_up(self, lines: Sequence[_Line]) -> None:
        # Start again from the first line after every change, so that lines of cells are always settled first.
        while (lonely := next((line for line in lines
                               if self.shown(line.total) and self._hidden_members(line) == 1), None)) is not None:
            self.hidden.add(self._candidate(lonely) or lonely.total)

    def _slack(self, item: _Item, line: _Line) -> float:
        """How far the line alone lets the item move; infinite when the line alone does not bind it."""
        if line.total == item:
            return 0.0 if self._hidden_members(line) == 0 else math.inf
        if not self.shown(line.total):
            return math.inf
        return self.value(line.total) - sum(self.value(m) for m in line.members if self.shown(m))

    def _more_in(self, line: _Line, item: _Item) -> _Item | None:
        """The next count to hide in a line to give the item room: its smallest published member, else its total."""
        choice = self._candidate(line, exclude=item)
        if choice is None and line.total != item and self.shown(line.total):
            choice = line.total
        return choice

    def _choices(self, item: _Item, component: Sequence[int]) -> Iterator[_Item]:
        """Counts worth hiding to give the item more room, best first (lazily: each one costs some work)."""
        touching = self.member_of.get(item, []) + self.total_of.get(item, [])
        ranked = sorted(touching, key=lambda line: self._slack(item, line))
        binding = [line for line in ranked if self._slack(item, line) < math.inf]
        loose = [line for line in ranked if self._slack(item, line) == math.inf]
        for line in binding:
            if (choice := self._more_in(line, item)) is not None:
                yield choice
        if item[1] == _GRAND:
            # A linked table's published total is this total too.
            yield from ((t, _GRAND) for t in component if t != item[0] and self.shown((t, _GRAND))
                        and self.value((t, _GRAND)) > 0)
        for line in loose:
            if (choice := self._more_in(line, item)) is not None:
                yield choice
        # Last resort before refusing: anything still published in the same table, then in the linked ones.
        for scope in ([item[0]], component):
            rest = [i for i in self._items(scope) if self.shown(i) and self.value(i) > 0]
            if rest:
                yield min(rest, key=self.value)

    def _widen(self, item: _Item, component: Sequence[int]) -> bool:
        """Hide one more count to give the item more room; False when there is nothing left to hide."""
        choice = next(self._choices(item, component), None)
        if choice is None:
            return False
        self.hidden.add(choice)
        return True

    def view(self, t: int) -> ProtectedTable:
        table = self.tables[t]

        def cell(pos: _Pos) -> Cell:
            if (t, pos) in self.hidden:
                return _hidden(self.k)
            return Cell(value=_value(table, pos), display=str(_value(table, pos)), suppressed=False)

        return _build(table, cell)

    def secure(self) -> None:
        for component in _components(self.tables):
            lines = [line for line in self.lines if line.total[0] in component]
            while True:
                self._pair_up(lines)
                views = [self.view(t) for t in component]
                narrow = _first_narrow(views, self.k)
                if narrow is None:
                    break
                index, pos, interval = narrow
                if not self._widen((component[index], pos), component):
                    raise DisclosureRefused(
                        views[index].key, views[index].title,
                        _narrow_reason(views[index], pos, interval, self.k) + " Nothing more can be hidden to "
                        "prevent it, so the table cannot be released.")


def _build(table: Table, cell: Callable[[_Pos], Cell]) -> ProtectedTable:
    n_rows, n_cols = len(table.row_labels), len(table.col_labels)
    return ProtectedTable(
        key=table.key, title=table.title, row_labels=tuple(table.row_labels), col_labels=tuple(table.col_labels),
        cells=tuple(tuple(cell((r, c)) for c in range(n_cols)) for r in range(n_rows)),
        row_totals=tuple(cell((r, -1)) for r in range(n_rows)) if table.row_totals else None,
        col_totals=tuple(cell((-1, c)) for c in range(n_cols)) if table.col_totals else None,
        grand_total=cell(_GRAND) if table.grand_total else None,
        population=table.population,
    )


def _rounded(table: Table) -> ProtectedTable:
    def cell(pos: _Pos) -> Cell:
        rounded = _round(_value(table, pos))
        return Cell(value=rounded, display=str(rounded), suppressed=False)

    return _build(table, cell)


def protect(table: Table, policy: Policy) -> ProtectedTable:
    """One table on its own; links to other tables are only seen by protect_all."""
    if policy.rounding:
        return _rounded(table)
    protector = _Protector([table], policy.k)
    if policy.secondary:
        protector.secure()
    return protector.view(0)


def protect_all(tables: Sequence[Table], policy: Policy) -> list[ProtectedTable]:
    """Every table of one release, protected together and audited together; raises DisclosureRefused if unsafe."""
    _check_keys(tables)
    totals: dict[str, int] = {}
    for table in tables:
        total = _value(table, _GRAND)
        # The audit assumes linked tables add up to the same number; if they do not, the tables are wrong.
        if table.population is not None and totals.setdefault(table.population, total) != total:
            raise ValueError(f"tables of population {table.population!r} must have equal grand totals")
    if policy.rounding:
        return [_rounded(table) for table in tables]
    protector = _Protector(tables, policy.k)
    if policy.secondary:
        protector.secure()
    published = [protector.view(t) for t in range(len(tables))]
    audit(published, policy)
    return published
