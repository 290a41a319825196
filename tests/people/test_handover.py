"""The lead coordinator and handing a case over, through the person page; both coordinators see it at home."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import Revision
from app.auth.models import Role
from app.people.models import Handover, Person
from tests.conftest import csrf_from, sign_in
from tests.pages import audit_events


def _hand_over(client, person: Person, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}").text
    version = re.search(r'action="/people/[^"]+/handover"[^>]*>\s*<input[^>]*>\s*<input type="hidden" '
                        r'name="version" value="(\d+)"', page)
    assert version, "the handover form is on the page"
    data = {"csrf_token": csrf_from(page), "version": version.group(1)} | fields
    return client.post(f"/people/{person.reference}/handover", data=data, follow_redirects=False)


def test_a_case_handed_over_shows_its_new_lead_and_both_coordinators_see_it(client, signed_in, make_user,
                                                                          make_person, db):
    first = signed_in(Role.coordinator, name="Ada Firstlead")
    second = make_user(Role.coordinator, name="Bo Nextlead")
    person = make_person("Fictivo", "Handedover")
    db.rollback()
    db.get(Person, person.id).lead_coordinator_id = first.id
    db.commit()
    page = client.get(f"/people/{person.reference}").text
    assert "<strong>Ada Firstlead</strong> leads this case" in page

    response = _hand_over(client, person, to_user_id=str(second.id), note="Rule 35 response due Friday; call BID.")
    assert response.status_code == 303 and response.headers["location"].endswith("#case-section")
    db.rollback()
    assert db.get(Person, person.id).lead_coordinator_id == second.id
    [handover] = db.scalars(select(Handover).where(Handover.person_id == person.id)).all()
    assert (handover.from_user_id, handover.to_user_id, handover.handed_by_id) == (first.id, second.id, first.id)
    assert handover.note == "Rule 35 response due Friday; call BID."
    assert b"Rule 35 response" not in handover.note_sealed  # sealed at rest
    page = client.get(f"/people/{person.reference}").text
    assert "<strong>Bo Nextlead</strong> leads this case" in page and "call BID" in page
    [event] = audit_events(db, "case.handed_over")
    assert event.details == {"from_user_id": first.id, "to_user_id": second.id}
    revision = db.scalars(select(Revision).where(Revision.person_id == person.id, Revision.table_name == "people")
                          .order_by(Revision.id.desc())).first()
    assert (revision.before, revision.after) == ({"lead_coordinator_id": first.id},
                                                 {"lead_coordinator_id": second.id})

    home = client.get("/").text
    assert person.reference in home and "handed on by you to Bo Nextlead" in home
    assert "call BID" not in home  # the note stays on the case
    client.post("/logout", data={"csrf_token": csrf_from(home)})
    assert sign_in(client, second.email).status_code == 303
    home = client.get("/").text
    assert person.reference in home and "handed to you by Ada Firstlead" in home


def test_a_handover_to_nobody_a_clinician_or_the_current_lead_is_refused_and_nothing_changes(
        client, signed_in, make_user, make_person, db):
    lead = signed_in(Role.coordinator)
    clinician = make_user(Role.clinician)
    person = make_person("Fictiva", "Staysput")
    db.rollback()
    db.get(Person, person.id).lead_coordinator_id = lead.id
    db.commit()
    for to, message in ((None, "Choose who takes the case over."),
                        (str(clinician.id), "Choose an active coordinator from the list."),
                        (str(lead.id), "already leads this case"),
                        ("999999", "Choose an active coordinator from the list.")):
        fields = {"note": "Kept when refused"} | ({"to_user_id": to} if to else {})
        page = client.get(f"/people/{person.reference}").text
        version = re.search(r'name="version" value="(\d+)"', page.split('/handover"')[1]).group(1)
        response = client.post(f"/people/{person.reference}/handover",
                               data={"csrf_token": csrf_from(page), "version": version} | fields)
        assert response.status_code == 422, to
        assert message in response.text and "Kept when refused" in response.text
    db.rollback()
    assert db.scalars(select(Handover)).all() == []
    assert db.get(Person, person.id).lead_coordinator_id == lead.id


def test_a_stale_handover_form_gets_the_conflict_page(client, signed_in, make_user, make_person, db):
    signed_in(Role.coordinator)
    other = make_user(Role.coordinator, name="Cy Other")
    person = make_person("Fictivo", "Raced")
    page = client.get(f"/people/{person.reference}").text
    version = re.search(r'name="version" value="(\d+)"', page.split('/handover"')[1]).group(1)
    assert _hand_over(client, person, to_user_id=str(other.id)).status_code == 303
    late = client.post(f"/people/{person.reference}/handover",
                       data={"csrf_token": csrf_from(page), "version": version, "to_user_id": str(other.id)})
    assert late.status_code == 409
    db.rollback()
    assert len(db.scalars(select(Handover)).all()) == 1


def test_clinicians_see_the_lead_but_cannot_hand_over(client, signed_in, make_user, make_person, db):
    lead = make_user(Role.coordinator, name="Di Leadperson")
    person = make_person("Fictiva", "Assignedone")
    db.rollback()
    db.get(Person, person.id).lead_coordinator_id = lead.id
    db.commit()
    clinician = signed_in(Role.clinician)
    from app.people.models import Assignment

    db.add(Assignment(person_id=person.id, clinician_id=clinician.id))
    db.commit()
    page = client.get(f"/people/{person.reference}").text
    assert "<strong>Di Leadperson</strong> leads this case" in page and "Hand the case over" not in page
    response = client.post(f"/people/{person.reference}/handover",
                           data={"csrf_token": csrf_from(page), "to_user_id": str(lead.id)})
    assert response.status_code == 403
    db.rollback()
    assert db.scalars(select(Handover)).all() == []
