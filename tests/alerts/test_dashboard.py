"""The caseload dashboard: figures that match the lists they link to, per role."""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Date, Integer, String, create_engine, literal, select

from app.alerts import service as alerts
from app.auth.models import Role
from app.config import Settings
from app.detention import clock
from app.detention.models import BailOutcome


def figure(page: str, href: str) -> int:
    match = re.search(rf'<a href="{re.escape(href)}"[^>]*><span class="figure__value">(\d+)</span>', page)
    assert match, href
    return int(match.group(1))


def alert_count(page: str, rule_id: str) -> int:
    match = re.search(rf'<a href="/people\?alert={rule_id}" class="figure-link">(\d+)<', page)
    assert match, rule_id
    return int(match.group(1))


def list_total(client, url: str) -> int:  # type: ignore[no-untyped-def]
    match = re.search(r"(\d+) (?:person|people)</p>", client.get(url).text)
    assert match
    return int(match.group(1))


def test_coordinator_dashboard_counts_match_the_linked_lists(client, signed_in, make_person, make_user, today):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician)
    make_person("A", "Newcomer", detained_days=5, assigned_to=clinician)
    make_person("B", "Monthlong", detained_days=29)
    make_person("C", "Nearlyfour", detained_days=(today - (today - timedelta(days=120))).days - 3)
    make_person("D", "Refused", detained_days=200, bail=(today - timedelta(days=40), BailOutcome.refused))
    make_person("E", "Outside", status="released")
    page = client.get("/").text
    assert figure(page, "/people") == 5
    assert figure(page, "/people?status=detained") == 4
    assert figure(page, "/people?clinician=0") == 4
    assert figure(page, "/people?alert=no_recent_visit") == 4
    for href in ("/people", "/people?status=detained", "/people?clinician=0", "/people?alert=no_recent_visit",
                 "/people?alert=crossing_soon"):
        assert figure(page, href) == list_total(client, href), href
    for rule_id in ("detained_28_days", "length_band_crossed", "auto_bail_referral_due", "bail_reapplication_open"):
        assert alert_count(page, rule_id) == list_total(client, f"/people?alert={rule_id}"), rule_id
    assert alert_count(page, "detained_28_days") == 3
    assert alert_count(page, "bail_reapplication_open") == 1


def test_clinician_dashboard_lists_their_own_caseload_with_clock_and_alerts(client, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    make_person("Mine", "Longtime", detained_days=45, assigned_to=clinician)
    make_person("Not", "Minetoo", detained_days=45)
    page = client.get("/").text
    assert "People assigned to you" in page
    assert "LONGTIME" in page and "MINETOO" not in page
    assert "<strong>45</strong>" in page and "29 days to under 2 months" in page
    assert "Detained over 28 days" in page
    assert figure(page, "/people") == 1


def test_researcher_home_has_no_caseload_figures(client, signed_in, make_person):
    make_person("Hidden", "Fromresearch", detained_days=45)
    signed_in(Role.researcher)
    page = client.get("/").text
    assert "figure__value" not in page and "FROMRESEARCH" not in page
    assert "Nothing has been released yet." in page and "/reports/summary" in page


@settings(max_examples=300, deadline=None)
@given(today=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
       age=st.integers(min_value=1, max_value=2000),
       bail_age=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
       refused=st.booleans())
@pytest.mark.no_database
def test_clock_alerts_in_sql_agree_with_the_detention_clock(today, age, bail_age, refused):
    """Each clock rule's SQL condition, evaluated on one episode given as a row of literals, answers exactly as
    a plain reading of the rule through the clock module does."""
    start = today - timedelta(days=age - 1)
    bail_date = None if bail_age is None else max(start, today - timedelta(days=bail_age))
    outcome = None if bail_date is None else (BailOutcome.refused if refused else BailOutcome.granted)
    cutoffs = alerts.Cutoffs.for_day(today, Settings(secret_key="x" * 40, database_url="sqlite://"))

    four_months = clock.Threshold(key="month_4", days=None, months=4, label="4 months")
    reading = clock.read_clock([clock.Episode(start, None)], today)
    expected = {
        "detained_28_days": reading.current_days > 28,
        "length_band_crossed": any(today - timedelta(days=7) < clock.reached_on(start, t) <= today
                                   for t in clock.THRESHOLDS if t.months),
        "auto_bail_referral_due": clock.reached_on(start, four_months) <= today and not (
            bail_date is not None and clock.reached_on(bail_date, four_months) > today),
        "bail_reapplication_open": outcome is BailOutcome.refused and (today - bail_date).days >= 28,
        alerts.UPCOMING: any(today < clock.reached_on(start, t) <= today + timedelta(days=7)
                             for t in (*clock.THRESHOLDS, four_months)),
    }

    row = select(
        literal(1, Integer).label("id"), literal(1, Integer).label("person_id"),
        literal(start, Date).label("start_date"), literal(None, Date).label("end_date"),
        literal(bail_date, Date).label("last_bail_application_date"),
        literal(outcome.value if outcome else None, String).label("last_bail_outcome"),
    ).subquery("e")
    episode = SimpleNamespace(**{c.name: c for c in row.c})
    with ENGINE.connect() as conn:
        for rule_id, wanted in expected.items():
            query = select(literal(1)).select_from(row).where(alerts.sql_condition(rule_id, cutoffs, episode))
            assert (conn.execute(query).first() is not None) == wanted, rule_id


ENGINE = create_engine("sqlite://")
