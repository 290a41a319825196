"""Detention episodes, transfers, ending a detention and bail: validation, the clock, revisions, conflicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent, Revision
from app.auth.models import Role
from app.detention.models import DetentionEpisode, Facility, Placement
from app.people.models import Person
from tests.pages import audit_events, post_form, saved_meanwhile


def facility_id(db, name: str) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(Facility.id).where(Facility.name == name))


def submit(client, path: str, data: dict):  # type: ignore[no-untyped-def]
    """Open the form page at `path`, then post `data` with its token: each post also checks its page opens."""
    return post_form(client, path, data, form_page=path)


def version_of(db, person) -> str:  # type: ignore[no-untyped-def]
    db.rollback()
    return str(db.get(Person, person.id).version)


def counts(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    db.rollback()
    return (db.scalar(select(func.count()).select_from(DetentionEpisode)),
            db.scalar(select(func.count()).select_from(Placement)))


def current_episode(db, person) -> DetentionEpisode:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id,
                                                     DetentionEpisode.end_date.is_(None))).one()


def test_start_transfer_and_end_a_detention(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Clock", "Keeper")
    base = f"/people/{person.reference}/episodes"
    started = submit(client, f"{base}/new", {"facility_id": facility_id(db, "Brook House"),
                                             "start_date": str(today - timedelta(days=39)),
                                             "version": version_of(db, person)})
    assert started.status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert '<span class="clock__value">40</span>' in page and "Brook House" in page
    episode = current_episode(db, person)
    assert db.get(Person, person.id).status.value == "detained"

    moved = submit(client, f"{base}/{episode.id}/transfer", {
        "facility_id": facility_id(db, "Colnbrook"), "transfer_date": str(today - timedelta(days=5)),
        "version": version_of(db, person)})
    assert moved.status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert '<span class="clock__value">40</span>' in page  # a transfer never resets the clock
    assert "Transferred to Colnbrook" in page

    ended = submit(client, f"{base}/{episode.id}/end", {"end_date": str(today), "end_reason": "bailed",
                                                         "version": version_of(db, person)})
    assert ended.status_code == 303
    db.rollback()
    placements = db.scalars(select(Placement).where(Placement.episode_id == episode.id)
                            .order_by(Placement.date_in)).all()
    assert [p.date_out for p in placements] == [today - timedelta(days=5), today]
    assert db.get(Person, person.id).status.value == "released"
    page = client.get(f"/people/{person.reference}").text
    assert "Not in detention" in page and '<span class="clock__value">40</span>' in page  # cumulative
    tables = db.scalars(select(Revision.table_name).where(Revision.person_id == person.id)).all()
    assert tables.count("detention_episodes") == 2 and tables.count("placements") >= 4
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.person_id == person.id)).all()
    assert {"detention.episode_started", "detention.transferred", "detention.episode_ended"} <= set(actions)


def test_re_detention_starts_a_new_current_episode_and_cumulative_days_add_up(client, db, signed_in, make_person,
                                                                             today):
    signed_in(Role.coordinator)
    person = make_person("Twice", "Detained")
    base = f"/people/{person.reference}/episodes"
    earlier = submit(client, f"{base}/new", {
        "facility_id": facility_id(db, "Dungavel"), "start_date": str(today - timedelta(days=100)),
        "end_date": str(today - timedelta(days=91)), "end_reason": "released_temporary_admission",
        "version": version_of(db, person)})
    assert earlier.status_code == 303
    again = submit(client, f"{base}/new", {"facility_id": facility_id(db, "Yarl's Wood"),
                                           "start_date": str(today - timedelta(days=2)),
                                           "version": version_of(db, person)})
    assert again.status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert '<span class="clock__value">3</span>' in page  # current episode: day 3
    assert '<span class="clock__value">13</span>' in page  # 10 + 3 days in all
    assert "over 2 detentions" in page


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"start_date": "+1"}, "start_date", "cannot be in the future"),
    ({"start_date": "-10", "end_date": "-20", "end_reason": "bailed"}, "end_date", "on or after the date detained"),
    ({"start_date": "-10", "end_date": "-5"}, "end_reason", "Choose why the detention ended"),
    ({"start_date": "-30"}, "start_date", "overlaps the detention"),
])
def test_bad_episode_dates_are_refused_beside_the_field_and_nothing_is_saved(client, db, signed_in, make_person,
                                                                            today, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Bad", "Dates", detained_days=20)
    before = counts(db)
    data = {"facility_id": facility_id(db, "Brook House"), "version": version_of(db, person)}
    for name, offset in fields.items():
        data[name] = str(today + timedelta(days=int(offset))) if offset[0] in "+-" else offset
    response = submit(client, f"/people/{person.reference}/episodes/new", data)
    assert response.status_code == 422
    assert f'id="f-{field}-error"' in response.text and message in response.text
    assert counts(db) == before


def test_transfer_outside_its_episode_or_in_the_future_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Transfer", "Limits", detained_days=10)
    episode = current_episode(db, person)
    path = f"/people/{person.reference}/episodes/{episode.id}/transfer"
    before = counts(db)
    for when, message in ((today - timedelta(days=11), "must be within this detention"),
                          (today + timedelta(days=1), "cannot be in the future")):
        response = submit(client, path, {"facility_id": facility_id(db, "Colnbrook"), "transfer_date": str(when),
                                         "version": version_of(db, person)})
        assert response.status_code == 422 and message in response.text
    same = submit(client, path, {"facility_id": facility_id(db, "Brook House"), "transfer_date": str(today),
                                 "version": version_of(db, person)})
    assert same.status_code == 422 and "already at this facility" in same.text
    assert counts(db) == before


def test_bail_application_is_recorded_and_opens_the_reapplication_alert_later(client, db, signed_in, make_person,
                                                                             today):
    signed_in(Role.coordinator)
    person = make_person("Bail", "Applicant", detained_days=60)
    episode = current_episode(db, person)
    path = f"/people/{person.reference}/episodes/{episode.id}/bail"
    response = submit(client, path, {"application_date": str(today - timedelta(days=30)), "outcome": "refused",
                                     "version": version_of(db, person)})
    assert response.status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert "Bail can be applied for again" in page
    future = submit(client, path, {"application_date": str(today + timedelta(days=1)), "outcome": "pending",
                                   "version": version_of(db, person)})
    assert future.status_code == 422


def test_a_form_loaded_before_someone_else_saved_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Two", "Editors", detained_days=10)
    episode = current_episode(db, person)
    stale = version_of(db, person)
    first = submit(client, f"/people/{person.reference}/episodes/{episode.id}/transfer", {
        "facility_id": facility_id(db, "Colnbrook"), "transfer_date": str(today), "version": stale})
    assert first.status_code == 303
    second = submit(client, f"/people/{person.reference}/episodes/{episode.id}/end", {
        "end_date": str(today), "end_reason": "removed", "version": stale})
    # The form again with what was typed, beside what is saved now, carrying the version saved now.
    assert second.status_code == 409
    assert "Nothing you typed has been saved" in second.text
    assert '<option value="removed" selected>' in second.text
    assert f'name="version" value="{version_of(db, person)}"' in second.text
    assert current_episode(db, person).end_date is None


def test_a_change_that_races_another_is_the_conflict_page_not_a_500(client, db, signed_in, make_person, today,
                                                                   monkeypatch):
    """Two saves that both pass the version check: the second UPDATE of the person finds its version gone
    (StaleDataError at flush, as on PostgreSQL under load) and is answered like a stale form."""
    from app.detention import service

    signed_in(Role.coordinator)
    person = make_person("Race", "Condition", detained_days=10)
    episode = current_episode(db, person)
    saved_meanwhile(monkeypatch, service)
    raced = submit(client, f"/people/{person.reference}/episodes/{episode.id}/end", {
        "end_date": str(today), "end_reason": "removed", "version": version_of(db, person)})
    assert raced.status_code == 409
    assert "Nothing you typed has been saved" in raced.text
    assert current_episode(db, person).end_date is None
    assert audit_events(db, "detention.episode_ended") == []


def test_an_ended_detention_takes_no_more_actions(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Already", "Ended", detained_days=10)
    episode = current_episode(db, person)
    base = f"/people/{person.reference}/episodes/{episode.id}"
    assert submit(client, f"{base}/end", {"end_date": str(today), "end_reason": "bailed",
                                          "version": version_of(db, person)}).status_code == 303
    shown = client.get(f"{base}/bail", follow_redirects=False)
    assert shown.status_code == 303 and shown.headers["location"] == f"/people/{person.reference}"
    # A form still open in another tab: refused by the rule, answered as its page is (back to the person).
    late = post_form(client, f"{base}/bail", {"application_date": str(today), "outcome": "pending",
                                              "version": version_of(db, person)})
    assert late.status_code == 303 and late.headers["location"] == f"/people/{person.reference}"
    assert "That detention has already ended." in client.get(f"/people/{person.reference}").text
    db.rollback()
    assert db.get(DetentionEpisode, episode.id).last_bail_application_date is None
    assert audit_events(db, "detention.bail_recorded") == []


def test_clinicians_cannot_change_detention_records(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("Assigned", "Butreadonly", detained_days=10, assigned_to=clinician)
    assert client.get(f"/people/{person.reference}/episodes/new").status_code == 403
    episode = current_episode(db, person)
    assert client.get(f"/people/{person.reference}/episodes/{episode.id}/end").status_code == 403


def test_unknown_episode_or_action_is_404(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Missing", "Episode", detained_days=3)
    other = make_person("Other", "Person", detained_days=3)
    episode = current_episode(db, other)
    assert client.get(f"/people/{person.reference}/episodes/{episode.id}/end").status_code == 404
    assert client.get(f"/people/{person.reference}/episodes/999999/transfer").status_code == 404
    own = current_episode(db, person).id
    assert client.get(f"/people/{person.reference}/episodes/{own}/explode").status_code == 404
    # Each action has its own form; there is nothing to post to for one that does not exist.
    unknown = post_form(client, f"/people/{person.reference}/episodes/{own}/explode", {})
    assert unknown.status_code == 405


def test_arrival_time_and_the_admission_gp_exam_clear_the_alert(client, db, signed_in, make_person, today):
    from datetime import datetime

    from app.config import get_settings

    signed_in(Role.coordinator)
    person = make_person("Exam", "Pending")
    zone = get_settings().zone
    yesterday = today - timedelta(days=1)
    started = submit(client, f"/people/{person.reference}/episodes/new", {
        "facility_id": facility_id(db, "Brook House"), "start_date": str(yesterday),
        "arrived_at": f"{yesterday}T00:05", "version": version_of(db, person)})
    assert started.status_code == 303
    db.rollback()
    placement = db.scalars(select(Placement)).one()
    assert placement.arrived_at == datetime(yesterday.year, yesterday.month, yesterday.day, 0, 5, tzinfo=zone)
    episode = current_episode(db, person)
    path = f"/people/{person.reference}/episodes/{episode.id}/exam"
    too_early = submit(client, path, {"gp_exam_at": f"{yesterday - timedelta(days=1)}T09:00",
                                      "version": version_of(db, person)})
    assert too_early.status_code == 422 and "after the arrival" in too_early.text
    page = client.get(f"/people/{person.reference}").text
    if datetime.now(zone) - placement.arrived_at > timedelta(hours=24):
        assert "No admission GP examination recorded" in page
    done = submit(client, path, {"gp_exam_at": f"{yesterday}T09:00", "version": version_of(db, person)})
    assert done.status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert "No admission GP examination recorded" not in page and "GP exam" in page


def test_arrival_time_must_be_on_the_day_of_arrival(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Wrong", "Arrival")
    response = submit(client, f"/people/{person.reference}/episodes/new", {
        "facility_id": facility_id(db, "Brook House"), "start_date": str(today - timedelta(days=3)),
        "arrived_at": f"{today - timedelta(days=5)}T10:00", "version": version_of(db, person)})
    assert response.status_code == 422
    assert 'id="f-arrived_at-error"' in response.text
    assert counts(db) == (0, 0)
