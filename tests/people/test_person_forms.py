"""Adding and editing people: validation, the duplicate warning, version conflicts, revisions, assignments."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEvent, Revision
from app.auth.models import Role
from app.crypto.keyring import index_key
from app.people import names
from app.people.models import Identity, Person, PersonAarIndicator, PersonNameToken
from tests.pages import post_form

VALID = {"given_names": "Amanuel", "family_name": "Testberhe", "status": "detained", "sex": "male",
         "nationality": "ER", "languages": "Tigrinya, Arabic", "birth_precision": "year", "birth_year": "1994",
         "aar_indicators": ["torture", "ptsd"], "aliases": "Amanuel Testbrhe"}


def post(client, path: str, data: dict, form_page: str | None = None):  # type: ignore[no-untyped-def]
    return post_form(client, path, data, form_page=form_page or path)


def people_count(db) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(Person))


def test_coordinator_adds_a_person_with_identity_facts_and_tokens(client, db, signed_in):
    user = signed_in(Role.coordinator)
    response = post(client, "/people/new", VALID)
    assert response.status_code == 303
    reference = response.headers["location"].rsplit("/", 1)[1]
    db.rollback()
    person = db.scalars(select(Person).where(Person.reference == reference)).one()
    identity = db.get(Identity, person.id)
    assert (identity.given_names, identity.family_name) == ("Amanuel", "Testberhe")
    assert person.nationality == "ER" and person.birth_year == 1994 and person.lead_coordinator_id == user.id
    indicators = set(db.scalars(select(PersonAarIndicator.indicator).where(PersonAarIndicator.person_id == person.id)))
    assert {i.value for i in indicators} == {"torture", "ptsd"}
    # The name index holds keyed hashes only: each part whole, with its prefixes and sound, and no plain part.
    digests = set(db.scalars(select(PersonNameToken.digest).where(PersonNameToken.person_id == person.id)))
    key = index_key(db)
    assert {names.whole_digest(key, t) for t in ("amanuel", "testberhe", "testbrhe")} <= digests
    assert names.prefix_digest(key, "testb") in digests and names.whole_digest(key, "testb") not in digests
    assert all(len(d) == 16 and b"amanuel" not in d for d in digests)
    revision = db.scalars(select(Revision).where(Revision.person_id == person.id)).one()
    assert revision.action.value == "insert" and revision.after["family_name"] == "Testberhe"
    assert db.scalars(select(AuditEvent.action).where(AuditEvent.person_id == person.id)).all() == ["person.created"]
    page = client.get(response.headers["location"]).text
    assert "TESTBERHE, Amanuel" in page and "Victim of torture" in page and "Tigrinya, Arabic" in page


def test_invalid_person_is_422_with_messages_beside_fields_and_nothing_saved(client, db, signed_in):
    signed_in(Role.coordinator)
    before = people_count(db)
    response = post(client, "/people/new", {"given_names": "", "family_name": "Kept", "nationality": "XX",
                                            "status": "vanished"})
    assert response.status_code == 422
    page = response.text
    assert 'id="f-given_names-error"' in page and "Enter given names." in page
    assert 'id="f-nationality-error"' in page and 'id="f-status-error"' in page
    assert 'value="Kept"' in page
    assert people_count(db) == before


def test_cross_field_problems_are_shown_beside_their_fields(client, db, signed_in):
    signed_in(Role.coordinator)
    response = post(client, "/people/new", {"given_names": "A", "family_name": "B", "birth_precision": "exact",
                                            "birth_year": "1990", "aar_level_date": "2020-01-01"})
    assert response.status_code == 422
    assert 'id="f-birth_date-error"' in response.text and "Enter the date of birth" in response.text
    assert 'id="f-aar_level-error"' in response.text
    assert people_count(db) == 0


def test_likely_duplicate_is_shown_before_saving_and_can_be_confirmed(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    existing = make_person("Mohammed", "Testahmadi", birth_precision="year", birth_year=1990)
    lookalike = {"given_names": "Muhammad", "family_name": "Testahmady", "birth_precision": "year",
                 "birth_year": "1990"}
    warned = post(client, "/people/new", lookalike)
    assert warned.status_code == 409
    assert "This may be someone already recorded" in warned.text
    assert f'href="/people/{existing.reference}"' in warned.text
    assert people_count(db) == 1
    confirmed = post(client, "/people/new", lookalike | {"confirm_new": "true"}, form_page="/people/new")
    assert confirmed.status_code == 303
    assert people_count(db) == 2


def test_same_name_with_different_birth_year_and_nationality_is_not_a_duplicate(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person("Mohammed", "Testahmadi", birth_precision="year", birth_year=1990, nationality="AF")
    response = post(client, "/people/new", {"given_names": "Mohammed", "family_name": "Testahmadi",
                                            "birth_precision": "year", "birth_year": "1975", "nationality": "SD"})
    assert response.status_code == 303


def _edit_values(person, **changes) -> dict:  # type: ignore[no-untyped-def]
    return {"given_names": "Edit", "family_name": "Target", "status": "unknown", "sex": "not_recorded",
            "birth_precision": "unknown", "version": str(person.version)} | changes


def test_edit_saves_a_revision_shown_in_the_history(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Edit", "Target")
    loaded_version = person.version
    response = post(client, f"/people/{person.reference}/edit",
                    _edit_values(person, nationality="SY", aliases="Edit Targett"),
                    form_page=f"/people/{person.reference}/edit")
    assert response.status_code == 303
    db.rollback()
    revision = db.scalars(select(Revision).where(Revision.person_id == person.id, Revision.action == "update")).one()
    assert revision.before["nationality"] is None and revision.after["nationality"] == "SY"
    assert revision.after["aliases"] == ["Edit Targett"]
    assert db.get(Person, person.id).version == loaded_version + 1
    page = client.get(f"/people/{person.reference}").text
    assert "History of changes" in page and "aliases, nationality" in page


def test_edit_made_on_a_stale_version_shows_a_conflict_and_overwrites_nothing(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Edit", "Target")
    stale_version = person.version
    first = post(client, f"/people/{person.reference}/edit", _edit_values(person, nationality="SY"),
                 form_page=f"/people/{person.reference}/edit")
    assert first.status_code == 303
    second = post(client, f"/people/{person.reference}/edit",
                  _edit_values(person, nationality="IR", version=str(stale_version)),
                  form_page=f"/people/{person.reference}/edit")
    assert second.status_code == 409
    assert "Someone else changed this record" in second.text
    assert "SY" in second.text and "IR" in second.text
    db.rollback()
    assert db.get(Person, person.id).nationality == "SY"


def test_clinicians_cannot_add_or_edit_people(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Only", "Viewing", assigned_to=clinician)
    assert client.get("/people/new").status_code == 403
    assert client.get(f"/people/{person.reference}/edit").status_code == 403
    assert client.get(f"/people/{person.reference}").status_code == 200


def test_coordinator_assigns_and_unassigns_a_clinician_and_access_follows(client, db, signed_in, make_person,
                                                                             make_user):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import sign_in

    clinician = make_user(Role.clinician, email="doc@example.org", name="Dr Assignee")
    person = make_person("Needs", "Clinician")
    signed_in(Role.coordinator)
    with TestClient(create_app()) as doctor:
        sign_in(doctor, "doc@example.org")
        assert doctor.get(f"/people/{person.reference}").status_code == 403
        added = post(client, f"/people/{person.reference}/assignments", {"clinician_id": str(clinician.id)},
                     form_page=f"/people/{person.reference}")
        assert added.status_code == 303
        page = client.get(f"/people/{person.reference}").text
        assert "Dr Assignee" in page and "Clinician assigned." in page
        assert doctor.get(f"/people/{person.reference}").status_code == 200
        again = post(client, f"/people/{person.reference}/assignments", {"clinician_id": str(clinician.id)},
                     form_page=f"/people/{person.reference}")
        # The person page again, with the message beside the clinician list, and nothing saved.
        assert again.status_code == 422 and "already assigned" in again.text
        assert 'id="f-clinician_id-error"' in again.text
        db.rollback()
        from app.people.models import Assignment

        assignment = db.scalars(select(Assignment).where(Assignment.person_id == person.id)).one()
        ended = post(client, f"/people/{person.reference}/assignments/{assignment.id}/end", {},
                     form_page=f"/people/{person.reference}")
        assert ended.status_code == 303
        assert doctor.get(f"/people/{person.reference}").status_code == 403
    db.rollback()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.person_id == person.id)).all()
    assert "person.clinician_assigned" in actions and "person.clinician_unassigned" in actions
