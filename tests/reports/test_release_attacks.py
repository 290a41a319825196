"""Attacks on aggregate releases, made through the pages as a motivated researcher would: integer bounds on one
release, linked filtered summaries, a population under k, suppressed beside rounded, sliding periods and
contribution differencing. Each release either is refused, or everything released together gives no hidden
count fewer than k values and no difference of fewer than k."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.detention.models import Facility
from app.reports.models import SummaryRelease
from tests.pages import count, post_form
from tests.reports.attack_data import SMALL_REGION, AttackPopulation, build_population
from tests.reports.attacker import Place, Published, leaks, period_dates

# The summary form these attacks post: the period lattice ("YYYY", "YYYY-Qn", "YYYY-MM"). Set to True to post the
# form of start and end dates that came before it.
OLD_FORM = False
SHOWN = 25  # leaks listed in a failure message; the rest are counted


def form_fields(period: str, *, facility_type: str | None = None, region: str | None = None,
                rounding: bool = False) -> dict[str, str]:
    """The one place a (period, filters, rounding) request becomes the summary form's fields."""
    if OLD_FORM:
        start, end = period_dates(period)
        fields = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    else:
        fields = {"period": period}
    if facility_type is not None:
        fields["facility_type"] = facility_type
    if region is not None:
        fields["region"] = region
    if rounding:
        fields["rounding"] = "true"
    return fields | {"output_format": "html"}


@dataclass
class Refusal:
    label: str
    text: str
    earlier: list[int]  # the releases that had gone out when this one was refused

    @property
    def fields(self) -> set[str]:
        """Fields refused beside the field (a period or filter the form does not offer), not the release."""
        return set(re.findall(r'id="f-([\w-]+)-error"', self.text))

    @property
    def reasons(self) -> list[str]:
        summary = re.search(r'class="error-summary__list">(.*?)</ul>', self.text, re.DOTALL)
        items = re.findall(r"<li[^>]*>(.*?)</li>", summary.group(1), re.DOTALL) if summary else []
        return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip() for item in items]


@dataclass
class Campaign:
    """One researcher's releases and refusals, in the order they were asked for."""

    client: Any
    db: Any
    places: list[Place]
    published: list[Published] = field(default_factory=list)
    release_ids: list[int] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)

    def _post(self, label: str, data: dict[str, str], start: date, end: date, facility_type: str | None,
              region: str | None) -> Published | Refusal:
        before = count(self.db, SummaryRelease)
        response = post_form(self.client, "/reports/summary", data, form_page="/reports/summary")
        if response.status_code == 422:
            assert count(self.db, SummaryRelease) == before, f"{label}: refused, yet something was released"
            refusal = Refusal(label, html.unescape(response.text), list(self.release_ids))
            self.refusals.append(refusal)
            return refusal
        assert response.status_code == 303, f"{label}: {response.status_code} {response.text[:500]}"
        release_id = int(response.headers["location"].split("/")[3])
        download = self.client.get(f"/reports/releases/{release_id}/download")
        assert download.status_code == 200, f"{label}: download {download.status_code}"
        document = json.loads(download.content)
        self.titles |= {t["title"] for t in document["tables"]}
        published = Published(f"{label} (release {release_id})", document, start, end, facility_type, region)
        self.published.append(published)
        self.release_ids.append(release_id)
        return published

    def release(self, period: str, *, facility_type: str | None = None, region: str | None = None,
                rounding: bool = False) -> Published | Refusal:
        label = " ".join([period] + [v for v in (facility_type, region) if v] + (["rounded"] if rounding else []))
        start, end = period_dates(period)
        return self._post(label, form_fields(period, facility_type=facility_type, region=region, rounding=rounding),
                          start, end, facility_type, region)

    def release_days(self, start: date, end: date) -> Published | Refusal:
        """A summary of an arbitrary run of days, as the form of start and end dates allowed."""
        data = {"start_date": start.isoformat(), "end_date": end.isoformat(), "output_format": "html"}
        return self._post(f"{start.isoformat()} to {end.isoformat()}", data, start, end, None, None)

    def names_table_or_release(self, refusal: Refusal) -> bool:
        named_release = any(re.search(rf"\brelease #?{i}\b", refusal.text, re.IGNORECASE) for i in refusal.earlier)
        return named_release or any(title in refusal.text for title in self.titles)

    def names_release(self, refusal: Refusal) -> bool:
        return any(re.search(rf"\brelease #?{i}\b", refusal.text, re.IGNORECASE) for i in refusal.earlier)


@pytest.fixture
def population(db, today) -> AttackPopulation:
    return build_population(db, today)


@pytest.fixture
def campaign(client, signed_in, db, population) -> Campaign:
    signed_in(Role.researcher)
    db.rollback()
    places = [Place(name, type_.value, region) for name, type_, region in
              db.execute(select(Facility.name, Facility.type, Facility.region))]
    return Campaign(client, db, places)


