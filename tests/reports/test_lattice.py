"""The cumulative audit on hand-made releases: each relation a reader can use between two releases is one test,
with the release it must refuse and one it must let through."""

from __future__ import annotations

from datetime import date

import pytest

from app.reports import lattice
from app.reports.disclosure import Policy, Table, protect_all
from app.reports.lattice import Held, LinkedRefusal, audit_together

K = 10
PLACES = {"Alpha House": ("irc", "North"), "Beta House": ("irc", "North"), "Gamma House": ("irc", "South"),
          "Delta House": ("irc", "South")}
QUARTER = (date(2026, 7, 1), date(2026, 9, 30))
JULY = (date(2026, 7, 1), date(2026, 7, 31))


def _visits(rows: dict[str, int]) -> Table:
    return Table(key="visits_by_facility", title="Visits by place of detention", row_labels=tuple(rows),
                 col_labels=("Visits",), counts=tuple((n,) for n in rows.values()), grand_total=True,
                 population="visits")


def _people(levels: tuple[int, ...]) -> Table:
    return Table(key="aar_levels", title="People by Adults at Risk level",
                 row_labels=("Level 1", "Level 2", "Level 3", "Not assessed"), col_labels=("People",),
                 counts=tuple((n,) for n in levels), grand_total=True, population="people")


def _held(label: str, tables: list[Table], period: tuple[date, date] = QUARTER, *, region: str | None = None,
          rounding: bool = False) -> Held:
    published = protect_all(tables, Policy(k=K, rounding=rounding))
    return Held(label=label, start=period[0], end=period[1], facility_type=None, region=region, rounding=rounding,
                published=published, truth=tables)


def test_a_places_row_is_the_same_in_the_summary_for_its_region():
    everywhere = _held("release 1", [_visits({"Alpha House": 40, "Beta House": 3, "Gamma House": 60,
                                              "Delta House": 12})])
    # Alone, the North summary hides Beta House's 3 and one more; the all-places summary publishes Alpha House's
    # 40 and Beta House is hidden there too, but the rows are the same visits: together they pin the 3.
    north = _held("this summary", [_visits({"Alpha House": 40, "Beta House": 3})], region="North")
    assert north.published[0].cells[1][0].suppressed
    with pytest.raises(LinkedRefusal, match=r'Together with release 1.*"Visits by place of detention"'):
        audit_together(north, [everywhere], K, PLACES)


def test_a_filtered_release_is_part_of_the_unfiltered_one():
    everywhere = _held("release 1", [_people((30, 25, 10, 40))])
    # Alone, the region's hidden 3 and 12 at levels 3 and 2 could be anything from 1 to 14; but the region's people
    # are some of everyone's, and only 10 people in all are at level 3.
    north = _held("this summary", [_people((20, 12, 3, 15))], region="North")
    assert north.published[0].cells[2][0].suppressed and north.published[0].cells[1][0].suppressed
    with pytest.raises(LinkedRefusal, match=r'hidden count at row "Level 2".*between 5 and 14'):
        audit_together(north, [everywhere], K, PLACES)
    # With 20 at level 3 in all, the bound no longer narrows anything.
    audit_together(north, [_held("release 1", [_people((30, 25, 20, 40))])], K, PLACES)


def test_a_month_and_its_quarter_differ_by_a_small_count():
    quarter = _held("release 1", [_people((30, 25, 12, 40))])
    july = _held("this summary", [_people((30, 22, 12, 40))], JULY)
    # 25 - 22: three people at level 2 in August or September, a count the quarter alone would have hidden.
    with pytest.raises(LinkedRefusal, match=r"less the same count in this summary.*between 3 and 3"):
        audit_together(july, [quarter], K, PLACES)
    # Differences of zero or of k or more tell nothing a release could not publish.
    july = _held("this summary", [_people((30, 12, 12, 40))], JULY)
    audit_together(july, [quarter], K, PLACES)


def test_tables_of_the_periods_end_are_not_part_of_the_quarters():
    lengths = ("Under a month", "1 to 3 months")

    def length(counts: tuple[int, int]) -> Table:
        return Table(key="length_of_detention", title="People by length of detention", row_labels=lengths,
                     col_labels=("People",), counts=tuple((n,) for n in counts), grand_total=True)

    # A length band is read on the period's last day: July's "under a month" may exceed the quarter's.
    quarter = _held("release 1", [length((12, 40))])
    july = _held("this summary", [length((30, 25))], JULY)
    audit_together(july, [quarter], K, PLACES)


def test_rounded_and_suppressed_releases_of_the_same_people_narrow_each_other():
    rounded = _held("release 1", [_people((30, 25, 2, 40))], rounding=True)
    # Rounded, the 2 is published as 0: the true count is at most 2, and the suppressed release hides a 2 there.
    north = _held("this summary", [_people((20, 12, 2, 15))], region="North")
    with pytest.raises(LinkedRefusal, match="narrower than the threshold k = 10"):
        audit_together(north, [rounded], K, PLACES)


def test_the_same_query_again_with_the_same_counts_passes():
    first = _held("release 1", [_people((30, 25, 3, 40)), _visits({"Alpha House": 40, "Beta House": 58})])
    again = _held("this summary", [_people((30, 25, 3, 40)), _visits({"Alpha House": 40, "Beta House": 58})])
    audit_together(again, [first], K, PLACES)


def test_a_relation_that_no_longer_holds_is_not_assumed():
    # Between the two, someone withdrew consent: the same query counts fewer people. Equal counts are not assumed
    # (the system would have no solution), and the audit still runs on what does hold.
    first = _held("release 1", [_people((30, 25, 3, 40))])
    later = _held("this summary", [_people((30, 24, 3, 40))])
    with pytest.raises(LinkedRefusal, match="narrower than the threshold k = 10"):
        audit_together(later, [first], K, PLACES)


def test_kept_tables_read_back_exactly():
    held = _held("release 1", [_people((30, 25, 3, 40)), _visits({"Alpha House": 40, "Beta House": 4})])
    published, truth = lattice.tables_from_json(lattice.tables_json(held.published, held.truth))
    assert published == list(held.published) and truth == list(held.truth)


def test_the_same_query_counting_more_people_later_is_linked_too():
    first = _held("release 1", [_people((30, 24, 3, 40))])
    # One more person consented since: the new release is the larger, and the difference is that person.
    later = _held("this summary", [_people((30, 25, 3, 40))])
    with pytest.raises(LinkedRefusal, match="narrower than the threshold k = 10"):
        audit_together(later, [first], K, PLACES)


def test_a_places_row_that_changed_since_is_not_taken_as_equal():
    everywhere = _held("release 1", [_visits({"Alpha House": 40, "Beta House": 30, "Gamma House": 60})])
    # Someone seen at Alpha House withdrew consent after release 1: the region's row is one less. The rows are
    # not the same visits any more, and their difference is that person's one visit.
    north = _held("this summary", [_visits({"Alpha House": 39, "Beta House": 30})], region="North")
    with pytest.raises(LinkedRefusal, match=r'row "Alpha House".*less the same count.*between 1 and 1') as refused:
        audit_together(north, [everywhere], K, PLACES)
    assert refused.value.differencing
