"""Case notes, the contact log, through the person page: recording one (each broken rule beside its field, nothing
saved), sealed at rest, audited, on the timeline, addenda, never changed by any route, and who may record."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.audit.models import Outcome, Revision
from app.auth.models import Role
from app.config import get_settings
from app.db import Versioned
from app.main import api_routes, create_app
from app.referrals.models import Organisation
from app.work.models import CaseNote, CaseNoteAddendum
from tests.conftest import csrf_from, sign_in
from tests.pages import audit_events, count, form_fields

SUMMARY = "Fictional call: the caseworker says the Rule 35 response is due on Friday."


def _local(at: datetime) -> str:
    """The datetime-local value a browser sends for `at`, in the organisation's time zone."""
    return at.astimezone(get_settings().zone).strftime("%Y-%m-%dT%H:%M")


def _hour_ago() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)


def _record(client, reference: str, **fields):  # type: ignore[no-untyped-def]
    """Fill in the person page's note form as a browser would and send it."""
    page = client.get(f"/people/{reference}")
    assert page.status_code == 200
    data = form_fields(page.text, f"/people/{reference}/notes")
    assert "csrf_token" in data, "the person page has no note form"
    data |= {"note_kind": "call", "with_whom": "home_office", "happened_at": _local(_hour_ago()),
             "summary": SUMMARY} | fields
    return client.post(f"/people/{reference}/notes", data={k: v for k, v in data.items() if v is not None},
                       follow_redirects=False)


