"""Closing a case with a reason and a date, and reopening it, through the person page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import Revision
from app.auth.models import Role
from app.people.models import ClosingReason, Person
from tests.alerts.test_dashboard import figure, list_total
from tests.conftest import csrf_from, sign_in
from tests.pages import audit_events


def _post(client, person: Person, action: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}").text
    version = re.search(r'action="/people/[^"]+/(?:close|reopen)"[^>]*>\s*<input[^>]*>\s*<input type="hidden" '
                        r'name="version" value="(\d+)"', page)
    data = {"csrf_token": csrf_from(page)} | ({"version": version.group(1)} if version else {}) | fields
    return client.post(f"/people/{person.reference}/{action}", data=data, follow_redirects=False)


def test_a_coordinator_closes_and_reopens_a_case_and_the_history_keeps_both(client, signed_in, make_person, db,
                                                                          today):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Closable", status="released")
    keeper = make_person("Fictiva", "Staysopen", status="released")
    before = client.get("/").text
    assert figure(before, "/people") == 2
    closed_on = today - timedelta(days=3)
    response = _post(client, person, "close", closed_date=closed_on.isoformat(), closing_reason="released_supported")
    assert response.status_code == 303 and response.headers["location"].endswith("#case-section")
    db.rollback()
    saved = db.get(Person, person.id)
    assert (saved.closed_date, saved.closing_reason) == (closed_on, ClosingReason.released_supported)
    page = client.get(f"/people/{person.reference}").text
    assert "Released, and supported" in page and "Reopen the case" in page
    # Off the caseload and the dashboard; still found by a search.
    dashboard = client.get("/").text
    assert figure(dashboard, "/people") == 1 == list_total(client, "/people")
    assert person.reference not in client.get("/people").text
    assert person.reference in client.get("/people", params={"q": "Closable"}).text
    [event] = audit_events(db, "case.closed")
    assert event.details == {"closed_date": closed_on.isoformat(), "closing_reason": "released_supported"}

    assert _post(client, person, "reopen").status_code == 303
    db.rollback()
    saved = db.get(Person, person.id)
    assert saved.closed_date is None and saved.closing_reason is None
    assert figure(client.get("/").text, "/people") == 2
    [event] = audit_events(db, "case.reopened")
    assert event.details["closing_reason"] == "released_supported"
    changes = [(r.before, r.after) for r in db.scalars(
        select(Revision).where(Revision.person_id == person.id, Revision.table_name == "people")
        .order_by(Revision.id)) if r.before is not None]
    assert [after["closing_reason"] for _, after in changes] == ["released_supported", None]
    assert keeper.reference in client.get("/people").text


def test_bad_closing_input_is_refused_beside_the_field_and_nothing_changes(client, signed_in, make_person, db, today):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Badclose")
    cases = [
        ({"closed_date": (today + timedelta(days=1)).isoformat(), "closing_reason": "died"}, "closed_date",
         "The closing date must be today or in the past."),
        ({"closed_date": (person.opened_date - timedelta(days=1)).isoformat(), "closing_reason": "other"},
         "closed_date", "on or after the day the case was opened"),
        ({"closed_date": today.isoformat(), "closing_reason": "bored"}, "closing_reason", None),
        ({"closed_date": "last week", "closing_reason": "other"}, "closed_date", None),
    ]
    for fields, field, message in cases:
        response = _post(client, person, "close", **fields)
        assert response.status_code == 422 and f'id="f-{field}-error"' in response.text, fields
        assert message is None or message in response.text
        assert "<details class=\"details\" open>" in response.text  # the form stays open with its errors
    db.rollback()
    assert db.get(Person, person.id).closed_date is None
    assert audit_events(db, "case.closed") == []
    # Reopening an open case, or closing a closed one, says so and changes nothing.
    assert _post(client, person, "reopen").status_code == 422


def test_a_form_read_before_the_case_changed_saves_nothing(client, signed_in, make_person, db, today):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Raced")
    page = client.get(f"/people/{person.reference}").text
    stale = {"csrf_token": csrf_from(page), "version": str(person.version), "closed_date": today.isoformat(),
             "closing_reason": "other"}
    assert _post(client, person, "close", closed_date=today.isoformat(), closing_reason="lost_contact") \
        .status_code == 303
    assert _post(client, person, "reopen").status_code == 303
    replay = client.post(f"/people/{person.reference}/close", data=stale, follow_redirects=False)
    assert replay.status_code == 409
    db.rollback()
    assert db.get(Person, person.id).closed_date is None


def test_only_coordinators_and_admins_close_cases(client, make_person, make_user, db, today):
    clinician = make_user(Role.clinician)
    person = make_person("Fictivo", "Assigned", assigned_to=clinician)
    assert sign_in(client, clinician.email).status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert "Close the case" not in page
    refused = client.post(f"/people/{person.reference}/close", data={
        "csrf_token": csrf_from(page), "closed_date": today.isoformat(), "closing_reason": "other"},
        follow_redirects=False)
    assert refused.status_code == 403
    db.rollback()
    assert db.get(Person, person.id).closed_date is None
