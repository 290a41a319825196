"""Choosing a person's legal representative on their edit form: the person page shows it, the representations
keep who acted when, "None recorded" ends it, archived and unknown representatives are refused, each change is
audited and the history of changes names the field in words."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.contacts.models import Representation
from app.people.models import Person
from tests.contacts.helpers import HARBOURLINE, LIST, QUILLON, add, edit_path, field_error, options
from tests.pages import audit_events, form_fields, post_form

CHOOSE_MESSAGE = "Choose a legal representative from the list, or add them to the register first."


def person_edit(reference: str) -> str:
    return f"/people/{reference}/edit"


def choose(client, reference: str, representative_id: int | str | None):  # type: ignore[no-untyped-def]
    """Post the person's edit form as it stands, with the legal representative changed (None: "None recorded")."""
    fields = form_fields(client.get(person_edit(reference)).text, person_edit(reference))
    fields["legal_representative_id"] = "" if representative_id is None else str(representative_id)
    return post_form(client, person_edit(reference), fields, form_page=person_edit(reference))


def representations(db, person_id: int) -> list[Representation]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Representation).where(Representation.person_id == person_id)
                           .order_by(Representation.id)))


def facts_entry(page: str) -> str:
    """What the person page's Case facts say under "Legal representative"."""
    match = re.search(r"<dt>Legal representative</dt>\s*<dd>(.*?)</dd>", page, re.S)
    assert match, "no legal representative in the case facts"
    return match.group(1)


def test_choosing_changing_and_ending_a_representative_keeps_who_acted_when(client, db, signed_in, make_person):
    user = signed_in(Role.coordinator)
    harbourline, quillon = add(client, HARBOURLINE), add(client, QUILLON)
    person = make_person("Repra", "Fictivo")
    form = client.get(person_edit(person.reference)).text
    offered = options(form, "legal_representative_id")
    assert offered[""] == "None recorded"
    assert offered[str(harbourline)] == "Ada Testcase, Harbourline Law (fictional)"
    assert str(quillon) in offered

    first = choose(client, person.reference, harbourline)
    assert first.status_code == 303 and first.headers["location"] == f"/people/{person.reference}"
    page = client.get(f"/people/{person.reference}").text
    shown = facts_entry(page)
    assert "Harbourline Law (fictional): Ada Testcase" in shown and "01632 960123" in shown
    assert "Legal-aid contract" in shown
    [only] = representations(db, person.id)
    assert only.legal_representative_id == harbourline and only.ended_at is None
    assert only.recorded_by_id == user.id
    # The register counts the people each one acts for now.
    assert re.search(r"Harbourline Law \(fictional\)</th>.*?1 person<", client.get(LIST).text, re.S)

    second = choose(client, person.reference, quillon)
    assert second.status_code == 303
    assert "Quillon Solicitors (fictional): Bram Sampleton" in facts_entry(
        client.get(f"/people/{person.reference}").text)
    earlier, now = representations(db, person.id)
    assert (earlier.legal_representative_id, now.legal_representative_id) == (harbourline, quillon)
    assert earlier.ended_at is not None and now.ended_at is None
    assert earlier.started_at <= earlier.ended_at <= now.started_at

    third = choose(client, person.reference, None)
    assert third.status_code == 303
    assert facts_entry(client.get(f"/people/{person.reference}").text).strip() == "None recorded"
    rows = representations(db, person.id)
    assert len(rows) == 2 and all(r.ended_at is not None for r in rows)

    events = audit_events(db, "person.representative_changed")
    assert [e.details["legal_representative_id"] for e in events] == [harbourline, quillon, None]
    assert all(e.actor_user_id == user.id and e.person_id == person.id for e in events)
    changed = audit_events(db, "person.changed")
    assert [e.details["fields"] for e in changed] == [["legal_representative_id"]] * 3


