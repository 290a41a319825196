"""Planned visits through the pages: planned by a coordinator for an assigned clinician or by a clinician for
themselves (the centre and the interpreter's language pre-filled), changed, cancelled and logged as a pre-filled
draft visit; every refusal; the week calendars of a coordinator and of a clinician; and the calendar file, read
back with icalendar, holding the case reference and the centre and nothing else about the person."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select, text, update

from app.audit.models import AuditEvent, Outcome, Revision, RevisionAction
from app.auth.models import Role, User
from app.config import get_settings
from app.detention.models import Facility
from app.people.models import Assignment, Person
from app.visits.models import PlannedVisit, PlannedVisitStatus, Visit, VisitMode, VisitStatus
from tests.pages import audit_events, count, form_fields, post_form

ZONE: ZoneInfo = get_settings().zone
# Distinctive words: found in a calendar file only if a name, a note or an interpreter's detail leaked into it.
GIVEN, FAMILY = "Zorbeline", "Quexmartin"
NOTE = "Bring the Qvxnotemarker scar photographs"
INTERPRETER, PHONE = "Ivo Interpretwright", "07700 900417"


def _local(moment: str) -> datetime:
    """A datetime-local value as the form sends it, read in the organisation's zone, as UTC."""
    return datetime.fromisoformat(moment).replace(tzinfo=ZONE).astimezone(UTC)


def _input(day: date, at: time = time(10, 30)) -> str:
    return datetime.combine(day, at).strftime("%Y-%m-%dT%H:%M")


def _next_july(today: date) -> date:
    """A day in British Summer Time, within the next year: 10:30 there is 09:30 UTC."""
    day = date(today.year, 7, 14)
    return day if day > today + timedelta(days=1) else date(today.year + 1, 7, 14)


def _facility(db, name: str = "Brook House") -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(Facility.id).where(Facility.name == name))


def _other_facility(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(Facility.id).where(Facility.is_active.is_(True), Facility.name != "Brook House")
                     .order_by(Facility.id))


def _new_form(client, person: Person) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}/planned-visits/new")
    assert page.status_code == 200, page.status_code
    return page.text, form_fields(page.text, f"/people/{person.reference}/planned-visits/new")


def _plan(client, person: Person, **fields):  # type: ignore[no-untyped-def]
    _, sent = _new_form(client, person)
    return client.post(f"/people/{person.reference}/planned-visits/new", data=sent | fields, follow_redirects=False)


def _planned(db, person: Person, clinician: User, starts_at: datetime, *, made_by: User | None = None,
             status: PlannedVisitStatus = PlannedVisitStatus.planned, **fields) -> PlannedVisit:  # type: ignore[no-untyped-def]
    """A planned visit put straight into the database (a time in the past is what the pages refuse to plan)."""
    db.rollback()
    visit = PlannedVisit(person_id=person.id, clinician_id=clinician.id, facility_id=fields.pop("facility_id", None)
                         or _facility(db), starts_at=starts_at, made_by_id=(made_by or clinician).id, status=status,
                         **fields)
    db.add(visit)
    db.commit()
    return visit


def _reload(db, planned_id: int) -> PlannedVisit:  # type: ignore[no-untyped-def]
    db.rollback()
    visit = db.get(PlannedVisit, planned_id)
    assert visit is not None
    return visit


def _page(client, person: Person, visit: PlannedVisit) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/people/{person.reference}/planned-visits/{visit.id}")
    assert response.status_code == 200, response.status_code
    return response.text


def _section(client, person: Person) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}").text
    return page.split('id="planned-visits-section"', 1)[1].split("</section>", 1)[0]


def _denied(db, actor: User) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.actor_user_id == actor.id,
                                                    AuditEvent.outcome == Outcome.denied)))


# --- planning ---------------------------------------------------------------------------------------------------------

