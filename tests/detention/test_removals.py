"""Removal directions through the person page, the removal_imminent alert at its boundaries, and a removal
carried out ending the detention in the same step."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.alerts import service as alerts
from app.alerts import state
from app.alerts.models import PersonAlertState
from app.auth.models import Role, User
from app.config import get_settings
from app.detention.models import DetentionEpisode, EndReason, RemovalDirection, RemovalStatus
from app.people.models import Person, PersonStatus
from tests.alerts.test_dashboard import alert_count, list_total
from tests.conftest import csrf_from, sign_in
from tests.pages import audit_events


def _local(at: datetime) -> str:
    """The datetime-local value a browser sends for `at`, in the organisation's time zone."""
    return at.astimezone(get_settings().zone).strftime("%Y-%m-%dT%H:%M")


def _post(client, person: Person, path: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}").text
    version = re.search(r'id="removals-section".*?name="version" value="(\d+)"', page, re.S)
    data = {"csrf_token": csrf_from(page)} | ({"version": version.group(1)} if version else {}) | fields
    return client.post(f"/people/{person.reference}/{path}", data=data, follow_redirects=False)


def _add(client, person: Person, at: datetime, **fields):  # type: ignore[no-untyped-def]
    return _post(client, person, "removals", **({"removal_at": _local(at), "carrier": "Charter",
                                                 "destination": "Fictional Republic"} | fields))


