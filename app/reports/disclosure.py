"""Statistical disclosure control for anonymised summaries: suppression, rounding, the release audit, safe rates."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

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


class _AuditFailure(Exception):
    pass


# Every unknown gets this as its upper bound, so that no integer program is unbounded; no count comes near it,
# and a bound at it means "no upper bound".
_BIG = 10**7
_Expression = dict[int, int]


class System:
    """What a reader knows, as whole-number unknowns with bounds and linear constraints between them.

    A reader bounds a hidden count by integer programming over everything they hold. The system splits into the
    groups of unknowns that constraints tie together, and each group is solved on its own; a count proven able to
    take k values by two solutions already found (the true counts are one) needs no solving of its own."""

    def __init__(self) -> None:
        self.lower: list[int] = []
        self.upper: list[int] = []
        self.truth: list[int | None] = []
        self.rows: list[tuple[_Expression, float, float]] = []

    def unknown(self, low: int, high: int = _BIG, truth: int | None = None) -> int:
        self.lower.append(low)
        self.upper.append(high)
        self.truth.append(truth)
        return len(self.lower) - 1

    def known(self, value: int) -> int:
        return self.unknown(value, value, value)

    def constrain(self, expression: _Expression, low: float, high: float = math.inf) -> None:
        self.rows.append((expression, low, high))

    def _fixed(self, var: int) -> bool:
        return self.lower[var] == self.upper[var]

    def _groups(self, targets: Sequence[_Expression]) -> list[int]:
        """For every unknown that is not fixed, the representative of the group it belongs to."""
        parent = list(range(len(self.lower)))

        def root(v: int) -> int:
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        for expression in [row[0] for row in self.rows] + list(targets):
            free = [v for v in expression if not self._fixed(v)]
            for v in free[1:]:
                parent[root(v)] = root(free[0])
        return [root(v) for v in range(len(self.lower))]

    def ranges(self, targets: Sequence[_Expression], k: int | None = None) -> list[tuple[int, int | None] | None]:
        """The integer range (low, high; high None when unbounded) of each target expression. With k, a target
        shown by solutions at hand to span a range of k or more is not solved for and comes back as None."""
        groups = self._groups(targets)
        members: dict[int, list[int]] = {}
        for index, expression in enumerate(targets):
            free = [v for v in expression if not self._fixed(v)]
            members.setdefault(groups[free[0]] if free else -1 - index, []).append(index)
        variables: dict[int, list[int]] = {}
        for v in range(len(self.lower)):
            if not self._fixed(v):
                variables.setdefault(groups[v], []).append(v)
        rows: dict[int, list[tuple[_Expression, float, float]]] = {}
        for row in self.rows:
            first = next((v for v in row[0] if not self._fixed(v)), None)
            if first is not None:
                rows.setdefault(groups[first], []).append(row)
        found: list[tuple[int, int | None] | None] = [None] * len(targets)
        for group, indices in members.items():
            _Group(self, variables.get(group, []), rows.get(group, [])).solve(
                [targets[i] for i in indices], k, found, indices)
        return found


class _Group:
    """One group of unknowns tied together by constraints, as an integer program of its own."""

    def __init__(self, system: System, variables: list[int],
                 constraints: list[tuple[_Expression, float, float]]) -> None:
        self.system = system
        self.variables = variables
        self.local = {v: i for i, v in enumerate(variables)}
        rows: list[list[float]] = []
        lows: list[float] = []
        highs: list[float] = []
        for expression, low, high in constraints:
            row = [0.0] * len(variables)
            constant = 0.0
            for v, coefficient in expression.items():
                if v in self.local:
                    row[self.local[v]] += coefficient
                else:
                    constant += coefficient * system.lower[v]
            rows.append(row)
            lows.append(low - constant)
            highs.append(high - constant)
        self.constraints = LinearConstraint(np.array(rows), lows, highs) if rows else None
        self.bounds = Bounds([system.lower[v] for v in variables], [system.upper[v] for v in variables])
        truth = [system.truth[v] for v in variables]
        # Solutions found so far: the true counts are one, whenever they are all known.
        self.points: list[np.ndarray] = [np.array(truth, dtype=float)] if None not in truth else []

    def _split(self, expression: _Expression) -> tuple[np.ndarray, float]:
        vector = np.zeros(len(self.variables))
        constant = 0.0
        for v, coefficient in expression.items():
            if v in self.local:
                vector[self.local[v]] += coefficient
            else:
                constant += coefficient * self.system.lower[v]
        return vector, constant

    def _optimum(self, vector: np.ndarray) -> float:
        if not self.variables:
            return 0.0
        result = milp(vector, integrality=np.ones(len(self.variables)), bounds=self.bounds,
                      constraints=self.constraints)
        if result.status != 0 or result.x is None:
            raise _AuditFailure(f"status {result.status}")
        self.points.append(np.round(result.x))
        return float(result.fun)

    def solve(self, targets: Sequence[_Expression], k: int | None, found: list[tuple[int, int | None] | None],
              indices: Sequence[int]) -> None:
        split = [self._split(t) for t in targets]
        for (vector, constant), index in zip(split, indices, strict=True):
            if k is not None and self._seen_width(vector) >= k:
                continue
            low = math.ceil(self._optimum(vector) + constant - _INTEGER_TOLERANCE)
            if k is not None and self._seen_width(vector) >= k:
                continue
            high = math.floor(-self._optimum(-vector) + constant + _INTEGER_TOLERANCE)
            found[index] = (low, None if high >= _BIG else high)

    def _seen_width(self, vector: np.ndarray) -> float:
        if len(self.points) < 2:
            return 0.0
        values = [float(vector @ point) for point in self.points]
        return max(values) - min(values)


def add_release(system: System, tables: Sequence[ProtectedTable], truth: Sequence[Table] | None = None, *,
                rounding: bool = False) -> dict[tuple[int, _Pos], _Expression]:
    """Enter one release's tables into the system as a reader holds them; returns the expression of every
    position each table publishes (a cell, a margin), keyed by (index of the table, position).

    A published count is known exactly; a hidden one is a whole number of at least 1, since zeros are always
    published; a count rounded to the nearest 5 lies within 2 of what was published."""
    expressions: dict[tuple[int, _Pos], _Expression] = {}
    for t, table in enumerate(tables):
        true = truth[t] if truth is not None else None
        n_rows, n_cols = len(table.row_labels), len(table.col_labels)
        grid: dict[_Pos, int] = {}
        for r in range(n_rows):
            for c in range(n_cols):
                cell = table.cells[r][c]
                value = int(true.counts[r][c]) if true is not None else None
                if cell.suppressed or cell.value is None:
                    grid[(r, c)] = system.unknown(1, truth=value)
                elif rounding:
                    grid[(r, c)] = system.unknown(max(0, cell.value - 2), cell.value + 2, truth=value)
                else:
                    grid[(r, c)] = system.known(cell.value)
        for pos in _positions(n_rows, n_cols):
            row, col = pos
            members = [v for (r, c), v in grid.items() if (row < 0 or r == row) and (col < 0 or c == col)]
            expression = {v: 1 for v in members}
            slot = _slot(table, pos)
            expressions[(t, pos)] = expression
            if slot is None or not members:
                continue
            if slot.suppressed or slot.value is None:
                system.constrain(expression, 1)
            elif rounding and len(members) > 1:
                system.constrain(expression, max(0, slot.value - 2), slot.value + 2)
            elif len(members) > 1:
                system.constrain(expression, slot.value, slot.value)
    # A reader knows that tables about the same people add up to the same number, published or not.
    first_of: dict[str, int] = {}
    for t, table in enumerate(tables):
        if table.population is None:
            continue
        u = first_of.setdefault(table.population, t)
        if u != t:
            system.constrain(difference(expressions[(t, _GRAND)], expressions[(u, _GRAND)]), 0, 0)
    return expressions


def difference(more: _Expression, less: _Expression) -> _Expression:
    """more - less, as one expression."""
    result = dict(more)
    for v, coefficient in less.items():
        result[v] = result.get(v, 0) - coefficient
    return {v: c for v, c in result.items() if c}


def _component_intervals(tables: Sequence[ProtectedTable], truth: Sequence[Table] | None = None,
                         k: int | None = None) -> Iterator[tuple[int, _Pos, Interval]]:
    """Bounds of every hidden count in a group of tables, from the published figures alone. With k (and the
    true tables, which make it fast), only the counts that may be narrower than k are worked out exactly."""
    system = System()
    expressions = add_release(system, tables, truth)
    hidden = [(t, pos) for t, table in enumerate(tables) for pos in _hidden_positions(table)]
    for (t, pos), found in zip(hidden, system.ranges([expressions[item] for item in hidden], k), strict=True):
        if found is None:
            continue
        table = tables[t]
        yield t, pos, Interval(table_key=table.key, row=_label(table.row_labels, pos[0]),
                               col=_label(table.col_labels, pos[1]), low=found[0], high=found[1])


def _check_keys(tables: Sequence[ProtectedTable] | Sequence[Table]) -> None:
    keys = [t.key for t in tables]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"table keys must be unique: {', '.join(duplicates)}")


def _checked(tables: Sequence[ProtectedTable], truth: Sequence[Table] | None = None,
             k: int | None = None) -> Iterator[tuple[int, _Pos, Interval]]:
    # A check that cannot be completed must stop the release, never let it through.
    try:
        yield from _component_intervals(tables, truth, k)
    except _AuditFailure as exc:
        raise DisclosureRefused(tables[0].key, tables[0].title,
                                f'Table "{tables[0].title}": the disclosure check could not be completed '
                                f"({exc}), so nothing is released.") from exc


def _first_narrow(tables: Sequence[ProtectedTable], k: int,
                  truth: Sequence[Table] | None = None) -> tuple[int, _Pos, Interval] | None:
    return next((found for found in _checked(tables, truth, k) if found[2].width < k), None)


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
                narrow = _first_narrow(views, self.k, [self.tables[t] for t in component])
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