def _fail_on(campaign: Campaign, found: list[str], what: str) -> None:
    if found:
        listed = "\n  ".join(found[:SHOWN])
        more = f"\n  ... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        refused = "; ".join(f"{r.label} ({' '.join(r.reasons)[:200]})" for r in campaign.refusals) or "none"
        pytest.fail(f"{what}: a reader recovers {len(found)} thing(s) the releases must not give away "
                    f"(released: {', '.join(p.label for p in campaign.published)}; refused: {refused}):\n  "
                    f"{listed}{more}", pytrace=False)


def _fail_together(campaign: Campaign, what: str) -> None:
    """Fails on every leak of the releases read together; those no release gives alone are listed first."""
    alone = set(leaks(campaign.published, campaign.places, alone=True))
    together = leaks(campaign.published, campaign.places)
    linked = [leak for leak in together if leak not in alone]
    _fail_on(campaign, linked + [leak for leak in together if leak in alone],
             f"{what} ({len(linked)} new or narrower when read together, listed first)")


def _refusals_explained(campaign: Campaign, *, naming_release: bool = False) -> None:
    for refusal in campaign.refusals:
        if not refusal.earlier or refusal.fields:
            continue
        named = campaign.names_release(refusal) if naming_release else campaign.names_table_or_release(refusal)
        assert named, (f"{refusal.label}: refused without naming the table or the earlier release "
                       f"({', '.join(map(str, refusal.earlier))}) it clashes with: {refusal.reasons}")


def test_integer_bounds_on_one_release(campaign, population):
    """Zeros are published, so every hidden count is at least 1: each release alone, bounded in whole numbers."""
    year = population.year
    for period in (f"{year}-Q2", f"{year}-Q4", str(year)):
        campaign.release(period)
    _fail_on(campaign, leaks(campaign.published, campaign.places, alone=True), "Each release read alone")


def test_linked_filtered_summaries_of_the_same_period(campaign, population):
    """All places, one region, one type, of the same year: a place's visits are the same in each, and a filtered
    population is part of the unfiltered one."""
    year = str(population.year)
    campaign.release(year)
    campaign.release(year, region="London (Heathrow)")
    campaign.release(year, region="South East (Gatwick)")
    campaign.release(year, facility_type="irc")
    campaign.release(year, facility_type="sthf")
    _refusals_explained(campaign)
    _fail_together(campaign, f"The summaries of {year} for all places, two regions and two types read together")


def test_a_population_under_k_is_never_released(campaign, population, db):
    """Six people seen in one month; four people seen in one region all year."""
    tiny = campaign.release(population.tiny_group_month.strftime("%Y-%m"))
    small_region = campaign.release(str(population.year), region=SMALL_REGION)
    found = leaks(campaign.published, campaign.places)
    _fail_on(campaign, found, "Summaries of fewer than k people")
    assert isinstance(tiny, Refusal) and isinstance(small_region, Refusal)


def test_suppressed_and_rounded_releases_of_the_same_people(campaign, population):
    """The same period and people, once with small counts hidden and once rounded to 5, in both orders."""
    year = population.year
    campaign.release(str(year))
    campaign.release(str(year), rounding=True)
    campaign.release(f"{year}-Q3", rounding=True)
    campaign.release(f"{year}-Q3")
    _refusals_explained(campaign, naming_release=True)
    _fail_together(campaign, "Suppressed and rounded releases read together")


def test_sliding_and_extended_periods(campaign, population):
    """A month, the month and one more day, and the month's quarter: the same people, with one self-harm event
    and one removal more, on the day after the month."""
    month = population.month_group_month
    month_end = period_dates(month.strftime("%Y-%m"))[1]
    campaign.release(month.strftime("%Y-%m"))
    one_day_more = campaign.release_days(month, month_end + timedelta(days=1))
    quarter = campaign.release(f"{month.year}-Q{(month.month - 1) // 3 + 1}")
    _fail_together(campaign, "A month and its extensions read together")
    if not OLD_FORM:
        assert isinstance(one_day_more, Refusal), "a summary of an arbitrary run of days was released"
        assert isinstance(quarter, Refusal), "the quarter was released beside its month with the same people"
        _refusals_explained(campaign, naming_release=True)


def test_contribution_differencing(campaign, population):
    """All places against removal centres only: the same people, but the visits elsewhere, and what was seen at
    them, counted only in the first."""
    year = population.year
    campaign.release(str(year))
    campaign.release(str(year), facility_type="irc")
    campaign.release(f"{year}-Q1")
    campaign.release(f"{year}-Q1", facility_type="irc")
    _refusals_explained(campaign)
    _fail_together(campaign, "Releases differing by a few people's contributions")
