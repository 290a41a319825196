"""The detention clock: day counting, Home Office bands, thresholds and the SQL cut-off dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.detention.clock import (
    BANDS,
    THRESHOLDS,
    Episode,
    Threshold,
    band_on,
    days_between_inclusive,
    latest_start_reaching,
    reached_on,
    read_clock,
    threshold,
    today_in,
)

pytestmark = pytest.mark.no_database

D = date
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Wide enough for 48 months either side without leaving the range date supports.
dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2060, 12, 31))
thresholds = st.sampled_from(THRESHOLDS)
fast = settings(max_examples=200, deadline=None)


def on_day(start: date, n: int) -> date:
    """The date that is day n of an episode starting on `start` (day 1 is the start)."""
    return start + timedelta(days=n - 1)


def band_label(start: date, on: date) -> str:
    return band_on(start, on).label


# --- structure --------------------------------------------------------------------------------------------------


def test_thresholds_and_bands_line_up() -> None:
    assert [t.key for t in THRESHOLDS] == [
        "day_4", "day_8", "day_15", "day_29", "month_2", "month_3", "month_4", "month_6", "month_12", "month_18",
        "month_24", "month_36", "month_48",
    ]
    assert [b.label for b in BANDS] == [
        "3 days or less", "4 to 7 days", "8 to 14 days", "15 to 28 days", "29 days to under 2 months",
        "2 to 3 months", "3 to 4 months", "4 to 6 months", "6 to 12 months", "12 to 18 months", "18 to 24 months",
        "24 to 36 months", "36 to 48 months", "48 months or more",
    ]
    assert [b.index for b in BANDS] == list(range(14))
    assert BANDS[0].starts_at is None
    assert [b.starts_at for b in BANDS[1:]] == list(THRESHOLDS)
    assert threshold("day_29") == THRESHOLDS[3]
    assert (threshold("day_29").days, threshold("day_29").months, threshold("day_29").label) == (29, None, "29 days")
    assert (threshold("month_2").days, threshold("month_2").months, threshold("month_2").label) == (None, 2, "2 months")
    with pytest.raises(KeyError):
        threshold("month_1")


def test_thresholds_are_reached_in_order_for_every_start_in_a_leap_cycle() -> None:
    start = D(2023, 1, 1)
    while start < D(2027, 1, 1):
        dates_reached = [reached_on(start, t) for t in THRESHOLDS]
        assert dates_reached == sorted(set(dates_reached)), start
        start += timedelta(days=1)


# --- day counting ----------------------------------------------------------------------------------------------


def test_the_start_date_is_day_1() -> None:
    reading = read_clock([Episode(D(2026, 3, 10), None)], D(2026, 3, 10))
    assert reading.detained
    assert reading.current_start == D(2026, 3, 10)
    assert reading.current_days == 1
    assert reading.cumulative_days == 1
    assert reading.band == BANDS[0]
    assert reading.thresholds_crossed == ()
    assert reading.next_threshold == threshold("day_4")
    assert reading.next_threshold_date == D(2026, 3, 13)


def test_a_closed_episode_counts_start_to_end_inclusive() -> None:
    assert read_clock([Episode(D(2026, 1, 5), D(2026, 1, 5))], D(2026, 6, 1)).cumulative_days == 1
    reading = read_clock([Episode(D(2026, 1, 1), D(2026, 1, 31))], D(2026, 6, 1))
    assert reading.cumulative_days == 31
    assert not reading.detained
    assert (reading.current_start, reading.current_days, reading.band) == (None, None, None)
    assert (reading.thresholds_crossed, reading.next_threshold, reading.next_threshold_date) == ((), None, None)
    assert reading.episodes == 1
    assert days_between_inclusive(D(2026, 1, 1), D(2026, 1, 1)) == 1
    with pytest.raises(ValueError):
        days_between_inclusive(D(2026, 1, 2), D(2026, 1, 1))


@pytest.mark.parametrize(("last_day_in_band", "below", "above"), [
    (3, "3 days or less", "4 to 7 days"),
    (7, "4 to 7 days", "8 to 14 days"),
    (14, "8 to 14 days", "15 to 28 days"),
    (28, "15 to 28 days", "29 days to under 2 months"),
])
def test_day_band_boundaries(last_day_in_band: int, below: str, above: str) -> None:
    start = D(2026, 2, 20)  # runs across the end of February in a non-leap year
    assert band_label(start, on_day(start, last_day_in_band)) == below
    assert band_label(start, on_day(start, last_day_in_band + 1)) == above


def test_28_days_versus_29_days() -> None:
    start = D(2026, 1, 1)
    assert reached_on(start, threshold("day_29")) == D(2026, 1, 29)
    day_28 = read_clock([Episode(start, None)], D(2026, 1, 28))
    assert day_28.current_days == 28
    assert day_28.band.label == "15 to 28 days"
    assert day_28.next_threshold == threshold("day_29")
    assert day_28.next_threshold_date == D(2026, 1, 29)
    day_29 = read_clock([Episode(start, None)], D(2026, 1, 29))
    assert day_29.current_days == 29
    assert day_29.band.label == "29 days to under 2 months"
    assert day_29.thresholds_crossed[-1] == threshold("day_29")
    assert day_29.next_threshold == threshold("month_2")
    assert day_29.next_threshold_date == D(2026, 3, 1)


# --- month thresholds -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "key", "expected"), [
    # Same day of the month when it exists: 15 Jan to 15 Mar is day 60 in a non-leap year.
    (D(2026, 1, 15), "month_2", D(2026, 3, 15)),
    (D(2028, 1, 15), "month_2", D(2028, 3, 15)),
    # Missing day: the 1st of the following month.
    (D(2025, 1, 31), "month_2", D(2025, 3, 31)),
    (D(2025, 1, 31), "month_3", D(2025, 5, 1)),
    (D(2025, 1, 31), "month_4", D(2025, 5, 31)),
    (D(2025, 12, 31), "month_2", D(2026, 3, 1)),
    (D(2025, 12, 31), "month_3", D(2026, 3, 31)),
    (D(2025, 12, 31), "month_6", D(2026, 7, 1)),
    (D(2025, 11, 30), "month_2", D(2026, 1, 30)),
    (D(2025, 11, 30), "month_3", D(2026, 3, 1)),
    (D(2027, 11, 30), "month_3", D(2028, 3, 1)),
    # Leap years.
    (D(2024, 2, 29), "month_6", D(2024, 8, 29)),
    (D(2024, 2, 29), "month_12", D(2025, 3, 1)),
    (D(2024, 2, 29), "month_24", D(2026, 3, 1)),
    (D(2024, 2, 29), "month_48", D(2028, 2, 29)),
    (D(2027, 12, 29), "month_2", D(2028, 2, 29)),
    (D(2027, 12, 30), "month_2", D(2028, 3, 1)),
    (D(2025, 12, 29), "month_2", D(2026, 3, 1)),
    # Across the year end.
    (D(2025, 11, 15), "month_3", D(2026, 2, 15)),
    (D(2025, 7, 1), "month_18", D(2027, 1, 1)),
])
def test_month_thresholds(start: date, key: str, expected: date) -> None:
    assert reached_on(start, threshold(key)) == expected
    assert band_on(start, expected).starts_at == threshold(key)
    assert band_on(start, expected - timedelta(days=1)).index == band_on(start, expected).index - 1


def test_day_60_is_2_months_from_15_january_in_a_non_leap_year() -> None:
    start = D(2026, 1, 15)
    assert days_between_inclusive(start, reached_on(start, threshold("month_2"))) == 60
    assert read_clock([Episode(start, None)], D(2026, 3, 14)).band.label == "29 days to under 2 months"
    assert read_clock([Episode(start, None)], D(2026, 3, 15)).band.label == "2 to 3 months"


def test_episodes_crossing_29_february_2028() -> None:
    # 29 Feb is an ordinary day in the count: 1 Feb to 1 Mar 2028 is 30 days, but 29 days in 2027.
    assert read_clock([Episode(D(2028, 2, 1), None)], D(2028, 3, 1)).current_days == 30
    assert read_clock([Episode(D(2027, 2, 1), None)], D(2027, 3, 1)).current_days == 29
    assert reached_on(D(2028, 2, 10), threshold("day_29")) == D(2028, 3, 9)
    assert reached_on(D(2027, 2, 10), threshold("day_29")) == D(2027, 3, 10)
    assert read_clock([Episode(D(2028, 2, 1), D(2028, 2, 29))], D(2028, 12, 1)).cumulative_days == 29


def test_the_48_months_or_more_band() -> None:
    start = D(2020, 1, 1)
    assert band_label(start, D(2023, 12, 31)) == "36 to 48 months"
    assert band_label(start, D(2024, 1, 1)) == "48 months or more"
    assert band_label(start, D(2035, 6, 1)) == "48 months or more"
    before = read_clock([Episode(start, None)], D(2023, 12, 31))
    assert (before.next_threshold, before.next_threshold_date) == (threshold("month_48"), D(2024, 1, 1))
    reading = read_clock([Episode(start, None)], D(2024, 1, 1))
    assert reading.band == BANDS[-1]
    assert reading.thresholds_crossed == THRESHOLDS
    assert (reading.next_threshold, reading.next_threshold_date) == (None, None)
    assert reading.current_days == 1462


def test_band_on_needs_a_date_on_or_after_the_start() -> None:
    assert band_on(D(2026, 1, 1), D(2026, 1, 1)) == BANDS[0]
    with pytest.raises(ValueError):
        band_on(D(2026, 1, 2), D(2026, 1, 1))


# --- latest_start_reaching --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "on", "expected"), [
    ("day_29", D(2026, 1, 29), D(2026, 1, 1)),
    ("day_4", D(2026, 3, 1), D(2026, 2, 26)),
    ("month_2", D(2026, 3, 15), D(2026, 1, 15)),
    # 29-31 Dec 2025 reach 2 months on 1 Mar 2026, but 1 Jan 2026 does too and is later.
    ("month_2", D(2026, 3, 1), D(2026, 1, 1)),
    # ... and on 28 Feb only starts up to 28 Dec have reached 2 months.
    ("month_2", D(2026, 2, 28), D(2025, 12, 28)),
    # Every February start has reached 2 months by 30 April; 1 March reaches it on 1 May.
    ("month_2", D(2026, 4, 30), D(2026, 2, 28)),
    ("month_12", D(2025, 3, 1), D(2024, 3, 1)),
    ("month_12", D(2025, 2, 28), D(2024, 2, 28)),
    ("month_48", D(2028, 2, 29), D(2024, 2, 29)),
])
def test_latest_start_reaching_examples(key: str, on: date, expected: date) -> None:
    t = threshold(key)
    assert latest_start_reaching(t, on) == expected
    assert reached_on(expected, t) <= on < reached_on(expected + timedelta(days=1), t)


@pytest.mark.parametrize("t", THRESHOLDS, ids=[t.key for t in THRESHOLDS])
def test_latest_start_reaching_matches_an_exhaustive_scan(t: Threshold) -> None:
    # Walk every start from 2018 and every `on` from 2028 to 2029 together (reached_on never decreases as the
    # start moves later), keeping the last start that has reached t.
    start, first_unreached = D(2018, 1, 1), D(2018, 1, 1)
    on = D(2028, 1, 1)
    while on <= D(2029, 12, 31):
        while reached_on(first_unreached, t) <= on:
            first_unreached += timedelta(days=1)
        assert first_unreached > start, "the scan must start early enough to see an unreached start"
        assert latest_start_reaching(t, on) == first_unreached - timedelta(days=1), on
        on += timedelta(days=1)


@fast
@given(t=thresholds, s=dates, on=dates)
def test_latest_start_reaching_is_exact(t: Threshold, s: date, on: date) -> None:
    assert (reached_on(s, t) <= on) == (s <= latest_start_reaching(t, on))


@fast
@given(t=thresholds, s1=dates, s2=dates)
def test_later_starts_reach_thresholds_no_earlier(t: Threshold, s1: date, s2: date) -> None:
    if s1 <= s2:
        assert reached_on(s1, t) <= reached_on(s2, t)


# --- read_clock -------------------------------------------------------------------------------------------------


def test_input_checks_and_future_data() -> None:
    with pytest.raises(ValueError):
        read_clock([Episode(D(2026, 1, 2), D(2026, 1, 1))], D(2026, 2, 1))
    with pytest.raises(ValueError):
        read_clock([Episode(D(2026, 1, 1), None), Episode(D(2026, 1, 5), None)], D(2026, 2, 1))

    # An episode starting after today is not counted at all.
    reading = read_clock([Episode(D(2026, 1, 1), D(2026, 1, 10)), Episode(D(2026, 3, 1), None)], D(2026, 2, 1))
    assert (reading.detained, reading.cumulative_days, reading.episodes) == (False, 10, 1)

    # An end date after today counts only to today, and is a recorded release rather than a current episode.
    reading = read_clock([Episode(D(2026, 1, 1), D(2026, 3, 1))], D(2026, 1, 20))
    assert (reading.detained, reading.cumulative_days) == (False, 20)


def test_overlapping_episodes_are_not_double_counted() -> None:
    episodes = [Episode(D(2026, 1, 5), D(2026, 1, 20)), Episode(D(2026, 1, 1), D(2026, 1, 10)),
                Episode(D(2026, 1, 8), D(2026, 1, 9)), Episode(D(2026, 1, 18), None)]
    reading = read_clock(episodes, D(2026, 1, 31))
    assert reading.cumulative_days == 31
    assert (reading.current_start, reading.current_days, reading.episodes) == (D(2026, 1, 18), 14, 4)


def test_re_detention_starts_the_current_count_again() -> None:
    episodes = [Episode(D(2025, 6, 1), D(2025, 9, 30)), Episode(D(2026, 1, 10), None)]
    reading = read_clock(episodes, D(2026, 1, 10))
    assert (reading.current_days, reading.band, reading.cumulative_days) == (1, BANDS[0], 122 + 1)


# A caseworker's record: episodes with the transfers (placements) inside them.
@dataclass
class RecordedEpisode:
    start: date
    end: date | None
    transfer_dates: list[date] = field(default_factory=list)


def clock_input(record: list[RecordedEpisode]) -> list[Episode]:
    return [Episode(r.start, r.end) for r in record]


@st.composite
def detention_history(draw: st.DrawFn, min_episodes: int = 1,
                      max_episodes: int = 4) -> tuple[list[RecordedEpisode], date]:
    """Non-overlapping episodes in date order, the last one ongoing, with transfers inside each; and a today on
    or after the last start."""
    count = draw(st.integers(min_episodes, max_episodes))
    day = draw(st.dates(min_value=D(1995, 1, 1), max_value=D(2030, 12, 31)))
    record = []
    for i in range(count):
        start = day
        end = None if i == count - 1 else start + timedelta(days=draw(st.integers(0, 800)))
        span_end = end or start + timedelta(days=2000)
        transfers = sorted(draw(st.lists(st.dates(min_value=start, max_value=span_end), max_size=5)))
        record.append(RecordedEpisode(start, end, transfers))
        if end is not None:
            day = end + timedelta(days=draw(st.integers(1, 400)))  # released, then detained again later
    today = record[-1].start + timedelta(days=draw(st.integers(0, 2000)))
    return record, today


@settings(max_examples=100, deadline=None)
@given(history=detention_history(), extra=st.lists(st.integers(0, 2000), max_size=6), data=st.data())
def test_transfers_never_change_the_clock(history: tuple[list[RecordedEpisode], date], extra: list[int],
                                          data: st.DataObject) -> None:
    record, today = history
    with_more_transfers = [
        RecordedEpisode(r.start, r.end, sorted(r.transfer_dates + [r.start + timedelta(days=n) for n in extra]))
        for r in record
    ]
    without_transfers = [RecordedEpisode(r.start, r.end) for r in record]
    reading = read_clock(clock_input(record), today)
    assert read_clock(clock_input(with_more_transfers), today) == reading
    assert read_clock(clock_input(without_transfers), today) == reading
    # The count runs from the episode start, not from the most recent transfer into the current centre.
    assert reading.current_start == record[-1].start
    assert reading.current_days == days_between_inclusive(record[-1].start, today)
    # Episodes can be given in any order.
    shuffled = data.draw(st.permutations(clock_input(record)))
    assert read_clock(shuffled, today) == reading


@settings(max_examples=100, deadline=None)
@given(history=detention_history(min_episodes=2), data=st.data())
def test_re_detention(history: tuple[list[RecordedEpisode], date], data: st.DataObject) -> None:
    record, today = history
    episodes = data.draw(st.permutations(clock_input(record)))
    new_start = record[-1].start
    first_day = read_clock(episodes, new_start)
    assert first_day.detained
    assert first_day.current_start == new_start
    assert first_day.current_days == 1
    assert first_day.band == BANDS[0]
    closed = sum(days_between_inclusive(e.start, e.end) for e in episodes if e.end is not None)
    assert first_day.cumulative_days == closed + 1

    later = read_clock(episodes, today)
    assert later.cumulative_days == closed + later.current_days
    assert later.episodes == len(record)


@fast
@given(start=dates, length=st.integers(0, 6000))
def test_current_days_of_an_open_episode(start: date, length: int) -> None:
    today = start + timedelta(days=length)
    reading = read_clock([Episode(start, None)], today)
    assert reading.current_days == (today - start).days + 1 == reading.cumulative_days
    assert reading.band == band_on(start, today)


@fast
@given(start=dates, a=st.integers(0, 6000), b=st.integers(0, 6000))
def test_band_never_goes_down(start: date, a: int, b: int) -> None:
    first, second = sorted((a, b))
    assert band_on(start, start + timedelta(days=first)).index <= band_on(start, start + timedelta(days=second)).index


@fast
@given(start=dates, t=thresholds)
def test_a_band_starts_on_the_day_its_threshold_is_reached(start: date, t: Threshold) -> None:
    reached = reached_on(start, t)
    band = band_on(start, reached)
    assert band.starts_at == t
    assert band_on(start, reached - timedelta(days=1)) == BANDS[band.index - 1]


@fast
@given(start=dates, length=st.integers(0, 6000), earlier=st.booleans())
def test_thresholds_crossed_and_the_next_one(start: date, length: int, earlier: bool) -> None:
    today = start + timedelta(days=length)
    episodes = [Episode(start, None)]
    if earlier:
        episodes.append(Episode(start - timedelta(days=400), start - timedelta(days=100)))
    reading = read_clock(episodes, today)
    assert reading.thresholds_crossed == tuple(t for t in THRESHOLDS if reached_on(start, t) <= today)
    assert reading.band == BANDS[len(reading.thresholds_crossed)]
    if reading.next_threshold is None:
        assert reading.thresholds_crossed == THRESHOLDS
        assert reading.next_threshold_date is None
    else:
        assert reading.next_threshold_date > today
        assert reading.next_threshold_date == reached_on(start, reading.next_threshold)
        assert reading.next_threshold == THRESHOLDS[len(reading.thresholds_crossed)]
        # Nothing happens between today and the next threshold date: the band changes exactly then.
        assert band_on(start, reading.next_threshold_date - timedelta(days=1)) == reading.band
        assert band_on(start, reading.next_threshold_date).starts_at == reading.next_threshold


# --- today_in ---------------------------------------------------------------------------------------------------


def test_today_in_the_organisation_zone() -> None:
    # Winter: London is on UTC.
    assert today_in(LONDON, datetime(2026, 1, 15, 0, 5, tzinfo=UTC)) == D(2026, 1, 15)
    assert today_in(LONDON, datetime(2026, 1, 14, 23, 55, tzinfo=UTC)) == D(2026, 1, 14)
    # Summer: 23:30 UTC is 00:30 BST the next day in London, but still 19:30 the same day in New York.
    evening = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    assert today_in(LONDON, evening) == D(2026, 7, 2)
    assert today_in(NEW_YORK, evening) == D(2026, 7, 1)
    # Just after midnight UTC in winter is still the previous evening in New York.
    assert today_in(NEW_YORK, datetime(2026, 1, 15, 0, 5, tzinfo=UTC)) == D(2026, 1, 14)
    # The same instant expressed in another zone gives the same answer.
    assert today_in(LONDON, evening.astimezone(NEW_YORK)) == D(2026, 7, 2)
    with pytest.raises(ValueError):
        today_in(LONDON, datetime(2026, 1, 15, 12, 0))  # noqa: DTZ001 - naive on purpose


@fast
@given(day=st.dates(min_value=D(2000, 1, 1), max_value=D(2050, 12, 31)), minute=st.integers(0, 24 * 60 - 1))
def test_today_in_london_follows_gmt_and_bst(day: date, minute: int) -> None:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minute)
    if day.month in (12, 1, 2):
        assert today_in(LONDON, moment) == day
    elif day.month in (5, 6, 7, 8):
        assert today_in(LONDON, moment) == (moment + timedelta(hours=1)).date()
        assert today_in(NEW_YORK, moment) == (moment - timedelta(hours=4)).date()
