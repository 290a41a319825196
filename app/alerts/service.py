"""When each detention-clock alert fires, as SQL conditions over indexed episode columns and, for one episode
already loaded, the same answer in Python. Both come from one set of cut-off dates, so they agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, or_

from app.alerts.rules import RULES, AlertRule
from app.config import Settings
from app.detention import clock
from app.detention.models import BailOutcome, DetentionEpisode
from app.visits.models import Visit

# Bands whose crossing raises length_band_crossed: the month bands, where reviews are due.
BAND_ALERT_THRESHOLDS = tuple(t for t in clock.THRESHOLDS if t.months is not None)
UPCOMING = "crossing_soon"
NO_RECENT_VISIT = "no_recent_visit"
# Filters that are not alert rules but are offered beside them on the people list and the dashboard.
EXTRA_FILTERS = {UPCOMING: "Crossing a threshold soon", NO_RECENT_VISIT: "Detained, no recent visit"}


def _months(n: int) -> clock.Threshold:
    return clock.Threshold(key=f"month_{n}", days=None, months=n, label=f"{n} months")


@dataclass(frozen=True)
class Cutoffs:
    """Start-date cut-offs for `today`: an open episode is past a threshold exactly when its start date is
    on or before the cut-off, so every alert is a range condition on detention_episodes.start_date."""

    today: date
    detained_days: date
    band_windows: tuple[tuple[date, date], ...]  # (exclusive lower, inclusive upper) start dates
    auto_bail: date
    bail_reapplication: date
    upcoming_windows: tuple[tuple[date, date], ...]
    visit_since: date

    @classmethod
    def for_day(cls, today: date, settings: Settings) -> Cutoffs:
        recent = today - timedelta(days=settings.alert_band_crossed_recent_days)
        soon = today + timedelta(days=settings.dashboard_upcoming_days)
        upcoming = tuple(clock.THRESHOLDS) + (_months(settings.alert_auto_bail_months),)
        return cls(
            today=today,
            detained_days=today - timedelta(days=settings.alert_detained_days),
            band_windows=tuple((clock.latest_start_reaching(t, recent), clock.latest_start_reaching(t, today))
                               for t in BAND_ALERT_THRESHOLDS),
            auto_bail=clock.latest_start_reaching(_months(settings.alert_auto_bail_months), today),
            bail_reapplication=today - timedelta(days=settings.alert_bail_reapplication_days),
            upcoming_windows=tuple((clock.latest_start_reaching(t, today), clock.latest_start_reaching(t, soon))
                                   for t in upcoming),
            visit_since=today - timedelta(days=settings.dashboard_no_visit_days - 1),
        )


def _in_windows(start: ColumnElement[date] | date, windows: tuple[tuple[date, date], ...]):  # type: ignore[no-untyped-def]
    return [and_(start > low, start <= high) for low, high in windows]


def sql_condition(rule_id: str, cutoffs: Cutoffs, episode: type[DetentionEpisode] = DetentionEpisode
                  ) -> ColumnElement[bool]:
    """The rule as a WHERE condition on an episode (open episodes only)."""
    # start_date is NOT NULL in the table, so this also rules out the empty side of an outer join.
    open_episode = and_(episode.start_date.is_not(None), episode.end_date.is_(None))
    if rule_id == "detained_28_days":
        return and_(open_episode, episode.start_date <= cutoffs.detained_days)
    if rule_id == "length_band_crossed":
        return and_(open_episode, or_(*_in_windows(episode.start_date, cutoffs.band_windows)))
    if rule_id == "auto_bail_referral_due":
        return and_(open_episode, episode.start_date <= cutoffs.auto_bail,
                    or_(episode.last_bail_application_date.is_(None),
                        episode.last_bail_application_date <= cutoffs.auto_bail))
    if rule_id == "bail_reapplication_open":
        return and_(open_episode, episode.last_bail_outcome == BailOutcome.refused,
                    episode.last_bail_application_date <= cutoffs.bail_reapplication)
    if rule_id == UPCOMING:
        return and_(open_episode, or_(*_in_windows(episode.start_date, cutoffs.upcoming_windows)))
    if rule_id == NO_RECENT_VISIT:
        return and_(open_episode, ~exists().where(Visit.person_id == episode.person_id,
                                                  Visit.visit_date >= cutoffs.visit_since))
    return false()


def fired(cutoffs: Cutoffs, *, start: date | None, end: date | None, bail_date: date | None,
          bail_outcome: BailOutcome | None) -> list[AlertRule]:
    """The rules that fire for one episode, evaluated exactly as sql_condition does."""
    if start is None or end is not None:
        return []
    result = []
    if start <= cutoffs.detained_days:
        result.append(RULES["detained_28_days"])
    if any(low < start <= high for low, high in cutoffs.band_windows):
        result.append(RULES["length_band_crossed"])
    if start <= cutoffs.auto_bail and (bail_date is None or bail_date <= cutoffs.auto_bail):
        result.append(RULES["auto_bail_referral_due"])
    if bail_outcome is BailOutcome.refused and bail_date is not None and bail_date <= cutoffs.bail_reapplication:
        result.append(RULES["bail_reapplication_open"])
    return result


def crossing_soon(cutoffs: Cutoffs, start: date | None, end: date | None) -> bool:
    return start is not None and end is None and any(low < start <= high for low, high in cutoffs.upcoming_windows)
