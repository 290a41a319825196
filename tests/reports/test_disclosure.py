"""Disclosure control: suppression, the integer-programming audit, rounding, safe statistics, and an attacker's view."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from app.reports import disclosure
from app.reports.disclosure import (
    DEFAULT_K,
    MIN_K,
    Cell,
    DisclosureRefused,
    Policy,
    ProtectedTable,
    Table,
    audit,
    mean,
    median,
    protect,
    protect_all,
    publish_count,
    share,
)

pytestmark = pytest.mark.no_database

POLICY = Policy()
RULE35 = Table(
    key="rule35", title="Rule 35 reports by limb and outcome",
    row_labels=("35(1)", "35(2)", "35(3)"), col_labels=("Released", "Maintained", "No response"),
    counts=((12, 3, 25), (30, 40, 20), (15, 22, 18)),
    row_totals=True, col_totals=True, grand_total=True,
)


def one_way(key: str, counts: tuple[int, ...], *, total: bool = True, population: str | None = None) -> Table:
    return Table(key=key, title=f"Table {key}", row_labels=tuple(f"r{i}" for i in range(len(counts))),
                 col_labels=("People",), counts=tuple((c,) for c in counts), grand_total=total,
                 population=population)


def column(table: ProtectedTable) -> list[str]:
    return [row[0].display for row in table.cells]


def margins(table: ProtectedTable) -> list[Cell]:
    return [*(table.row_totals or ()), *(table.col_totals or ()),
            *((table.grand_total,) if table.grand_total is not None else ())]


def true_margins(table: Table) -> list[int]:
    rows = [sum(r) for r in table.counts] if table.row_totals else []
    cols = [sum(r[c] for r in table.counts) for c in range(len(table.col_labels))] if table.col_totals else []
    grand = [sum(map(sum, table.counts))] if table.grand_total else []
    return rows + cols + grand


# --- the attacker -------------------------------------------------------------------------------------------------

def attack(tables: list[ProtectedTable]) -> dict[tuple[str, int, int], tuple[float, float]]:
    """What a reader with an integer-programming solver can learn, from the published tables alone.

    Returns the (low, high) range of every hidden cell, keyed by (table key, row, column); high is inf when
    unbounded. Zeros are always published, so a hidden cell is at least 1; tables sharing a population are known
    to add up to the same number."""
    slots = [(t, r, c) for t, table in enumerate(tables)
             for r in range(len(table.row_labels)) for c in range(len(table.col_labels))]
    index = {slot: i for i, slot in enumerate(slots)}
    bounds = [(1, None) if tables[t].cells[r][c].suppressed else (tables[t].cells[r][c].value,) * 2
              for t, r, c in slots]
    rows: list[list[float]] = []
    rhs: list[float] = []

    def equation(members: list[int], value: float, minus: list[int] = ()) -> None:  # type: ignore[assignment]
        row = [0.0] * len(slots)
        for i in members:
            row[i] += 1
        for i in minus:
            row[i] -= 1
        rows.append(row)
        rhs.append(value)

    for t, table in enumerate(tables):
        everything = [index[(t, r, c)] for r in range(len(table.row_labels)) for c in range(len(table.col_labels))]
        for r, cell in enumerate(table.row_totals or ()):
            if not cell.suppressed:
                equation([index[(t, r, c)] for c in range(len(table.col_labels))], cell.value)
        for c, cell in enumerate(table.col_totals or ()):
            if not cell.suppressed:
                equation([index[(t, r, c)] for r in range(len(table.row_labels))], cell.value)
        if table.grand_total is not None and not table.grand_total.suppressed:
            equation(everything, table.grand_total.value)
        for u in range(t):
            if table.population is not None and tables[u].population == table.population:
                other = [index[(u, r, c)] for r in range(len(tables[u].row_labels))
                         for c in range(len(tables[u].col_labels))]
                equation(everything, 0, minus=other)
    found = {}
    for (t, r, c), i in index.items():
        if not tables[t].cells[r][c].suppressed:
            continue
        objective = [0.0] * len(slots)
        objective[i] = 1.0
        low = linprog(objective, A_eq=rows or None, b_eq=rhs or None, bounds=bounds, method="highs",
                      integrality=[1] * len(slots))
        objective[i] = -1.0
        high = linprog(objective, A_eq=rows or None, b_eq=rhs or None, bounds=bounds, method="highs",
                       integrality=[1] * len(slots))
        assert low.status == 0
        found[(tables[t].key, r, c)] = (low.fun, -high.fun if high.status == 0 else math.inf)
    return found


# --- single numbers and policy ------------------------------------------------------------------------------------

def test_policy_defaults_and_threshold_floor() -> None:
    assert (POLICY.k, POLICY.rounding, POLICY.secondary) == (DEFAULT_K, False, True) == (10, False, True)
    assert Policy(k=MIN_K).k == 5
    for bad in (4, 0, -1, True):
        with pytest.raises(ValueError, match="k must"):
            Policy(k=bad)


def test_primary_suppression_shows_below_k() -> None:
    assert publish_count(7, POLICY) == Cell(value=None, display="[c]", suppressed=True)
    assert publish_count(1, Policy(k=6)) == Cell(value=None, display="[c]", suppressed=True)
    assert publish_count(5, Policy(k=6)).suppressed
    assert publish_count(6, Policy(k=6)) == Cell(value=6, display="6", suppressed=False)
    assert publish_count(10, POLICY) == Cell(value=10, display="10", suppressed=False)
    assert publish_count(9, POLICY).display == "[c]"


def test_zero_is_published_as_zero() -> None:
    assert publish_count(0, POLICY) == Cell(value=0, display="0", suppressed=False)
    table = protect(one_way("z", (0, 3, 12), total=False), POLICY)
    assert column(table) == ["0", "[c]", "12"]
    assert table.cells[0][0] == Cell(0, "0", False)


def test_counts_must_be_non_negative_whole_numbers() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        one_way("neg", (3, -1))
    with pytest.raises(ValueError, match="non-negative"):
        one_way("float", (3, 2.5))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="counts"):
        Table("shape", "Shape", ("a", "b"), ("x",), ((1,),))
    with pytest.raises(ValueError, match="columns"):
        Table("shape", "Shape", ("a",), ("x", "y"), ((1,),))
    with pytest.raises(ValueError):
        publish_count(-1, POLICY)


def test_share_needs_k_in_the_denominator_and_in_both_parts() -> None:
    assert share(12, 40, POLICY) == pytest.approx(30.0)
    assert share(0, 40, POLICY) == 0.0
    assert share(40, 40, POLICY) == 100.0
    assert share(5, 9, POLICY) is None  # denominator below k
    assert share(0, 9, POLICY) is None
    assert share(3, 40, POLICY) is None  # would reveal a suppressed numerator
    assert share(35, 40, POLICY) is None  # would reveal the suppressed remainder (5)
    assert share(3, 40, Policy(k=5)) is None
    assert share(5, 40, Policy(k=5)) == pytest.approx(12.5)
    with pytest.raises(ValueError):
        share(5, 4, POLICY)


def test_mean_and_median_need_k_values() -> None:
    nine, ten = [float(v) for v in range(1, 10)], [float(v) for v in range(1, 11)]
    assert mean(nine, POLICY) is None and median(nine, POLICY) is None
    assert mean(ten, POLICY) == pytest.approx(5.5)
    assert median(ten, POLICY) == pytest.approx(5.5)
    assert median([1, 2, 3, 4, 100], Policy(k=5)) == 3
    assert mean([1, 2, 3, 4], Policy(k=5)) is None


# --- suppression in tables ----------------------------------------------------------------------------------------

def test_table_without_totals_needs_only_primary_suppression() -> None:
    table = protect(one_way("plain", (3, 40, 25, 0), total=False), POLICY)
    assert column(table) == ["[c]", "40", "25", "0"]
    [interval] = audit([table], POLICY)
    assert (interval.row, interval.low, interval.high, interval.width) == ("r0", 1, None, math.inf)


def test_small_totals_are_suppressed_too() -> None:
    table = protect(one_way("small", (3, 4, 0)), POLICY)
    assert column(table) == ["[c]", "[c]", "0"]
    assert table.grand_total == Cell(None, "[c]", True)
    assert all(i.high is None for i in audit([table], POLICY))


def test_secondary_suppression_one_way_with_grand_total() -> None:
    table = protect(one_way("one", (3, 0, 40, 25)), POLICY)
    # The smallest non-zero published cell is hidden with the 3, so the total cannot give it back.
    assert column(table) == ["[c]", "0", "40", "[c]"]
    assert table.grand_total == Cell(68, "68", False)
    intervals = audit([table], POLICY)
    assert [(i.row, i.low, i.high) for i in intervals] == [("r0", 1, 27), ("r3", 1, 27)]


def test_secondary_suppression_two_way_with_all_totals() -> None:
    table = protect(RULE35, POLICY)
    displays = [[c.display for c in row] for row in table.cells]
    # A rectangle: every row and column with a hidden cell holds two, so no subtraction recovers the 3.
    assert displays == [["[c]", "[c]", "25"], ["30", "40", "20"], ["[c]", "[c]", "18"]]
    assert [c.display for c in margins(table)] == ["40", "90", "55", "57", "65", "63", "185"]
    for row in table.cells:
        assert sum(c.suppressed for c in row) in (0, 2)
    for c in range(3):
        assert sum(table.cells[r][c].suppressed for r in range(3)) in (0, 2)
    intervals = audit([table], POLICY)
    assert len(intervals) == 4 and all(i.width >= 10 for i in intervals)
    three = next(i for i in intervals if (i.row, i.col) == ("35(1)", "Maintained"))
    assert (three.low, three.high) == (1, 14)


def test_two_small_hidden_cells_in_a_line_get_more_suppression() -> None:
    table = one_way("pair", (3, 4, 50, 60))
    weak = protect(table, Policy(secondary=False))
    # Both small cells are hidden, yet the published total pins their sum to 7: each lies in [1, 6].
    with pytest.raises(DisclosureRefused, match=r"between 1 and 6.*k = 10"):
        audit([weak], POLICY)
    safe = protect(table, POLICY)
    assert column(safe) == ["[c]", "[c]", "[c]", "60"]
    assert safe.grand_total is not None and safe.grand_total.value == 117
    assert all(i.width >= 10 for i in audit([safe], POLICY))


def test_a_total_is_hidden_when_its_line_has_nothing_else_to_hide() -> None:
    table = Table("lone", "Lone", ("a", "b"), ("x", "y"), ((50, 0), (3, 30)), col_totals=True, row_totals=True)
    protected = protect(table, POLICY)
    intervals = audit([protected], POLICY)
    assert protected.cells[1][0].suppressed and protected.cells[0][0].suppressed
    # Column "x" holds only the 50 and the 3; hiding the 50 fixes it, but row "a" then has nothing else to hide.
    assert protected.row_totals is not None and protected.row_totals[0].suppressed
    assert all(i.width >= 10 for i in intervals)


def test_when_a_line_has_no_cell_left_to_hide_its_total_goes() -> None:
    table = Table("two", "Two by two", ("a", "b"), ("x", "y"), ((6, 5), (10, 3)), row_totals=True, col_totals=True)
    weak = protect(table, Policy(secondary=False))
    assert [c.display for c in margins(weak)] == ["11", "13", "16", "[c]"]
    assert attack([weak])[("two", 0, 0)] == pytest.approx((6, 6))
    safe = protect(table, POLICY)
    # Pairing the 6 with the 10 is not enough: row "a" (11) and column "x" (16) still pin the 6 to a narrow range.
    assert [[c.display for c in row] for row in safe.cells] == [["[c]", "[c]"], ["[c]", "[c]"]]
    assert [c.display for c in margins(safe)] == ["[c]", "13", "16", "[c]"]
    six = audit([safe], POLICY)[0]
    assert (six.row, six.col, six.low, six.high) == ("a", "x", 4, 15)
    assert all(high - low >= 10 for low, high in attack([safe]).values())


def test_widening_a_linked_total_hides_the_other_tables_total_then_gives_up() -> None:
    grand = (-1, -1)
    grid = Table("grid", "Grid", ("a", "b"), ("x", "y"), ((20, 30), (40, 50)), row_totals=True, col_totals=True,
                 grand_total=True, population="people")
    other = one_way("other", (140,), population="people")
    protector = disclosure._Protector([grid, other], 10)
    protector.hidden = {(0, (r, c)) for r in range(2) for c in range(2)} | {(0, (0, -1)), (0, (-1, 0)), (0, grand)}
    # Its own lines leave the grid's total free; only the linked table's published 140 pins it.
    assert protector._widen((0, grand), [0, 1])
    assert (1, grand) in protector.hidden
    protector.hidden |= set(protector._items([0, 1]))
    assert not protector._widen((0, grand), [0, 1])


def test_linked_tables_are_protected_together() -> None:
    # The same people by two breakdowns: the reader knows both add up to the same number.
    by_level = one_way("by_level", (3, 20), total=False, population="people")
    by_band = one_way("by_band", (23,), total=True, population="people")
    alone = [protect(by_level, POLICY), protect(by_band, POLICY)]
    assert column(alone[0]) == ["[c]", "20"]
    with pytest.raises(DisclosureRefused, match='Table "Table by_level".*between 3 and 3') as refused:
        audit(alone, POLICY)
    assert refused.value.table_key == "by_level"
    assert attack(alone)[("by_level", 0, 0)] == pytest.approx((3, 3))

    together = protect_all([by_level, by_band], POLICY)
    assert column(together[0]) == ["[c]", "[c]"]
    assert column(together[1]) == ["23"] and together[1].grand_total == Cell(23, "23", False)
    assert all(i.width >= 10 for i in audit(together, POLICY))
    assert all(high - low >= 10 for low, high in attack(together).values())


def test_linked_tables_must_agree_on_their_total() -> None:
    with pytest.raises(ValueError, match="equal grand totals"):
        protect_all([one_way("a", (10, 20), population="p"), one_way("b", (31,), population="p")], POLICY)


def test_table_keys_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        protect_all([one_way("a", (10,)), one_way("a", (20,))], POLICY)


def test_hidden_values_never_reach_the_protected_table() -> None:
    table = Table("leak", "Leak", ("a", "b"), ("x", "y"), ((7, 123), (456, 789)),
                  row_totals=True, col_totals=True, grand_total=True)
    protected = protect(table, POLICY)
    hidden = {table.counts[r][c] for r in range(2) for c in range(2) if protected.cells[r][c].suppressed}
    assert 7 in hidden and len(hidden) >= 2
    text = repr(protected)
    for value in hidden:
        assert not re.search(rf"\b{value}\b", text), value
    for row in protected.cells:
        for cell in row:
            assert (cell.value is None) == cell.suppressed
            assert cell.display == "[c]" if cell.suppressed else cell.display == str(cell.value)


def test_refusal_names_the_table_cell_interval_and_k() -> None:
    weak = protect(RULE35, Policy(secondary=False))
    with pytest.raises(DisclosureRefused) as refused:
        audit([weak], POLICY)
    exc = refused.value
    assert (exc.table_key, exc.table_title) == ("rule35", "Rule 35 reports by limb and outcome")
    assert str(exc) == exc.reason
    assert exc.reason == ('Table "Rule 35 reports by limb and outcome": the hidden count at row "35(1)", column '
                          '"Maintained" can be worked out from the published figures to lie between 3 and 3, a '
                          "range of 0, narrower than the threshold k = 10.")
    with pytest.raises(DisclosureRefused, match="Rule 35"):
        protect_all([RULE35], Policy(secondary=False))


def shown(n: int) -> Cell:
    return Cell(n, str(n), False)


HIDDEN = Cell(None, "[c]", True)


@pytest.mark.parametrize(("row_totals", "col_totals", "grand", "where", "value"), [
    ((HIDDEN, shown(70)), None, None, 'the total of row "a"', 42),
    (None, (shown(32), HIDDEN), None, 'the total of column "y"', 80),
    (None, None, HIDDEN, "the overall total", 112),
])
def test_audit_catches_a_hidden_total_that_is_the_sum_of_published_cells(
        row_totals: tuple[Cell, ...] | None, col_totals: tuple[Cell, ...] | None, grand: Cell | None,
        where: str, value: int) -> None:
    published = ProtectedTable(key="hand", title="Hand-made", row_labels=("a", "b"), col_labels=("x", "y"),
                               cells=((shown(12), shown(30)), (shown(20), shown(50))), row_totals=row_totals,
                               col_totals=col_totals, grand_total=grand, population=None)
    with pytest.raises(DisclosureRefused) as refused:
        audit([published], POLICY)
    assert refused.value.reason == (f'Table "Hand-made": the hidden count at {where} can be worked out from the '
                                    f"published figures to lie between {value} and {value}, a range of 0, narrower "
                                    "than the threshold k = 10.")


def test_protect_all_refuses_when_nothing_more_can_be_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disclosure._Protector, "_widen", lambda self, item, component: False)
    with pytest.raises(DisclosureRefused, match=r'Table "Table pair".*between 1 and 6.*cannot be released') as exc:
        protect_all([one_way("ok", (40, 50)), one_way("pair", (3, 4, 50, 60))], POLICY)
    assert exc.value.table_key == "pair"


def test_audit_refuses_when_the_solver_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    safe = protect(one_way("one", (3, 0, 40, 25)), POLICY)
    monkeypatch.setattr(disclosure, "milp", lambda *a, **kw: SimpleNamespace(status=4, x=None, fun=math.nan))
    with pytest.raises(DisclosureRefused, match="could not be completed"):
        audit([safe], POLICY)


# --- rounding mode ------------------------------------------------------------------------------------------------

def test_rounding_mode_rounds_every_count_to_the_nearest_five() -> None:
    rounding = Policy(rounding=True)
    assert [publish_count(n, rounding).display for n in range(11)] == \
        ["0", "0", "0", "5", "5", "5", "5", "5", "10", "10", "10"]
    assert publish_count(12, rounding) == Cell(10, "10", False)
    assert publish_count(13, rounding) == Cell(15, "15", False)
    table = protect(RULE35, rounding)
    assert [[c.value for c in row] for row in table.cells] == [[10, 5, 25], [30, 40, 20], [15, 20, 20]]
    # Totals are rounded on their own, so they need not add up.
    assert [c.value for c in margins(table)] == [40, 90, 55, 55, 65, 65, 185]
    assert not any(c.suppressed for row in table.cells for c in row)
    assert protect_all([RULE35], rounding) == [table]
    assert audit([table], rounding) == []


def test_rounding_mode_keeps_the_denominator_rule() -> None:
    rounding = Policy(rounding=True)
    assert share(5, 9, rounding) is None
    assert share(5, 10, rounding) == pytest.approx(50.0)
    assert mean([1.0] * 9, rounding) is None and median([1.0] * 10, rounding) == 1.0


# --- properties ---------------------------------------------------------------------------------------------------

COUNT = st.one_of(st.integers(0, 15), st.integers(0, 15), st.integers(0, 15), st.integers(0, 500))


@st.composite
def tables(draw: st.DrawFn, key: str = "t", rows: int | None = None, cols: int | None = None) -> Table:
    n_rows = rows if rows is not None else draw(st.integers(1, 6))
    n_cols = cols if cols is not None else draw(st.integers(1, 5))
    counts = draw(st.lists(st.lists(COUNT, min_size=n_cols, max_size=n_cols), min_size=n_rows, max_size=n_rows))
    return Table(key=key, title=f"Table {key}", row_labels=tuple(f"row {i}" for i in range(n_rows)),
                 col_labels=tuple(f"col {j}" for j in range(n_cols)), counts=tuple(map(tuple, counts)),
                 row_totals=draw(st.booleans()), col_totals=draw(st.booleans()), grand_total=draw(st.booleans()))


def check_protected(table: Table, protected: ProtectedTable, k: int) -> None:
    pairs = [(table.counts[r][c], protected.cells[r][c])
             for r in range(len(table.row_labels)) for c in range(len(table.col_labels))]
    pairs += list(zip(true_margins(table), margins(protected), strict=True))
    for true, cell in pairs:
        if cell.suppressed:
            assert cell.value is None and cell.display == "[c]"
        else:
            assert cell.value == true and cell.display == str(true)
            assert not 1 <= true < k
        if 1 <= true < k:
            assert cell.suppressed


def check_intervals(table: Table, protected: ProtectedTable, intervals: list[disclosure.Interval], k: int) -> None:
    hidden = [cell for cell in [c for row in protected.cells for c in row] + margins(protected) if cell.suppressed]
    assert len(intervals) == len(hidden)
    rows, cols = list(table.row_labels), list(table.col_labels)
    for interval in intervals:
        assert interval.width >= k
        r = rows.index(interval.row) if interval.row != "total" else None
        c = cols.index(interval.col) if interval.col != "total" else None
        true = sum(table.counts[i][j] for i in range(len(rows)) for j in range(len(cols))
                   if r in (None, i) and c in (None, j))
        # The audit must be about the real table: the true count always lies inside its interval.
        assert interval.low <= true and (interval.high is None or true <= interval.high)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), k=st.integers(5, 15))
def test_property_protected_tables_publish_nothing_small_and_pass_the_audit(table: Table, k: int) -> None:
    policy = Policy(k=k)
    try:
        [protected] = protect_all([table], policy)
    except DisclosureRefused as refused:
        note(f"refused: {refused}")
        assert refused.table_key == table.key and f"k = {k}" in refused.reason
        return
    check_protected(table, protected, k)
    check_intervals(table, protected, audit([protected], policy), k)
    if not (table.row_totals or table.col_totals or table.grand_total):
        assert all(c.suppressed == (1 <= v < k) for row, vals in zip(protected.cells, table.counts, strict=True)
                   for c, v in zip(row, vals, strict=True))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), k=st.integers(5, 15))
def test_property_linked_tables_are_safe_together(data: st.DataObject, k: int) -> None:
    first = data.draw(tables(key="first"))
    second = data.draw(tables(key="second"))
    # Rebuild the second table so both describe the same people: equal grand totals.
    counts = [list(r) for r in second.counts]
    counts[0][0] += sum(map(sum, first.counts)) - sum(map(sum, counts))
    if counts[0][0] < 0:
        counts = [[0] * len(r) for r in counts]
        counts[0][0] = sum(map(sum, first.counts))
    first = Table(**{**first.__dict__, "population": "people"})
    second = Table(**{**second.__dict__, "counts": tuple(map(tuple, counts)), "population": "people"})
    policy = Policy(k=k)
    try:
        published = protect_all([first, second], policy)
    except DisclosureRefused as refused:
        note(f"refused: {refused}")
        assert refused.table_key in ("first", "second")
        return
    intervals = audit(published, policy)
    for table, protected in zip((first, second), published, strict=True):
        check_protected(table, protected, k)
        check_intervals(table, protected, [i for i in intervals if i.table_key == table.key], k)
    assert all(high - low >= k for low, high in attack(published).values())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), k=st.integers(5, 15))
def test_property_attacker_cannot_narrow_any_hidden_cell(table: Table, k: int) -> None:
    try:
        [protected] = protect_all([table], Policy(k=k))
    except DisclosureRefused:
        return
    for (_, r, c), (low, high) in attack([protected]).items():
        assert low - 1e-6 <= table.counts[r][c] <= high + 1e-6
        assert high - low >= k - 1e-6, (r, c, low, high)


# --- the attack, with protection on and off -----------------------------------------------------------------------

def test_attacker_recovers_a_hidden_cell_only_when_secondary_suppression_is_off() -> None:
    admissions = Table("admissions", "Admissions by facility", ("Brook House", "Colnbrook", "Harmondsworth"),
                       ("People",), ((4,), (61,), (38,)), grand_total=True)
    weak = protect(admissions, Policy(secondary=False))
    assert [c.display for c in margins(weak)] == ["103"]
    assert column(weak) == ["[c]", "61", "38"]
    # 103 - 61 - 38: the "[c]" at Brook House is exactly 4.
    assert attack([weak]) == {("admissions", 0, 0): pytest.approx((4, 4))}
    with pytest.raises(DisclosureRefused, match='Table "Admissions by facility".*"Brook House".*between 4 and 4'):
        audit([weak], POLICY)

    safe = protect(admissions, POLICY)
    assert column(safe) == ["[c]", "61", "[c]"]
    found = attack([safe])
    assert set(found) == {("admissions", 0, 0), ("admissions", 2, 0)}
    assert all(high - low >= 10 for low, high in found.values())


def test_attacker_cannot_pin_any_cell_of_a_protected_two_way_table() -> None:
    grid = Table("referrals", "Referrals by type of organisation and outcome",
                 ("Legal", "Medical", "Welfare", "Housing"), ("Accepted", "Declined", "Pending"),
                 ((3, 14, 27), (22, 1, 16), (8, 30, 11), (40, 9, 2)),
                 row_totals=True, col_totals=True, grand_total=True)
    weak = protect(grid, Policy(secondary=False))
    assert any(high - low < 10 for low, high in attack([weak]).values())
    found = attack([protect(grid, POLICY)])
    assert len(found) >= 5
    for (_, r, c), (low, high) in found.items():
        assert low <= grid.counts[r][c] <= high
        assert high - low >= 10