def test_a_coordinator_plans_a_visit_for_the_assigned_clinician_with_the_centre_and_language_filled_in(
        client, db, signed_in, make_user, make_person, today):
    coordinator = signed_in(Role.coordinator, name="Cora Planner")
    clinician = make_user(Role.clinician, name="Dr Pia Planned")
    make_user(Role.clinician, name="Dr Not Assigned")
    person = make_person(GIVEN, FAMILY, detained_days=20, assigned_to=clinician, languages="Tigrinya, English")
    page, sent = _new_form(client, person)
    # The centre the person is held in, the one clinician assigned and their language come already chosen.
    assert sent["facility_id"] == str(_facility(db))
    assert sent["clinician_id"] == str(clinician.id) and "Dr Not Assigned" not in page
    assert sent["interpreter_language"] == "Tigrinya" and sent["duration_minutes"] == "60"
    day = _next_july(today)
    response = client.post(f"/people/{person.reference}/planned-visits/new", data=sent | {
        "starts_at": _input(day), "duration_minutes": "90", "booking_reference": "LV-2231",
        "interpreter_booked": "true", "interpreter_name": INTERPRETER, "interpreter_phone": PHONE, "notes": NOTE},
        follow_redirects=False)
    assert response.status_code == 303, response.text
    db.rollback()
    [visit] = db.scalars(select(PlannedVisit)).all()
    assert response.headers["location"] == f"/people/{person.reference}/planned-visits/{visit.id}"
    assert (visit.person_id, visit.clinician_id, visit.facility_id, visit.made_by_id, visit.status) == (
        person.id, clinician.id, _facility(db), coordinator.id, PlannedVisitStatus.planned)
    # Typed in UK summer time, kept in UTC.
    assert visit.starts_at == datetime.combine(day, time(9, 30), UTC)
    assert (visit.duration_minutes, visit.booking_reference, visit.interpreter_booked, visit.interpreter_language,
            visit.interpreter_name, visit.interpreter_phone, visit.notes) == (
        90, "LV-2231", True, "Tigrinya", INTERPRETER, PHONE, NOTE)
    [event] = audit_events(db, "planned_visit.created")
    assert (event.person_id, event.object_type, event.object_id, event.details) == (
        person.id, "planned_visit", str(visit.id), {})
    [revision] = db.scalars(select(Revision).where(Revision.table_name == "planned_visits")).all()
    assert revision.action is RevisionAction.insert and revision.after["notes"] == NOTE
    section = _section(client, person)
    assert f"/people/{person.reference}/planned-visits/{visit.id}" in section
    assert "Brook House" in section and "Dr Pia Planned" in section and "Booked (Tigrinya)" in section
    shown = _page(client, person, visit)
    assert INTERPRETER in shown and html.escape(NOTE) in shown and "LV-2231" in shown
    assert [e.details for e in audit_events(db, "planned_visit.viewed")] == [{}]


def test_the_interpreter_language_is_left_empty_for_someone_who_speaks_english_only(client, signed_in, make_user,
                                                                                    make_person):
    signed_in(Role.coordinator)
    person = make_person("Engla", "Fictivo", detained_days=3, assigned_to=make_user(Role.clinician),
                         languages="English")
    _, sent = _new_form(client, person)
    assert sent["interpreter_language"] == ""


def test_a_clinician_plans_their_own_visit_and_is_offered_no_one_else(client, db, signed_in, make_user, make_person,
                                                                     today):
    clinician = signed_in(Role.clinician, name="Dr Own Planner")
    colleague = make_user(Role.clinician, name="Dr Colleague Elsewhere")
    person = make_person("Ownia", "Fictivo", detained_days=9, assigned_to=clinician)
    db.add(Assignment(person_id=person.id, clinician_id=colleague.id))
    db.commit()
    page, sent = _new_form(client, person)
    assert "clinician_id" not in sent and "Dr Colleague Elsewhere" not in page
    response = _plan(client, person, starts_at=_input(today + timedelta(days=3)))
    assert response.status_code == 303, response.text
    db.rollback()
    assert db.scalars(select(PlannedVisit.clinician_id)).all() == [clinician.id]


# --- refusals ---------------------------------------------------------------------------------------------------------

