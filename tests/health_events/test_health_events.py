"""Health events through the pages: recording, ending an ongoing one, local times stored as UTC, refusals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.config import get_settings
from app.health_events.models import HealthEvent, HealthEventKind
from tests.visits.helpers import count, events, make_visit, post, revisions_of


def local(moment: datetime) -> tuple[str, str]:
    """A UTC moment as the date and time someone in the organisation would type."""
    there = moment.astimezone(get_settings().zone)
    return there.date().isoformat(), there.strftime("%H:%M")


def stored(db, person) -> list[HealthEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(HealthEvent).where(HealthEvent.person_id == person.id).order_by(HealthEvent.id)))


def error_beside(page: str, field: str) -> str:
    match = re.search(rf'<p class="field__error" id="f-{field}-error">(.*?)</p>', page, re.S)
    assert match, f"no error beside {field}"
    return match.group(1)


def test_a_food_refusal_is_recorded_shown_as_ongoing_and_ended(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Food", "Refusal", detained_days=40, assigned_to=clinician)
    form = client.get(f"/people/{person.reference}/health-events/new")
    assert form.status_code == 200
    assert ">ACDT opened<" in form.text and ">Fluid refusal<" in form.text and "Acdt" not in form.text

    started = datetime.now(UTC) - timedelta(hours=30, minutes=5)
    day, at = local(started)
    response = post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "food_refusal", "started_date": day, "started_time": at, "notes": "Refusing meals since transfer."})
    assert response.status_code == 303
    [event] = stored(db, person)
    assert event.kind is HealthEventKind.food_refusal and event.ended_at is None
    assert event.started_at == started.replace(second=0, microsecond=0)
    assert event.recorded_by_id == clinician.id

    page = client.get(f"/people/{person.reference}").text
    section = page[page.index('id="health-events"'):]
    assert "Food refusal" in section and "Ongoing" in section and "30 hours so far" in section
    end_link = f"/people/{person.reference}/health-events/{event.id}/end"
    assert end_link in section

    assert client.get(end_link).status_code == 200
    ended = datetime.now(UTC) - timedelta(hours=1)
    day, at = local(ended)
    assert post(client, end_link, {"ended_date": day, "ended_time": at}).status_code == 303
    [event] = stored(db, person)
    assert event.ended_at == ended.replace(second=0, microsecond=0)
    section = client.get(f"/people/{person.reference}").text
    section = section[section.index('id="health-events"'):]
    assert "Ongoing" not in section and "29 hours" in section and "so far" not in section

    history = revisions_of(db, "health_events", event.id)
    assert [r.action.value for r in history] == ["insert", "update"] and history[1].before["ended_at"] is None
    [recorded] = events(db, "health_event.recorded")
    [ending] = events(db, "health_event.ended")
    assert recorded.details == {"kind": "food_refusal"} and recorded.person_id == person.id
    assert ending.object_id == str(event.id)

    again = post(client, end_link, {"ended_date": day, "ended_time": at})
    assert again.status_code == 422 and "already recorded as ended" in again.text


@pytest.mark.parametrize(("local_start", "utc_start"), [
    ("2025-07-01T12:00", datetime(2025, 7, 1, 11, 0, tzinfo=UTC)),  # British Summer Time
    ("2025-01-15T12:00", datetime(2025, 1, 15, 12, 0, tzinfo=UTC)),  # Greenwich Mean Time
])
def test_times_are_typed_in_the_organisations_zone_and_stored_as_utc(client, db, signed_in, make_person,
                                                                     local_start, utc_start):
    signed_in(Role.coordinator)
    person = make_person("Zone", "Check")
    day, at = local_start.split("T")
    response = post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "self_harm", "started_date": day, "started_time": at})
    assert response.status_code == 303
    [event] = stored(db, person)
    assert event.started_at == utc_start
    page = client.get(f"/people/{person.reference}").text
    assert f"{int(day[8:])} {utc_start:%b %Y}, 12:00" in page


def test_an_end_before_the_start_is_refused(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("End", "Before")
    start = datetime.now(UTC) - timedelta(days=2)
    day, at = local(start)
    end_day, end_at = local(start - timedelta(hours=3))
    response = post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "segregation", "started_date": day, "started_time": at, "ended_date": end_day,
        "ended_time": end_at, "notes": "Kept for the record."})
    assert response.status_code == 422
    assert "must be after the start" in error_beside(response.text, "ended_date")
    assert "Kept for the record." in response.text
    assert count(db, HealthEvent) == 0

    assert post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "segregation", "started_date": day, "started_time": at}).status_code == 303
    [event] = stored(db, person)
    refused = post(client, f"/people/{person.reference}/health-events/{event.id}/end", {
        "ended_date": end_day, "ended_time": end_at})
    assert refused.status_code == 422 and "must be after the start" in error_beside(refused.text, "ended_date")
    assert stored(db, person)[0].ended_at is None
    assert events(db, "health_event.ended") == []


def test_times_in_the_future_are_refused(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Future", "Times")
    later = datetime.now(UTC) + timedelta(hours=2)
    day, at = local(later)
    response = post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "use_of_force", "started_date": day, "started_time": at})
    assert response.status_code == 422 and "cannot be in the future" in error_beside(response.text, "started_date")

    start_day, start_at = local(datetime.now(UTC) - timedelta(hours=5))
    response = post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "fluid_refusal", "started_date": start_day, "started_time": start_at, "ended_date": day,
        "ended_time": at})
    assert response.status_code == 422 and "cannot be in the future" in error_beside(response.text, "ended_date")
    assert count(db, HealthEvent) == 0

    assert post(client, f"/people/{person.reference}/health-events/new", {
        "kind": "fluid_refusal", "started_date": start_day, "started_time": start_at}).status_code == 303
    [event] = stored(db, person)
    refused = post(client, f"/people/{person.reference}/health-events/{event.id}/end", {
        "ended_date": day, "ended_time": at})
    assert refused.status_code == 422 and stored(db, person)[0].ended_at is None


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"started_time": "25:00"}, "started_time", "24-hour clock"),
    ({"kind": ""}, "kind", "Choose what happened"),
    ({"started_time": ""}, "started_time", "Enter the time it started"),
    ({"ended_date": "2025-01-02"}, "ended_time", "Enter the time it ended"),
])
def test_incomplete_or_unreadable_entries_are_refused_beside_the_field(client, db, signed_in, make_person, data,
                                                                       field, message):
    signed_in(Role.coordinator)
    person = make_person("Bad", "Entry")
    base = {"kind": "self_harm", "started_date": "2025-01-01", "started_time": "09:30"}
    response = post(client, f"/people/{person.reference}/health-events/new", base | data)
    assert response.status_code == 422 and message in error_beside(response.text, field)
    assert count(db, HealthEvent) == 0


def test_need_to_know_applies_to_health_events(client, db, signed_in, make_person, make_user):
    author = make_user(Role.clinician)
    person = make_person("Kept", "Private", assigned_to=author)
    day, at = local(datetime.now(UTC) - timedelta(hours=4))
    signed_in(Role.clinician)
    base = f"/people/{person.reference}/health-events"
    assert client.get(f"{base}/new").status_code == 403
    assert post(client, f"{base}/new", {"kind": "self_harm", "started_date": day, "started_time": at}).status_code \
        == 403
    client.cookies.clear()
    signed_in(Role.researcher)
    assert client.get(f"{base}/new").status_code == 403
    assert post(client, f"{base}/new", {"kind": "self_harm", "started_date": day, "started_time": at}).status_code \
        == 403
    assert count(db, HealthEvent) == 0
    assert len(events(db, "security.permission_denied")) == 4


def test_an_event_of_another_person_is_not_found(client, db, signed_in, make_person, make_user):
    user = signed_in(Role.coordinator)
    person, other = make_person("One", "Person"), make_person("Another", "Person")
    db.rollback()
    event = HealthEvent(person_id=other.id, kind=HealthEventKind.segregation, recorded_by_id=user.id,
                        started_at=datetime.now(UTC) - timedelta(days=1))
    db.add(event)
    db.commit()
    day, at = local(datetime.now(UTC))
    path = f"/people/{person.reference}/health-events/{event.id}/end"
    assert client.get(path).status_code == 404
    assert post(client, path, {"ended_date": day, "ended_time": at}).status_code == 404


def test_the_person_page_shows_both_sections(client, db, signed_in, make_person, make_user, today):
    clinician = make_user(Role.clinician, name="Dr Both")
    person = make_person("Both", "Sections", assigned_to=clinician)
    make_visit(db, person, clinician, visit_date=today - timedelta(days=1))
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.acdt_opened, recorded_by_id=clinician.id,
                       started_at=datetime.now(UTC) - timedelta(days=3)))
    db.commit()
    signed_in(Role.coordinator)
    page = client.get(f"/people/{person.reference}").text
    assert '<h2 id="visits">Visits</h2>' in page and '<h2 id="health-events">Health events</h2>' in page
    assert page.index('id="visits"') < page.index('id="health-events"')
    section = page[page.index('id="health-events"'):]
    assert "ACDT opened" in section and "Ongoing" in section  # an ACDT is open until closed
    assert "Dr Both" in page[page.index('id="visits"'):page.index('id="health-events"')]