def test_the_history_of_changes_names_the_representative_in_words(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    person = make_person("Histra", "Fictivo")
    assert choose(client, person.reference, rep_id).status_code == 303
    history = client.get(f"/people/{person.reference}").text.split('id="history"', 1)[1]
    assert "Changed the person&#39;s details: legal representative<" in history
    assert "representative id" not in history


def test_an_edit_that_leaves_the_representative_alone_records_no_representative_change(client, db, signed_in,
                                                                                        make_person):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    person = make_person("Stayra", "Fictivo")
    choose(client, person.reference, rep_id)
    fields = form_fields(client.get(person_edit(person.reference)).text, person_edit(person.reference))
    assert fields["legal_representative_id"] == str(rep_id)  # the form holds the current one
    response = post_form(client, person_edit(person.reference), fields | {"nationality": "SY"},
                         form_page=person_edit(person.reference))
    assert response.status_code == 303
    assert len(representations(db, person.id)) == 1
    assert len(audit_events(db, "person.representative_changed")) == 1
    assert audit_events(db, "person.changed")[-1].details["fields"] == ["nationality"]


def test_an_archived_representative_leaves_the_choices_but_stays_on_the_person(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    person, other = make_person("Keepra", "Fictivo"), make_person("Otra", "Fictivo")
    choose(client, person.reference, rep_id)
    archived = post_form(client, f"{LIST}/{rep_id}/archive", {}, form_page=edit_path(rep_id))
    assert archived.status_code == 303
    assert "1 person has this representative now" not in client.get(LIST).text  # shown on the edit page only
    assert "1 person has this representative now" in client.get(edit_path(rep_id)).text
    [event] = audit_events(db, "contacts.representative_archived")
    assert event.details["acting_for"] == 1

    # No longer offered for anyone else, nor for a new record ...
    assert str(rep_id) not in options(client.get("/people/new").text, "legal_representative_id")
    assert str(rep_id) not in options(client.get(person_edit(other.reference)).text, "legal_representative_id")
    # ... but the person it acts for keeps it, on their page and on their form, and can be saved unchanged.
    assert "Harbourline Law (fictional): Ada Testcase" in facts_entry(client.get(f"/people/{person.reference}").text)
    fields = form_fields(client.get(person_edit(person.reference)).text, person_edit(person.reference))
    assert fields["legal_representative_id"] == str(rep_id)
    kept = post_form(client, person_edit(person.reference), fields | {"nationality": "ER"},
                     form_page=person_edit(person.reference))
    assert kept.status_code == 303
    [still] = representations(db, person.id)
    assert still.legal_representative_id == rep_id and still.ended_at is None


def test_an_archived_representative_posted_for_someone_else_is_refused_beside_the_field(client, db, signed_in,
                                                                                         make_person):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    post_form(client, f"{LIST}/{rep_id}/archive", {}, form_page=edit_path(rep_id))
    person = make_person("Refra", "Fictivo")
    db.rollback()
    version = db.get(Person, person.id).version
    response = choose(client, person.reference, rep_id)
    assert response.status_code == 422
    assert field_error(response.text, "legal_representative_id") == CHOOSE_MESSAGE
    assert representations(db, person.id) == []
    assert db.get(Person, person.id).version == version
    assert audit_events(db, "person.changed") == audit_events(db, "person.representative_changed") == []


def test_an_unknown_representative_is_refused_beside_the_field_with_nothing_saved(client, db, signed_in,
                                                                                  make_person):
    signed_in(Role.coordinator)
    add(client, HARBOURLINE)
    person = make_person("Unkra", "Fictivo")
    db.rollback()
    version = db.get(Person, person.id).version
    expected = {"99999": CHOOSE_MESSAGE, str(2**31): "Choose legal representative from the list.",
                "not-a-number": "Enter legal representative as a number."}
    for unknown, message in expected.items():
        fields = form_fields(client.get(person_edit(person.reference)).text, person_edit(person.reference))
        response = post_form(client, person_edit(person.reference),
                             fields | {"legal_representative_id": unknown, "nationality": "SY"},
                             form_page=person_edit(person.reference))
        assert response.status_code == 422, unknown
        assert field_error(response.text, "legal_representative_id") == message, unknown
        assert 'name="nationality"' in response.text
    db.rollback()
    assert db.get(Person, person.id).version == version and db.get(Person, person.id).nationality is None
    assert representations(db, person.id) == []
    assert db.scalars(select(AuditEvent).where(AuditEvent.person_id == person.id,
                                               AuditEvent.action.in_(["person.changed",
                                                                      "person.representative_changed"]))).all() == []


def test_an_unknown_representative_on_a_new_person_saves_no_one(client, db, signed_in):
    signed_in(Role.coordinator)
    db.rollback()
    before = len(db.scalars(select(Person.id)).all())
    response = post_form(client, "/people/new", {"given_names": "Newra", "family_name": "Fictivo",
                                                 "status": "detained", "sex": "female",
                                                 "birth_precision": "unknown", "legal_representative_id": "99999"},
                         form_page="/people/new")
    assert response.status_code == 422
    assert field_error(response.text, "legal_representative_id") == CHOOSE_MESSAGE
    db.rollback()
    assert len(db.scalars(select(Person.id)).all()) == before
    assert db.scalars(select(Representation)).all() == []
