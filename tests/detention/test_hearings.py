"""Hearings through the person page, hearing_soon at its boundaries, and a bail outcome reaching the detention's
bail record."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.alerts import service as alerts
from app.auth.models import Role, User
from app.config import get_settings
from app.detention.models import BailOutcome, DetentionEpisode, Hearing, HearingKind, HearingOutcome
from app.people.models import Person
from tests.alerts.test_dashboard import alert_count
from tests.conftest import csrf_from, sign_in
from tests.pages import audit_events


def _local(at: datetime) -> str:
    return at.astimezone(get_settings().zone).strftime("%Y-%m-%dT%H:%M")


def _post(client, person: Person, path: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}").text
    version = re.search(r'id="hearings-section".*?name="version" value="(\d+)"', page, re.S)
    data = {"csrf_token": csrf_from(page)} | ({"version": version.group(1)} if version else {}) | fields
    return client.post(f"/people/{person.reference}/{path}", data=data, follow_redirects=False)


def _add(client, person: Person, at: datetime, **fields):  # type: ignore[no-untyped-def]
    return _post(client, person, "hearings", **({"kind": "bail", "hearing_at": _local(at),
                                                 "venue": "Fictional Hearing Centre"} | fields))


def test_a_hearing_is_listed_alerts_before_it_and_its_bail_outcome_reaches_the_detention(client, signed_in,
                                                                                        make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Hearingsoon", detained_days=40)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    assert _add(client, person, tomorrow).status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert "Hearing within 2 days" in page and "Not heard yet" in page
    assert alert_count(client.get("/").text, "hearing_soon") == 1
    # Once heard, its outcome is recorded; a bail outcome goes to the detention's bail fields.
    db.rollback()
    hearing = db.scalars(select(Hearing).where(Hearing.person_id == person.id)).one()
    hearing.hearing_at = datetime.now(UTC) - timedelta(hours=3)
    db.commit()
    page = client.get(f"/people/{person.reference}").text
    assert "Outcome not recorded" in page and "Hearing within 2 days" not in page
    done = _post(client, person, f"hearings/{hearing.id}/outcome", outcome="refused")
    assert done.status_code == 303
    db.rollback()
    assert db.get(Hearing, hearing.id).outcome is HearingOutcome.refused
    episode = db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id)).one()
    assert episode.last_bail_outcome is BailOutcome.refused
    assert episode.last_bail_application_date == hearing.hearing_at.astimezone(get_settings().zone).date()
    [event] = audit_events(db, "hearing.outcome_recorded")
    assert event.details == {"hearing_id": hearing.id, "hearing_outcome": "refused", "bail_updated": True}


@pytest.mark.parametrize(("hours", "outcome", "fires"), [(47, None, True), (49, None, False), (-1, None, False),
                                                         (20, HearingOutcome.adjourned, False)])
def test_hearing_soon_fires_within_its_days_and_without_an_outcome(db, make_person, today, hours, outcome, fires):
    person = make_person("Fictiva", f"Listed{hours + 10}", detained_days=10)
    db.rollback()
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    now = datetime.now(UTC)
    db.add(Hearing(person_id=person.id, kind=HearingKind.appeal, hearing_at=now + timedelta(hours=hours),
                   remote=True, outcome=outcome, recorded_by_id=actor))
    db.commit()
    cutoffs = alerts.Cutoffs.for_day(today, get_settings(), now=now)
    fired = {rule.id for rule in alerts.firing(db, cutoffs, [person.id])[person.id]}
    assert ("hearing_soon" in fired) is fires


def test_bad_hearing_input_is_refused_beside_the_field_and_nothing_is_saved(client, signed_in, make_person, db):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Badhearing", detained_days=5)
    soon = datetime.now(UTC) + timedelta(days=3)
    for fields, field, message in [
        ({"venue": ""}, "venue", "Give the venue, or say that the hearing is remote."),
        ({"kind": "trial"}, "kind", None),
        ({"hearing_at": "soon"}, "hearing_at", None),
    ]:
        response = _add(client, person, soon, **fields)
        assert response.status_code == 422 and f'id="f-{field}-error"' in response.text, fields
        assert message is None or message in response.text
    assert db.scalars(select(Hearing)).all() == []
    # An outcome before the hearing is refused, and so is an outcome a bail hearing cannot have.
    assert _add(client, person, soon, venue="", remote="true").status_code == 303
    db.rollback()
    hearing = db.scalars(select(Hearing)).one()
    early = _post(client, person, f"hearings/{hearing.id}/outcome", outcome="granted")
    assert early.status_code == 422 and "can be recorded once it has been heard" in early.text
    hearing.hearing_at = datetime.now(UTC) - timedelta(hours=1)
    db.commit()
    wrong = _post(client, person, f"hearings/{hearing.id}/outcome", outcome="dismissed")
    assert wrong.status_code == 422 and "A bail hearing is granted, refused, withdrawn or adjourned." in wrong.text
    empty = _post(client, person, f"hearings/{hearing.id}/outcome")
    assert empty.status_code == 422 and "Choose the outcome of the hearing." in empty.text
    db.rollback()
    assert db.get(Hearing, hearing.id).outcome is None


def test_clinicians_see_hearings_of_their_people_but_do_not_record_them(client, make_person, make_user, db):
    clinician = make_user(Role.clinician)
    person = make_person("Fictiva", "Heardby", detained_days=5, assigned_to=clinician)
    assert sign_in(client, clinician.email).status_code == 303
    page = client.get(f"/people/{person.reference}").text
    assert "Hearings" in page and "Record a hearing" not in page
    refused = client.post(f"/people/{person.reference}/hearings", data={
        "csrf_token": csrf_from(page), "kind": "bail", "hearing_at": _local(datetime.now(UTC) + timedelta(days=1)),
        "venue": "Fictional Hearing Centre"}, follow_redirects=False)
    assert refused.status_code == 403
    assert db.scalars(select(Hearing)).all() == []