def test_a_clinician_not_assigned_is_refused_and_nothing_is_saved(client, db, signed_in, make_user, make_person, today):
    coordinator = make_user(Role.coordinator)
    assigned = make_user(Role.clinician)
    person = make_person("Scopa", "Fictivo", detained_days=5, assigned_to=assigned)
    visit = _planned(db, person, assigned, datetime.now(UTC) + timedelta(days=2), made_by=coordinator)
    outsider = signed_in(Role.clinician)
    base = f"/people/{person.reference}/planned-visits"
    assert client.get(f"{base}/new").status_code == 403
    assert client.get(f"{base}/{visit.id}").status_code == 403
    assert client.get(f"{base}/{visit.id}/calendar.ics").status_code == 403
    for path in (f"{base}/new", f"{base}/{visit.id}", f"{base}/{visit.id}/cancel", f"{base}/{visit.id}/log"):
        response = post_form(client, path, {"starts_at": _input(today + timedelta(days=4)), "facility_id": "1",
                                        "version": "1"})
        assert response.status_code == 403, path
    assert count(db, PlannedVisit) == 1 and _reload(db, visit.id).status is PlannedVisitStatus.planned
    assert len(_denied(db, outsider)) == 7
    assert audit_events(db, "planned_visit.viewed") == [] and audit_events(db, "planned_visit.ics_downloaded") == []


def test_a_clinician_cannot_plan_for_another_clinician(client, db, signed_in, make_user, make_person, today):
    clinician = signed_in(Role.clinician)
    colleague = make_user(Role.clinician)
    person = make_person("Otheria", "Fictivo", detained_days=5, assigned_to=clinician)
    db.add(Assignment(person_id=person.id, clinician_id=colleague.id))
    db.commit()
    response = _plan(client, person, clinician_id=str(colleague.id), starts_at=_input(today + timedelta(days=2)))
    assert response.status_code == 403
    assert count(db, PlannedVisit) == 0
    [refusal] = _denied(db, clinician)
    assert refusal.details["permission"] == "plan_own_visits_only"


def test_a_clinician_under_break_glass_is_not_assigned_so_cannot_plan(client, db, signed_in, make_person, today):
    from app.people.models import EmergencyAccess

    clinician = signed_in(Role.clinician)
    person = make_person("Glassia", "Fictivo", detained_days=5)
    now = datetime.now(UTC)
    db.add(EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason="Fictional night call",
                           granted_at=now, expires_at=now + timedelta(hours=2)))
    db.commit()
    response = _plan(client, person, starts_at=_input(today + timedelta(days=2)))
    assert response.status_code == 422
    assert "You are not assigned to this person" in response.text
    assert count(db, PlannedVisit) == 0


def test_a_researcher_is_refused(client, db, signed_in, make_user, make_person):
    person = make_person("Resa", "Fictivo", assigned_to=make_user(Role.clinician))
    signed_in(Role.researcher)
    assert client.get(f"/people/{person.reference}/planned-visits/new").status_code == 403
    assert client.get("/calendar").status_code == 403
    assert count(db, PlannedVisit) == 0


def test_a_coordinator_choosing_a_clinician_not_assigned_is_told_beside_the_field(client, db, signed_in, make_user,
                                                                                 make_person, today):
    signed_in(Role.coordinator)
    make_user(Role.clinician)
    outsider = make_user(Role.clinician, name="Dr Unassigned Person")
    person = make_person("Choosa", "Fictivo", detained_days=5, assigned_to=make_user(Role.clinician))
    response = _plan(client, person, clinician_id=str(outsider.id), starts_at=_input(today + timedelta(days=2)))
    assert response.status_code == 422
    page = response.text
    assert "<title>Error: " in page and 'href="#f-clinician_id"' in page
    assert "Dr Unassigned Person is not assigned to this person" in page
    assert count(db, PlannedVisit) == 0


@pytest.mark.parametrize(("starts_at", "message"), [
    ("31/02/2027 25:99", "Enter the date and time of the visit as a real date"),
    ("past", "must be in the future"),
    ("far", "up to two years ahead"),
])
def test_bad_dates_are_refused_beside_the_field(client, db, signed_in, make_user, make_person, today, starts_at,
                                                message):
    signed_in(Role.coordinator)
    person = make_person("Datia", "Fictivo", detained_days=5, assigned_to=make_user(Role.clinician))
    value = {"past": _input(today - timedelta(days=1)), "far": _input(today + timedelta(days=800))}.get(starts_at,
                                                                                                        starts_at)
    response = _plan(client, person, starts_at=value, notes="Kept as typed")
    assert response.status_code == 422
    assert "<title>Error: " in response.text and 'href="#f-starts_at"' in response.text
    assert message in html.unescape(response.text)
    # What was typed comes back in the form.
    assert form_fields(response.text, f"/people/{person.reference}/planned-visits/new")["notes"] == "Kept as typed"
    assert count(db, PlannedVisit) == 0