def test_a_coordinator_records_a_removal_and_it_leads_the_person_page_and_the_dashboard(client, signed_in,
                                                                                       make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Tobremoved", detained_days=30)
    at = (datetime.now(UTC) + timedelta(hours=20)).replace(second=0, microsecond=0)
    response = _add(client, person, at, source="His solicitor, by phone")
    assert response.status_code == 303 and response.headers["location"].endswith("#removals-section")
    db.rollback()
    direction = db.scalars(select(RemovalDirection).where(RemovalDirection.person_id == person.id)).one()
    assert (direction.removal_at, direction.status, direction.carrier) == (at, RemovalStatus.set, "Charter")
    [event] = audit_events(db, "removal.recorded")
    assert event.person_id == person.id and event.details == {"removal_id": direction.id, "status": "set"}
    page = client.get(f"/people/{person.reference}").text
    assert "Removal within 72 hours" in page and "urgent" in page and "Fictional Republic" in page
    # The removal leads the alerts, on the person page and on the dashboard.
    alerts_part = page.split('id="alerts-title"', 1)[1]
    assert alerts_part.index("Removal within 72 hours") < alerts_part.index("Detained over 28 days")
    dashboard = client.get("/").text
    assert alert_count(dashboard, "removal_imminent") == 1 == list_total(client, "/people?alert=removal_imminent")


@pytest.mark.parametrize(("hours", "fires"), [(71, True), (73, False), (-1, False)])
def test_removal_imminent_fires_within_its_hours_only(db, make_person, today, hours, fires):
    person = make_person("Fictiva", f"Boundary{hours + 10}", detained_days=10)
    db.rollback()
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    now = datetime.now(UTC)
    db.add(RemovalDirection(person_id=person.id, removal_at=now + timedelta(hours=hours), carrier="Flight FX 101",
                            destination="Fictional Republic", recorded_by_id=actor))
    db.commit()
    cutoffs = alerts.Cutoffs.for_day(today, get_settings(), now=now)
    fired = {rule.id for rule in alerts.firing(db, cutoffs, [person.id])[person.id]}
    assert ("removal_imminent" in fired) is fires
    # The kept flags agree, and say when they stop being true: when the removal comes within 72 hours, or passes.
    state.refresh(db, cutoffs, get_settings().zone, everyone=True)
    db.commit()
    row = db.get(PersonAlertState, person.id, populate_existing=True)
    assert bool(row.flags & state.BIT["removal_imminent"]) is fires
    if hours == 73:
        assert row.valid_until == now + timedelta(hours=1)
    if hours == 71:
        assert row.valid_until <= now + timedelta(hours=71)


def test_a_deferred_removal_no_longer_alerts(client, signed_in, make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Deferred", detained_days=30)
    assert _add(client, person, datetime.now(UTC) + timedelta(hours=30)).status_code == 303
    db.rollback()
    direction = db.scalars(select(RemovalDirection).where(RemovalDirection.person_id == person.id)).one()
    assert _post(client, person, f"removals/{direction.id}/status", status="deferred").status_code == 303
    assert "Removal within 72 hours" not in client.get(f"/people/{person.reference}").text
    [event] = audit_events(db, "removal.status_changed")
    assert event.details == {"removal_id": direction.id, "status": "deferred", "previous_status": "set",
                             "detention_ended": False}


def test_a_removal_carried_out_ends_the_detention_in_the_same_step(client, signed_in, make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictiva", "Removed", detained_days=30)
    past = datetime.now(UTC) - timedelta(hours=2)
    assert _add(client, person, past).status_code == 303
    db.rollback()
    direction = db.scalars(select(RemovalDirection).where(RemovalDirection.person_id == person.id)).one()
    done = _post(client, person, f"removals/{direction.id}/status", status="carried_out", end_detention="true")
    assert done.status_code == 303
    db.rollback()
    episode = db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id)).one()
    assert episode.end_date == past.astimezone(get_settings().zone).date()
    assert episode.end_reason is EndReason.removed
    assert db.get(Person, person.id).status is PersonStatus.removed
    assert db.get(RemovalDirection, direction.id).status is RemovalStatus.carried_out


def test_bad_removal_input_is_refused_beside_the_field_and_nothing_is_saved(client, signed_in, make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Badremoval", detained_days=5)
    db.rollback()
    started = db.scalars(select(DetentionEpisode.start_date).where(DetentionEpisode.person_id == person.id)).one()
    before = datetime.combine(started - timedelta(days=2), datetime.min.time(), get_settings().zone)
    cases = [
        ({"removal_at": _local(before)}, "removal_at", "on or after the day the detention began"),
        ({"removal_at": "next tuesday"}, "removal_at", None),
        ({"carrier": ""}, "carrier", None),
        ({"destination": "x" * 121}, "destination", None),
    ]
    for fields, field, message in cases:
        response = _add(client, person, datetime.now(UTC) + timedelta(days=3), **fields)
        assert response.status_code == 422 and f'id="f-{field}-error"' in response.text, fields
        assert message is None or message in response.text
    assert db.scalars(select(RemovalDirection)).all() == []
    # A removal still ahead cannot have been carried out; only a removal carried out ends a detention.
    assert _add(client, person, datetime.now(UTC) + timedelta(days=3)).status_code == 303
    db.rollback()
    direction = db.scalars(select(RemovalDirection)).one()
    early = _post(client, person, f"removals/{direction.id}/status", status="carried_out")
    assert early.status_code == 422 and "cannot have been carried out yet" in early.text
    ended = _post(client, person, f"removals/{direction.id}/status", status="cancelled", end_detention="true")
    assert ended.status_code == 422 and "Only a removal carried out ends the detention." in ended.text
    db.rollback()
    assert db.get(RemovalDirection, direction.id).status is RemovalStatus.set
    assert db.scalars(select(DetentionEpisode.end_date).where(DetentionEpisode.person_id == person.id)).one() is None


def test_clinicians_see_removals_of_their_people_but_do_not_record_them(client, make_person, make_user, db):
    clinician = make_user(Role.clinician)
    person = make_person("Fictiva", "Assignedone", detained_days=5, assigned_to=clinician)
    assert sign_in(client, clinician.email).status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert "Removal directions" in page and "Record a removal direction" not in page
    refused = client.post(f"/people/{person.reference}/removals", data={
        "csrf_token": csrf_from(page), "removal_at": _local(datetime.now(UTC) + timedelta(days=1)),
        "carrier": "Charter", "destination": "Fictional Republic"}, follow_redirects=False)
    assert refused.status_code == 403
    assert db.scalars(select(RemovalDirection)).all() == []


def test_saving_without_choosing_what_happened_says_so(client, signed_in, make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictiva", "Nochoice", detained_days=5)
    assert _add(client, person, datetime.now(UTC) + timedelta(days=2)).status_code == 303
    db.rollback()
    direction = db.scalars(select(RemovalDirection)).one()
    response = _post(client, person, f"removals/{direction.id}/status")
    assert response.status_code == 422 and 'id="f-status-error"' in response.text
    assert "Choose what happened to the removal." in response.text