def _add_addendum(client, reference: str, note_id: int, addendum: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{reference}").text
    action = f"/people/{reference}/notes/{note_id}/addenda"
    data = form_fields(page, action) | {"text": addendum}
    return client.post(action, data=data, follow_redirects=False)


def _notes_part(page: str) -> str:
    return page.split('id="notes-section"', 1)[1].split("</section>", 1)[0]


def _only_note(db) -> CaseNote:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalars(select(CaseNote)).one()


def test_a_coordinator_records_a_call_and_it_shows_in_the_contact_log_with_audit_and_revision(client, db,
                                                                                              signed_in,
                                                                                              make_person):
    coordinator = signed_in(Role.coordinator, name="Cora Notetaker")
    person = make_person("Fictiva", "Contactlog", detained_days=10)
    at = _hour_ago()
    response = _record(client, person.reference, happened_at=_local(at))
    assert response.status_code == 303
    assert response.headers["location"] == f"/people/{person.reference}#notes-section"
    note = _only_note(db)
    assert (note.person_id, note.kind.value, note.with_whom.value, note.happened_at, note.summary,
            note.recorded_by_id, note.organisation_id) == (
        person.id, "call", "home_office", at, SUMMARY, coordinator.id, None)
    [event] = audit_events(db, "note.recorded")
    assert (event.person_id, event.actor_user_id, event.object_type, event.object_id) == (
        person.id, coordinator.id, "case_note", str(note.id))
    assert event.details == {"note_id": note.id, "kind": "call", "with_whom": "home_office"}
    assert SUMMARY not in str(event.details)
    [revision] = db.scalars(select(Revision).where(Revision.table_name == "case_notes")).all()
    assert revision.row_id == note.id and revision.action.value == "insert" and revision.after["summary"] == SUMMARY

    part = _notes_part(client.get(f"/people/{person.reference}").text)
    assert "Call with the Home Office" in part and SUMMARY in part and "Recorded by Cora Notetaker" in part


def test_a_note_with_an_organisation_names_it(client, db, signed_in, make_person):
    signed_in(Role.admin)
    person = make_person("Fictivo", "Orgcontact")
    db.rollback()
    organisation = db.scalars(select(Organisation).where(Organisation.is_active.is_(True))
                              .order_by(Organisation.id)).first()
    response = _record(client, person.reference, note_kind="meeting", with_whom="organisation",
                       organisation_id=str(organisation.id))
    assert response.status_code == 303
    assert _only_note(db).organisation_id == organisation.id
    page = client.get(f"/people/{person.reference}").text
    assert f"Meeting with {organisation.name}" in _notes_part(page)


def _future() -> str:
    return _local(datetime.now(UTC) + timedelta(hours=2))


BROKEN = [
    ({"note_kind": None}, "note_kind", None),
    ({"note_kind": "telegram"}, "note_kind", None),
    ({"with_whom": "the_moon"}, "with_whom", None),
    ({"with_whom": "organisation"}, "organisation_id", "Choose the organisation from the list."),
    ({"with_whom": "organisation", "organisation_id": "99999999999"}, "organisation_id", None),
    ({"with_whom": "home_office", "organisation_id": "ORG"}, "organisation_id",
     "Choose an organisation only when the contact was with an organisation."),
    ({"happened_at": None}, "happened_at", None),
    ({"happened_at": "yesterday-ish"}, "happened_at", None),
    ({"happened_at": "FUTURE"}, "happened_at", "The time cannot be in the future."),
    ({"happened_at": "2019-04-01T10:00"}, "happened_at", "this record was opened on"),
    ({"summary": "   "}, "summary", None),
    ({"summary": "x" * 8001}, "summary", "8000 characters or fewer"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BROKEN, ids=[f"{b[1]}-{i}" for i, b in enumerate(BROKEN)])
def test_each_broken_rule_is_shown_beside_its_field_with_what_was_typed_and_nothing_is_saved(
        client, db, signed_in, make_person, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Fictiva", "Brokennote")
    db.rollback()
    organisation_id = db.scalars(select(Organisation.id).where(Organisation.is_active.is_(True))).first()
    fields = {k: (str(organisation_id) if v == "ORG" else _future() if v == "FUTURE" else v)
              for k, v in fields.items()}
    typed = "Fictional letter from the centre, kept when the form comes back." if field != "summary" else None
    response = _record(client, person.reference, **({"summary": typed} if typed else {}) | fields)
    assert response.status_code == 422
    part = _notes_part(response.text)
    assert f'id="f-{field}-error"' in part, fields
    assert message is None or message in part
    assert "<details class=\"details\" open>" in part  # the form is open to correct
    if typed:
        assert typed in part
    assert f'href="#f-{field}"' in response.text  # the error summary links to the field
    assert count(db, CaseNote) == 0
    assert audit_events(db, "note.recorded") == []


def test_an_archived_organisation_cannot_be_chosen(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Archivedorg")
    db.rollback()
    organisation = Organisation(name="Closed Fictional Charity", type="other", is_active=False)
    db.add(organisation)
    db.commit()
    page = client.get(f"/people/{person.reference}").text
    assert "Closed Fictional Charity" not in _notes_part(page)
    response = _record(client, person.reference, with_whom="organisation", organisation_id=str(organisation.id))
    assert response.status_code == 422 and 'id="f-organisation_id-error"' in response.text
    assert count(db, CaseNote) == 0


def test_the_summary_and_addenda_are_sealed_at_rest(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Fictiva", "Sealednote")
    assert _record(client, person.reference, summary="Zqxnotemarker said the solicitor will call.").status_code == 303
    note = _only_note(db)
    assert _add_addendum(client, person.reference, note.id, "Zqxaddendummarker: it was Thursday.").status_code == 303
    db.rollback()
    raw_summary = db.scalar(text("SELECT summary FROM case_notes WHERE id = :id"), {"id": note.id})
    raw_addendum = db.scalar(text("SELECT text FROM case_note_addenda WHERE note_id = :id"), {"id": note.id})
    assert isinstance(raw_summary, bytes) and b"Zqxnotemarker" not in raw_summary and len(raw_summary) > 20
    assert isinstance(raw_addendum, bytes) and b"Zqxaddendummarker" not in raw_addendum
    # The revision written with it is sealed too.
    raw_revision = db.scalar(text("SELECT after FROM revisions WHERE table_name = 'case_notes'"))
    assert b"Zqxnotemarker" not in bytes(raw_revision)
    # Read through the application, both open again.
    part = _notes_part(client.get(f"/people/{person.reference}").text)
    assert "Zqxnotemarker said the solicitor will call." in part and "Zqxaddendummarker: it was Thursday." in part


def test_a_note_is_on_the_timeline_on_the_day_it_happened(client, db, signed_in, make_person):
    signed_in(Role.coordinator, name="Tim Linewriter")
    person = make_person("Fictivo", "Timelined")
    at = datetime.now(UTC) - timedelta(days=3)
    assert _record(client, person.reference, note_kind="letter", with_whom="representative",
                   happened_at=_local(at)).status_code == 303
    page = client.get(f"/people/{person.reference}").text
    timeline = page.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    entry = re.search(r'<li class="timeline__item timeline__item--note">(.*?)</li>', timeline, re.S)
    assert entry is not None
    day = at.astimezone(get_settings().zone).date()
    assert f"{day.day} {day:%b %Y}" in entry.group(1)
    assert "Letter to or from their legal representative" in entry.group(1)
    assert "Recorded by Tim Linewriter" in entry.group(1)
    assert SUMMARY not in timeline  # the summary stays in the contact log


def test_addenda_are_added_under_their_note_and_audited(client, db, signed_in, make_person, make_user):
    coordinator = signed_in(Role.coordinator, name="Ada Addendist")
    person = make_person("Fictiva", "Addended")
    assert _record(client, person.reference, summary="First fictional call.").status_code == 303
    first = _only_note(db)
    assert _record(client, person.reference, summary="Second fictional call.", note_kind="email").status_code == 303
    db.rollback()
    second = db.scalars(select(CaseNote).where(CaseNote.id != first.id)).one()

    response = _add_addendum(client, person.reference, first.id, "Correction: it was the Tuesday.")
    assert response.status_code == 303
    assert response.headers["location"] == f"/people/{person.reference}#notes-section"
    db.rollback()
    [addendum] = db.scalars(select(CaseNoteAddendum)).all()
    assert (addendum.note_id, addendum.person_id, addendum.author_id, addendum.text) == (
        first.id, person.id, coordinator.id, "Correction: it was the Tuesday.")
    [event] = audit_events(db, "note.addendum_added")
    assert event.person_id == person.id and event.details == {"note_id": first.id, "addendum_id": addendum.id}
    # The note itself is as it was; the addendum is shown under it, with its author, and not under the other.
    assert db.get(CaseNote, first.id, populate_existing=True).summary == "First fictional call."
    part = _notes_part(client.get(f"/people/{person.reference}").text)
    first_part = part.split(f'id="note-{first.id}"', 1)[1].split("</li>", 1)[0]
    second_part = part.split(f'id="note-{second.id}"', 1)[1].split("</li>", 1)[0]
    assert "Correction: it was the Tuesday." in first_part and "Addendum by Ada Addendist" in first_part
    assert "Correction: it was the Tuesday." not in second_part
    assert part.index(f'id="note-{second.id}"') < part.index(f'id="note-{first.id}"')  # newest first


def test_an_empty_or_over_long_addendum_is_refused_beside_its_own_note(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Emptyaddendum")
    assert _record(client, person.reference, summary="One fictional call.").status_code == 303
    assert _record(client, person.reference, summary="Another fictional call.").status_code == 303
    db.rollback()
    first, second = db.scalars(select(CaseNote).order_by(CaseNote.id)).all()
    empty = _add_addendum(client, person.reference, second.id, "   ")
    assert empty.status_code == 422
    part = _notes_part(empty.text)
    second_part = part.split(f'id="note-{second.id}"', 1)[1].split("</li>", 1)[0]
    first_part = part.split(f'id="note-{first.id}"', 1)[1].split("</li>", 1)[0]
    assert 'id="f-text-error"' in second_part and "Enter the addendum." in second_part
    assert "<details class=\"details\" open>" in second_part
    assert "field__error" not in first_part and "<details class=\"details\" open>" not in first_part
    assert 'href="#f-text"' in empty.text and len(re.findall(r'id="f-text"', empty.text)) == 1
    long_text = "Fictional. " * 800
    too_long = _add_addendum(client, person.reference, first.id, long_text)
    assert too_long.status_code == 422 and "8000 characters or fewer" in too_long.text
    first_part = _notes_part(too_long.text).split(f'id="note-{first.id}"', 1)[1].split("</li>", 1)[0]
    assert long_text.strip() in first_part  # what was typed comes back, in that note's form only
    assert count(db, CaseNoteAddendum) == 0 and audit_events(db, "note.addendum_added") == []


def test_an_addendum_to_another_persons_note_is_a_404(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    mine, theirs = make_person("Fictiva", "Mynotes"), make_person("Fictivo", "Theirnotes")
    assert _record(client, theirs.reference).status_code == 303
    note = _only_note(db)
    page = client.get(f"/people/{mine.reference}").text
    response = client.post(f"/people/{mine.reference}/notes/{note.id}/addenda",
                           data={"csrf_token": csrf_from(page), "text": "Misplaced fictional addendum."},
                           follow_redirects=False)
    assert response.status_code == 404 and count(db, CaseNoteAddendum) == 0


def test_no_route_edits_or_deletes_a_note(client, db, signed_in, make_person):
    """A note is never changed: the model has no version to edit against, the only routes under the notes add
    one or add an addendum, and sending a changed summary to every person route leaves the note as it was."""
    assert not issubclass(CaseNote, Versioned) and "version" not in CaseNote.__table__.c
    routes = api_routes(create_app())
    under_notes = sorted((method, r.path) for r in routes if r.path.startswith("/people/{reference}/notes")
                         for method in r.methods)
    assert under_notes == [("POST", "/people/{reference}/notes"),
                           ("POST", "/people/{reference}/notes/{note_id}/addenda")]
    assert not [r.path for r in routes if "{note_id}" in r.path and not r.path.endswith("/addenda")]

    signed_in(Role.admin)
    person = make_person("Fictiva", "Unchangeable", detained_days=5)
    assert _record(client, person.reference).status_code == 303
    note = _only_note(db)
    stored = db.scalar(text("SELECT summary FROM case_notes WHERE id = :id"), {"id": note.id})
    token = csrf_from(client.get(f"/people/{person.reference}").text)
    changed = {"csrf_token": token, "summary": "Rewritten fictional summary.", "note_kind": "letter",
               "with_whom": "other", "text": "Rewritten fictional summary."}
    base = f"/people/{person.reference}/notes/{note.id}"
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, base, data=changed, follow_redirects=False).status_code in (404, 405)
    for path in (base, f"{base}/edit", f"{base}/delete"):
        assert client.post(path, data=changed, follow_redirects=False).status_code in (404, 405)
    for route in routes:
        if "{reference}" not in route.path or "POST" not in route.methods or route.path.endswith("/erase"):
            continue
        path = re.sub(r"{(\w+)}", lambda m: person.reference if m.group(1) == "reference" else
                      "end" if m.group(1) == "kind" else str(note.id), route.path)
        client.post(path, data=changed, follow_redirects=False)
    db.rollback()
    kept = db.get(CaseNote, note.id, populate_existing=True)
    assert kept is not None
    assert (kept.summary, kept.kind.value, kept.with_whom.value) == (SUMMARY, "call", "home_office")
    assert db.scalar(text("SELECT summary FROM case_notes WHERE id = :id"), {"id": note.id}) == stored
    assert count(db, CaseNote) == 1
    actions = db.scalars(select(Revision.action).where(Revision.table_name == "case_notes")).all()
    assert [a.value for a in actions] == ["insert"]  # written once, never updated


def test_a_clinician_records_notes_for_their_own_people_only(client, db, make_person, make_user):
    clinician = make_user(Role.clinician, name="Dr Fictional Notes")
    own = make_person("Fictiva", "Ownpatient", assigned_to=clinician)
    other = make_person("Fictivo", "Notmine")
    assert sign_in(client, clinician.email).status_code == 303
    assert "Record a call, e-mail, letter or meeting" in client.get(f"/people/{own.reference}").text
    assert _record(client, own.reference, with_whom="centre_healthcare").status_code == 303
    note = _only_note(db)
    assert note.recorded_by_id == clinician.id and note.person_id == own.id

    token = csrf_from(client.get("/").text)
    refused = client.post(f"/people/{other.reference}/notes", follow_redirects=False, data={
        "csrf_token": token, "note_kind": "call", "with_whom": "person", "happened_at": _local(_hour_ago()),
        "summary": "Fictional note on someone else's case."})
    assert refused.status_code == 403
    refused_addendum = client.post(f"/people/{other.reference}/notes/{note.id}/addenda", follow_redirects=False,
                                   data={"csrf_token": token, "text": "Fictional addendum."})
    assert refused_addendum.status_code == 403
    denied = audit_events(db, "security.permission_denied")
    assert len(denied) == 2
    assert all(e.actor_user_id == clinician.id and e.outcome is Outcome.denied for e in denied)
    assert count(db, CaseNote) == 1 and count(db, CaseNoteAddendum) == 0


def test_a_researcher_is_refused(client, db, signed_in, make_person, make_user):
    make_user(Role.coordinator)
    researcher = signed_in(Role.researcher)
    person = make_person("Fictivo", "Researched")
    token = csrf_from(client.get("/").text)
    response = client.post(f"/people/{person.reference}/notes", follow_redirects=False, data={
        "csrf_token": token, "note_kind": "call", "with_whom": "person", "happened_at": _local(_hour_ago()),
        "summary": "Fictional note by a researcher."})
    assert response.status_code == 403
    [denied] = audit_events(db, "security.permission_denied")
    assert denied.actor_user_id == researcher.id and denied.details["permission"] == "view_person"
    assert count(db, CaseNote) == 0