def test_an_interpreter_booked_needs_a_language_and_details_need_the_box(client, db, signed_in, make_user,
                                                                        make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Langa", "Fictivo", detained_days=5, assigned_to=make_user(Role.clinician))
    when = _input(today + timedelta(days=2))
    booked = _plan(client, person, starts_at=when, interpreter_booked="true", interpreter_language="")
    assert booked.status_code == 422 and "Enter the language the interpreter will use." in booked.text
    unticked = _plan(client, person, starts_at=when, interpreter_name=INTERPRETER)
    assert unticked.status_code == 422 and "Interpreter booked" in html.unescape(unticked.text)
    phone = _plan(client, person, starts_at=when, interpreter_booked="true", interpreter_phone="call me maybe")
    assert phone.status_code == 422 and "phone number in digits" in phone.text
    assert count(db, PlannedVisit) == 0


# --- changing and cancelling ------------------------------------------------------------------------------------------

def test_a_coordinator_changes_a_planned_visit_and_an_older_form_is_refused(client, db, signed_in, make_user,
                                                                           make_person, today):
    coordinator = signed_in(Role.coordinator)
    clinician = make_user(Role.clinician)
    person = make_person("Changa", "Fictivo", detained_days=5, assigned_to=clinician)
    visit = _planned(db, person, clinician, _local(_input(today + timedelta(days=3))), made_by=coordinator)
    path = f"/people/{person.reference}/planned-visits/{visit.id}"
    sent = form_fields(_page(client, person, visit), path)
    assert sent["starts_at"] == _input(today + timedelta(days=3)) and sent["version"] == "1"
    moved = _input(today + timedelta(days=4), time(14, 0))
    response = client.post(path, data=sent | {"starts_at": moved, "facility_id": str(_other_facility(db)),
                                              "booking_reference": "LV-9"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == path
    changed = _reload(db, visit.id)
    assert (changed.starts_at, changed.facility_id, changed.booking_reference, changed.version) == (
        _local(moved), _other_facility(db), "LV-9", 2)
    [event] = audit_events(db, "planned_visit.changed")
    assert event.details == {"fields": ["booking_reference", "facility_id", "starts_at"]}
    # The form loaded before that change is refused, and shows what is saved now.
    stale = client.post(path, data=sent | {"booking_reference": "LV-OLD"}, follow_redirects=False)
    assert stale.status_code == 409 and "LV-9" in stale.text
    assert _reload(db, visit.id).booking_reference == "LV-9"
    # Saving the form unchanged changes nothing.
    again = form_fields(_page(client, person, visit), path)
    assert client.post(path, data=again, follow_redirects=False).status_code == 303
    assert _reload(db, visit.id).version == 2 and len(audit_events(db, "planned_visit.changed")) == 1


def test_another_clinician_of_the_person_sees_the_visit_but_cannot_change_it(client, db, signed_in, make_user,
                                                                            make_person, today):
    planner = make_user(Role.clinician, name="Dr Visit Owner")
    person = make_person("Sharia", "Fictivo", detained_days=5, assigned_to=planner)
    visit = _planned(db, person, planner, datetime.now(UTC) + timedelta(days=2))
    colleague = signed_in(Role.clinician)
    db.add(Assignment(person_id=person.id, clinician_id=colleague.id))
    db.commit()
    page = _page(client, person, visit)
    path = f"/people/{person.reference}/planned-visits/{visit.id}"
    assert "Dr Visit Owner" in page and f'action="{path}"' not in page and f"{path}/cancel" not in page
    assert post_form(client, path, {"starts_at": _input(today + timedelta(days=5)), "facility_id": "1",
                                    "version": "1"}).status_code == 403
    assert post_form(client, f"{path}/cancel", {"version": "1"}).status_code == 403
    assert post_form(client, f"{path}/log", {"version": "1"}).status_code == 403
    assert _reload(db, visit.id).version == 1


def test_cancelling_takes_the_visit_off_the_person_page_and_the_calendar(client, db, signed_in, make_user,
                                                                        make_person, today):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician)
    person = make_person("Cancella", "Fictivo", detained_days=5, assigned_to=clinician)
    visit = _planned(db, person, clinician, datetime.now(UTC) + timedelta(hours=2))
    path = f"/people/{person.reference}/planned-visits/{visit.id}"
    assert path in _section(client, person)
    sent = form_fields(_page(client, person, visit), f"{path}/cancel")
    response = client.post(f"{path}/cancel", data=sent, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/people/{person.reference}#planned-visits-section"
    assert _reload(db, visit.id).status is PlannedVisitStatus.cancelled
    assert len(audit_events(db, "planned_visit.cancelled")) == 1
    assert path not in _section(client, person) and "No visits planned." in _section(client, person)
    assert person.reference not in client.get("/calendar").text
    # Cancelling again, or changing it now, is refused as out of date; the page says it was cancelled.
    again = client.post(f"{path}/cancel", data=sent, follow_redirects=False)
    assert again.status_code == 409 and "This planned visit was cancelled" in again.text
    assert len(audit_events(db, "planned_visit.cancelled")) == 1


# --- the week calendar ------------------------------------------------------------------------------------------------

def _monday(today: date) -> date:
    return today - timedelta(days=today.weekday())


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def test_the_calendar_shows_a_coordinator_every_visit_of_the_week_and_a_clinician_their_own(
        client, db, signed_in, make_user, make_person, today):
    mine = make_user(Role.clinician, name="Dr Calendar Mine")
    theirs = make_user(Role.clinician, name="Dr Calendar Theirs")
    first = make_person("Calia", "Fictivo", detained_days=5, assigned_to=mine)
    second = make_person("Calib", "Fictivo", detained_days=5, assigned_to=theirs)
    left = make_person("Calic", "Fictivo", detained_days=5, assigned_to=mine)
    monday = _monday(today)
    wednesday = datetime.combine(monday + timedelta(days=2), time(10, 30), ZONE).astimezone(UTC)
    own = _planned(db, first, mine, wednesday, interpreter_booked=True, interpreter_language="Tigrinya")
    other = _planned(db, second, theirs, wednesday + timedelta(hours=3))
    later = _planned(db, first, mine, wednesday + timedelta(days=7))
    gone = _planned(db, left, mine, wednesday + timedelta(hours=1))
    _planned(db, second, theirs, wednesday + timedelta(hours=5), status=PlannedVisitStatus.cancelled)
    # The assignment to `left` has ended: the clinician no longer sees that case, even on their calendar.
    db.execute(update(Assignment).where(Assignment.person_id == left.id).values(ended_at=datetime.now(UTC)))
    db.commit()

    signed_in(Role.coordinator)
    page = client.get("/calendar")
    assert page.status_code == 200
    text_ = page.text
    for visit, person in ((own, first), (other, second), (gone, left)):
        assert f"/people/{person.reference}/planned-visits/{visit.id}" in text_
    assert f"planned-visits/{later.id}\"" not in text_
    assert "Dr Calendar Mine" in text_ and "Dr Calendar Theirs" in text_ and "10:30 to 11:30" in text_
    assert "Booked (Tigrinya)" in text_ and "Not booked" in text_
    assert f'href="/calendar?week={_week(monday + timedelta(days=7))}"' in text_
    assert f'href="/calendar?week={_week(monday - timedelta(days=7))}"' in text_
    [event] = audit_events(db, "calendar.viewed")
    assert event.details == {"week": _week(monday), "shown": 3} and event.person_id is None
    # One clinician's visits only.
    filtered = client.get(f"/calendar?week={_week(monday)}&clinician={theirs.id}").text
    assert f"planned-visits/{other.id}\"" in filtered and f"planned-visits/{own.id}\"" not in filtered
    # The next week, through its link.
    following = client.get(f"/calendar?week={_week(monday + timedelta(days=7))}").text
    assert f"planned-visits/{later.id}\"" in following and f"planned-visits/{own.id}\"" not in following
    assert client.get("/calendar?week=2026-W60").status_code == 404
    assert client.get("/calendar?week=next").status_code == 404

    client.cookies.clear()
    from tests.conftest import sign_in

    assert sign_in(client, mine.email).status_code == 303
    own_page = client.get("/calendar").text
    assert f"planned-visits/{own.id}\"" in own_page
    assert f"planned-visits/{other.id}\"" not in own_page and second.reference not in own_page
    assert left.reference not in own_page
    assert 'href="/calendar"' in own_page  # the Calendar link in the navigation
    assert audit_events(db, "calendar.viewed")[-1].details == {"week": _week(monday), "shown": 1}


# --- the calendar file ------------------------------------------------------------------------------------------------

def test_the_calendar_file_holds_the_case_reference_and_the_centre_and_nothing_about_the_person(
        client, db, signed_in, make_user, make_person, today):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician, name="Dr Icsfile Clinician")
    person = make_person(GIVEN, FAMILY, detained_days=5, assigned_to=clinician, languages="Tigrinya")
    day = _next_july(today)
    response = _plan(client, person, starts_at=_input(day), duration_minutes="45", booking_reference="LV-77",
                     interpreter_booked="true", interpreter_name=INTERPRETER, interpreter_phone=PHONE, notes=NOTE)
    assert response.status_code == 303
    db.rollback()
    visit = db.scalars(select(PlannedVisit)).one()
    path = f"/people/{person.reference}/planned-visits/{visit.id}/calendar.ics"
    assert path in _page(client, person, visit)
    download = client.get(path)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/calendar")
    assert download.headers["content-disposition"] == f'attachment; filename="visit-{person.reference}-{visit.id}.ics"'
    assert download.headers["cache-control"] == "no-store"
    [event] = Calendar.from_ical(download.content).walk("VEVENT")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == datetime.combine(day, time(9, 30), UTC) and start.utcoffset() == timedelta(0)
    assert end - start == timedelta(minutes=45)
    assert b"DTSTART:" in download.content and b"Z\r\n" in download.content  # written in UTC
    assert str(event["summary"]) == f"Visit: case {person.reference} at Brook House"
    assert str(event["location"]) == "Brook House"
    assert str(event["status"]) == "CONFIRMED"
    uid = str(event["uid"])
    assert uid.startswith(f"planned-visit-{visit.id}@")
    # The attack: nothing typed about the person, and no one's name, is anywhere in the file.
    raw = download.content.decode()
    unfolded = raw.replace("\r\n ", "")
    for secret in (GIVEN, FAMILY, GIVEN.upper(), FAMILY.upper(), "Qvxnotemarker", NOTE, "Interpretwright", "900417",
                   "Tigrinya", "LV-77", "Dr Icsfile Clinician"):
        assert secret not in unfolded, secret
    # The same event on every download; a change moves its sequence on.
    sent = form_fields(_page(client, person, visit), f"/people/{person.reference}/planned-visits/{visit.id}")
    moved = client.post(f"/people/{person.reference}/planned-visits/{visit.id}",
                        data=sent | {"starts_at": _input(day, time(15, 0))}, follow_redirects=False)
    assert moved.status_code == 303
    [again] = Calendar.from_ical(client.get(path).content).walk("VEVENT")
    assert str(again["uid"]) == uid and int(again["sequence"]) == 1
    assert again.decoded("dtstart") == datetime.combine(day, time(14, 0), UTC)
    assert len(audit_events(db, "planned_visit.ics_downloaded")) == 2


def test_a_cancelled_visits_calendar_file_says_it_is_cancelled(client, db, signed_in, make_user, make_person):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician)
    person = make_person("Icsa", "Fictivo", detained_days=5, assigned_to=clinician)
    visit = _planned(db, person, clinician, datetime.now(UTC) + timedelta(days=1),
                     status=PlannedVisitStatus.cancelled)
    [event] = Calendar.from_ical(client.get(
        f"/people/{person.reference}/planned-visits/{visit.id}/calendar.ics").content).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"


# --- log this visit ---------------------------------------------------------------------------------------------------

def test_log_this_visit_makes_a_pre_filled_draft_and_the_planned_visit_shows_as_logged(client, db, signed_in,
                                                                                       make_person):
    clinician = signed_in(Role.clinician, name="Dr Logging Clinician")
    person = make_person("Logga", "Fictivo", detained_days=5, assigned_to=clinician)
    starts_at = datetime.now(UTC) - timedelta(hours=1)
    visit = _planned(db, person, clinician, starts_at, duration_minutes=75, booking_reference="LV-5",
                     interpreter_booked=True, interpreter_language="Dari", interpreter_name=INTERPRETER, notes=NOTE)
    path = f"/people/{person.reference}/planned-visits/{visit.id}"
    sent = form_fields(_page(client, person, visit), f"{path}/log")
    response = client.post(f"{path}/log", data=sent, follow_redirects=False)
    assert response.status_code == 303, response.text
    db.rollback()
    draft = db.scalars(select(Visit)).one()
    assert response.headers["location"] == f"/people/{person.reference}/visits/{draft.id}/edit"
    assert (draft.person_id, draft.clinician_id, draft.visit_date, draft.facility_id, draft.mode,
            draft.interpreter_used, draft.interpreter_language, draft.duration_minutes, draft.status) == (
        person.id, clinician.id, starts_at.astimezone(ZONE).date(), _facility(db), VisitMode.legal_visit_room,
        True, "Dari", 75, VisitStatus.draft)
    assert draft.presenting_concerns is None and draft.findings is None  # the notes are for the visitor, not clinical
    logged = _reload(db, visit.id)
    assert (logged.status, logged.visit_id) == (PlannedVisitStatus.logged, draft.id)
    [event] = audit_events(db, "planned_visit.logged")
    assert event.details == {"visit_id": draft.id}
    assert len(audit_events(db, "visit.created")) == 1
    edit = client.get(response.headers["location"])
    assert edit.status_code == 200
    fields = form_fields(edit.text, f"/people/{person.reference}/visits/{draft.id}/edit")
    assert fields["mode"] == "legal_visit_room" and fields["interpreter_language"] == "Dari"
    page = _page(client, person, visit)
    assert "Logged" in page and f"/people/{person.reference}/visits/{draft.id}" in page
    assert f"{path}/log" not in page
    assert path not in _section(client, person)
    # Logging it again is refused as out of date: still one draft.
    assert client.post(f"{path}/log", data=sent, follow_redirects=False).status_code == 409
    assert count(db, Visit) == 1


def test_a_visit_still_ahead_cannot_be_logged_and_a_coordinator_cannot_log_it(client, db, signed_in, make_user,
                                                                              make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Aheada", "Fictivo", detained_days=5, assigned_to=clinician)
    ahead = _planned(db, person, clinician, datetime.now(UTC) + timedelta(days=3))
    path = f"/people/{person.reference}/planned-visits/{ahead.id}"
    page = _page(client, person, ahead)
    assert f"{path}/log" not in page and "It can be logged on the day of the visit or afterwards." in page
    response = post_form(client, f"{path}/log", {"version": "1"}, form_page=path)
    assert response.status_code == 422 and "log it on the day or afterwards" in response.text
    assert count(db, Visit) == 0 and _reload(db, ahead.id).status is PlannedVisitStatus.planned

    past = _planned(db, person, clinician, datetime.now(UTC) - timedelta(hours=2))
    client.cookies.clear()
    coordinator = signed_in(Role.coordinator)
    past_path = f"/people/{person.reference}/planned-visits/{past.id}"
    assert f"{past_path}/log" not in _page(client, person, past)
    assert post_form(client, f"{past_path}/log", {"version": "1"}).status_code == 403
    assert count(db, Visit) == 0 and _reload(db, past.id).status is PlannedVisitStatus.planned
    assert _denied(db, coordinator)[0].details["permission"] == "planned_visit_clinician"


def test_the_interpreter_and_the_notes_are_sealed_at_rest(client, db, signed_in, make_user, make_person, engine,
                                                         today):
    signed_in(Role.coordinator)
    person = make_person("Seala", "Fictivo", detained_days=5, assigned_to=make_user(Role.clinician))
    assert _plan(client, person, starts_at=_input(today + timedelta(days=2)), interpreter_booked="true",
                 interpreter_language="Dari", interpreter_name=INTERPRETER, interpreter_phone=PHONE,
                 notes=NOTE).status_code == 303
    with engine.connect() as conn:
        row = conn.execute(text("SELECT interpreter_name, interpreter_phone, notes FROM planned_visits")).one()
    for column, plain in zip(row, (INTERPRETER, PHONE, NOTE), strict=True):
        assert isinstance(column, bytes) and plain.encode() not in column
