"""People list, search, filters, the person page and need-to-know access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.detention.models import BailOutcome


def listed(client, **params) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/people", params=params)
    assert response.status_code == 200, response.text
    return response.text


def test_coordinator_lists_open_cases_longest_detention_first(client, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person("Ana", "Shortstay", detained_days=3)
    make_person("Bea", "Longstay", detained_days=90)
    make_person("Cal", "Closedcase", closed=True)
    page = listed(client)
    assert page.index("LONGSTAY") < page.index("SHORTSTAY")
    assert "CLOSEDCASE" not in page
    assert ">90<" in page.replace("<strong>", ">").replace("</strong>", "<")
    assert "CLOSEDCASE" in listed(client, closed="1")


def test_clinician_sees_only_assigned_people(client, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    make_person("Mine", "Assignedperson", assigned_to=clinician)
    make_person("Other", "Notassigned")
    page = listed(client)
    assert "ASSIGNEDPERSON" in page and "NOTASSIGNED" not in page
    assert "NOTASSIGNED" not in listed(client, q="Notassigned")


def test_researcher_cannot_list_people(client, signed_in):
    signed_in(Role.researcher)
    assert client.get("/people").status_code == 403


@pytest.mark.parametrize("query", ["nunez", "NÚÑEZ", "núñ", "garc", "Obrien", "o'brien", "Carlos Nunez"])
def test_search_by_any_name_part_ignoring_case_accents_and_punctuation(client, signed_in, make_person, query):
    signed_in(Role.coordinator)
    make_person("Carlos", "Núñez García", aliases="Carlos O'Brien")
    make_person("Someone", "Else")
    page = listed(client, q=query)
    assert "NÚÑEZ GARCÍA" in page
    assert "ELSE" not in page


def test_search_by_alias_and_alternative_spelling(client, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person("Yohannes", "Testberhe", aliases="Johannes Testberhane\nJohn Doe-Example")
    assert "TESTBERHE" in listed(client, q="johannes")
    assert "TESTBERHE" in listed(client, q="doe example")
    assert "TESTBERHE" not in listed(client, q="johannes smith")


def test_search_by_reference_and_home_office_reference(client, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Refa", "Lookup", home_office_reference="DEMO-1234567")
    make_person("Demo", "Namesake")
    compact = person.reference.replace("-", "").lower()
    assert "LOOKUP" in listed(client, q=compact)
    by_home_office = listed(client, q="demo-1234567")
    assert "LOOKUP" in by_home_office and "NAMESAKE" not in by_home_office


def test_filters_by_status_clinician_and_facility(client, signed_in, make_person, make_user):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician, name="Dr Filter")
    make_person("Aa", "Atbrook", detained_days=10, facility="Brook House", assigned_to=clinician)
    make_person("Bb", "Atdungavel", detained_days=10, facility="Dungavel")
    make_person("Cc", "Released", status="released")
    facility_page = client.get("/people").text
    dungavel_id = facility_page.split('>Dungavel<')[0].rsplit('value="', 1)[1].split('"')[0]
    by_facility = listed(client, facility=dungavel_id)
    assert "ATDUNGAVEL" in by_facility and "ATBROOK" not in by_facility
    by_clinician = listed(client, clinician=clinician.id)
    assert "ATBROOK" in by_clinician and "ATDUNGAVEL" not in by_clinician
    nobody = listed(client, clinician=0)
    assert "ATDUNGAVEL" in nobody and "ATBROOK" not in nobody
    released = listed(client, status="released")
    assert "RELEASED" in released and "ATBROOK" not in released


def test_unrecognised_filters_are_ignored_with_a_message(client, signed_in):
    signed_in(Role.coordinator)
    page = listed(client, status="vanished", alert="nonsense", page="x")
    assert "status filter was not recognised" in page
    assert "alert filter was not recognised" in page


def test_alert_filter_detained_28_days_starts_on_day_29(client, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person("Day", "Twentyeight", detained_days=28)
    make_person("Day", "Twentynine", detained_days=29)
    page = listed(client, alert="detained_28_days")
    assert "TWENTYNINE" in page and "TWENTYEIGHT" not in page


def test_bail_reapplication_alert_opens_28_days_after_a_refusal(client, signed_in, make_person, today):
    signed_in(Role.coordinator)
    make_person("Bail", "Refusedlongago", detained_days=100, bail=(today - timedelta(days=28), BailOutcome.refused))
    make_person("Bail", "Refusedrecently", detained_days=100, bail=(today - timedelta(days=27), BailOutcome.refused))
    make_person("Bail", "Granted", detained_days=100, bail=(today - timedelta(days=60), BailOutcome.granted))
    page = listed(client, alert="bail_reapplication_open")
    assert "REFUSEDLONGAGO" in page
    assert "REFUSEDRECENTLY" not in page and "GRANTED" not in page


def test_list_is_paginated(client, signed_in, make_person):
    signed_in(Role.coordinator)
    for i in range(51):
        make_person("Page", f"Person{chr(65 + i // 26)}{chr(65 + i % 26)}")
    first = listed(client)
    assert "51 people" in first and "Page 1 of 2" in first
    second = listed(client, page=2)
    assert "Page 2 of 2" in second
    assert second.count('href="/people/') - second.count('href="/people/new"') == 1


def test_person_page_shows_the_clock_facility_alerts_and_is_audited(client, db, signed_in, make_person, today):
    user = signed_in(Role.coordinator)
    person = make_person("Clock", "Reader", detained_days=40, facility="Colnbrook")
    page = client.get(f"/people/{person.reference}")
    assert page.status_code == 200
    text = page.text
    assert '<span class="clock__value">40</span>' in text
    assert "29 days to under 2 months" in text
    assert "2 months" in text  # the next threshold
    assert "Colnbrook" in text
    assert "Detained over 28 days" in text and "Joint Committee on Human Rights" in text
    assert page.headers["cache-control"] == "no-store"
    db.rollback()
    viewed = db.scalars(select(AuditEvent).where(AuditEvent.action == "person.viewed")).one()
    assert viewed.actor_user_id == user.id and viewed.person_id == person.id


def test_unassigned_clinician_is_refused_and_the_refusal_recorded(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Not", "Yours")
    response = client.get(f"/people/{person.reference}")
    assert response.status_code == 403
    assert "YOURS" not in response.text.upper()  # nothing of the record is shown
    db.rollback()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "security.permission_denied")).one()
    assert event.actor_user_id == clinician.id and event.details["permission"] == "assigned_clinician"


def test_unknown_reference_is_404_and_researchers_never_see_a_person(client, signed_in, make_person):
    signed_in(Role.coordinator)
    assert client.get("/people/ZZZZ-ZZZZ").status_code == 404


def test_researcher_is_refused_a_person_page(client, signed_in, make_person):
    person = make_person("Research", "Refused")
    signed_in(Role.researcher)
    assert client.get(f"/people/{person.reference}").status_code == 403


def test_longest_detention_first_then_the_rest_across_a_page_boundary(db, make_user, make_person):
    from app.people import service

    coordinator = make_user(Role.coordinator)
    detained = [make_person("Held", f"Days{days}", detained_days=days) for days in (5, 300, 40, 41, 2)]
    free = [make_person("Free", f"Person{n}") for n in range(48)]
    free.append(make_person("Detained", "Thenclosed", detained_days=700, closed=True))
    db.rollback()
    first = service.list_people(db, coordinator, service.PeopleQuery())
    second = service.list_people(db, coordinator, service.PeopleQuery(page=2))
    assert (first.total, first.pages, second.page) == (53, 2, 2)
    order = [row.family_name for row in first.rows + second.rows]
    assert order[:5] == ["Days300", "Days41", "Days40", "Days5", "Days2"]
    assert order[5:] == [f"Person{n}" for n in range(48)]  # then everyone not detained, oldest record first
    assert len(first.rows) == 50 and all(row.facility == "Brook House" for row in first.rows[:5])
    recent = service.list_people(db, coordinator, service.PeopleQuery(sort="recent"))
    newest_first = sorted((p.id for p in detained + free[:48]), reverse=True)  # created one after another
    assert [row.id for row in recent.rows] == newest_first[:50]


def test_each_page_carries_on_where_the_last_ended(db, make_user, make_person, monkeypatch):
    """Pages past the first are cut from the detained half, the rest, or where the two meet: with two rows a
    page, page 2 is all detained, page 3 straddles, pages 4 and 5 are the rest."""
    from app.people import service

    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    coordinator = make_user(Role.coordinator)
    for days in (5, 300, 40, 41, 2):
        make_person("Held", f"Days{days}", detained_days=days)
    for n in range(4):
        make_person("Free", f"Person{n}")
    db.rollback()
    pages = [service.list_people(db, coordinator, service.PeopleQuery(page=n)) for n in range(1, 6)]
    assert {(page.total, page.pages) for page in pages} == {(9, 5)}
    assert [[row.family_name for row in page.rows] for page in pages] == [
        ["Days300", "Days41"], ["Days40", "Days5"], ["Days2", "Person0"], ["Person1", "Person2"], ["Person3"]]
