"""Letters through the pages: a template chosen, the draft filled from the record (each field checked against it),
edited, checked and issued; the issued letter's seal, shown as changed when the stored row is tampered with; its
PDF read back with pypdf (text) and pikepdf (tags); every refusal (a clinician not assigned, an issued letter
edited, a broken or sandbox-escaping template); and the admin page of template files."""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from app.auth.models import Role
from app.config import get_settings
from app.contacts.models import LegalRepresentative
from app.db import utcnow
from app.evidence.models import Rule35Limb, Rule35Record
from app.medicolegal import letter_templates, letters
from app.medicolegal.letter_models import Letter, LetterState
from app.visits.models import Visit, VisitMode, VisitStatus
from tests.pages import audit_events, count, form_fields, post_form

GIVEN, FAMILY = "Amanuel", "Quexletterton"
HO_REF = "Q1234567"
VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture
def templates_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A templates folder of the test's own: the shipped templates, to which a test adds broken ones."""
    for shipped in letter_templates.SHIPPED_DIR.glob("*.txt"):
        (tmp_path / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(get_settings(), "letter_templates_dir", tmp_path)
    return tmp_path


def _write(folder: Path, key: str, body: str, *, title: str = "A test letter", kind: str = "other") -> None:
    (folder / f"{key}.txt").write_text(f"---\ntitle: {title}\nkind: {kind}\n---\n{body}", encoding="utf-8")


def _case(db, make_person, make_user, today: date, assigned_to=None):  # type: ignore[no-untyped-def]
    """A detained person with a legal representative, a signed visit and a Rule 35 report."""
    db.rollback()
    representative = LegalRepresentative(firm="Fictive Law LLP", caseworker="Jo Casewright")
    db.add(representative)
    db.commit()
    person = make_person(GIVEN, FAMILY, detained_days=40, assigned_to=assigned_to, home_office_reference=HO_REF,
                         birth_precision="disputed", birth_year=1994, legal_representative_id=representative.id)
    visitor = make_user(Role.clinician, name="Dr Vera Visitwell")
    db.add(Visit(person_id=person.id, clinician_id=visitor.id, visit_date=today - timedelta(days=5),
                 mode=VisitMode.in_person, status=VisitStatus.signed, signed_at=utcnow(), signed_by_id=visitor.id))
    db.add(Visit(person_id=person.id, clinician_id=visitor.id, visit_date=today - timedelta(days=1),
                 mode=VisitMode.phone, status=VisitStatus.draft))  # a draft is not the latest visit
    db.add(Rule35Record(person_id=person.id, limb=Rule35Limb.torture, written_date=today - timedelta(days=9),
                        sent_date=today - timedelta(days=8), consent_to_send=True,
                        created_by_id=visitor.id))
    db.commit()
    return person


def _draft(client, person, key: str = "healthcare-concern"):  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}/letters/new")
    assert page.status_code == 200, page.status_code
    sent = form_fields(page.text, f"/people/{person.reference}/letters/new")
    return client.post(f"/people/{person.reference}/letters/new", data=sent | {"template_key": key},
                       follow_redirects=False)


def _only_letter(db) -> Letter:  # type: ignore[no-untyped-def]
    db.rollback()
    [letter] = db.scalars(select(Letter)).all()
    return letter


def _issue(client, person, letter: Letter):  # type: ignore[no-untyped-def]
    base = f"/people/{person.reference}/letters/{letter.id}"
    page = client.get(f"{base}/issue")
    version = VERSION.search(page.text).group(1)
    return client.post(f"{base}/issue", data=form_fields(page.text, f"{base}/issue") | {
        "version": version, "declaration": "true"}, follow_redirects=False)


def _issued(client, db, person) -> Letter:  # type: ignore[no-untyped-def]
    assert _draft(client, person).status_code == 303
    letter = _only_letter(db)
    assert _issue(client, person, letter).status_code == 303
    return _only_letter(db)


def _letter_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


# --- the whole journey ------------------------------------------------------------------------------------------------

def test_a_coordinator_drafts_a_letter_filled_from_the_record_edits_it_and_issues_it(
        client, db, signed_in, make_person, make_user, today, templates_dir):
    coordinator = signed_in(Role.coordinator, name="Cora Letterwright")
    person = _case(db, make_person, make_user, today)
    person_page = client.get(f"/people/{person.reference}").text
    assert f'href="/people/{person.reference}/letters/new">Write a letter' in person_page
    choose = client.get(f"/people/{person.reference}/letters/new").text
    for title in ("Concern letter to the centre&#39;s healthcare team", "Rule 35 report follow-up",
                  "Concerns about fitness to fly"):
        assert title in choose
    drafted = _draft(client, person)
    assert drafted.status_code == 303, drafted.text
    letter = _only_letter(db)
    assert drafted.headers["location"] == f"/people/{person.reference}/letters/{letter.id}/edit"
    assert letter.state is LetterState.draft and letter.template_key == "healthcare-concern"
    # Every field the template uses is filled from the record.
    body = letter.body
    start = today - timedelta(days=39)
    for value in (f"Re: {GIVEN} {FAMILY}, date of birth 1994 (age disputed)", f"Home Office reference: {HO_REF}",
                  f"Our reference: {person.reference}", "Brook House",
                  f"detained since {_letter_date(start)} (40 days)",
                  f"last saw them on {_letter_date(today - timedelta(days=5))} (Dr Vera Visitwell)",
                  "Fictive Law LLP, Jo Casewright", _letter_date(today), "Cora Letterwright\nCoordinator"):
        assert value in body, value
    assert "{{" not in body and "not recorded" not in body
    [drafted_event] = audit_events(db, "letter.drafted")
    assert drafted_event.details["template"] == "healthcare-concern" and drafted_event.person_id == person.id
    assert GIVEN not in str(drafted_event.details)

    # The edit page holds the text in a textarea; a blank letter is refused beside the field and changes nothing.
    base = f"/people/{person.reference}/letters/{letter.id}"
    edit = client.get(f"{base}/edit")
    assert edit.status_code == 200 and "<textarea" in edit.text and html.escape(HO_REF) in edit.text
    sent = form_fields(edit.text, f"{base}/edit")
    blank = client.post(f"{base}/edit", data=sent | {"body": "   "}, follow_redirects=False)
    assert blank.status_code == 422 and 'id="f-body-error"' in blank.text and "<title>Error: " in blank.text
    assert _only_letter(db).body == body
    edited = body.replace("[Describe the concern: the symptoms or condition, what was observed, and any treatment "
                          "or appointment that has not happened.]", "He has had no insulin for three days.")
    assert edited != body
    saved = client.post(f"{base}/edit", data=sent | {"body": edited}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{base}/issue"
    assert "no insulin for three days" in _only_letter(db).body
    assert len(audit_events(db, "letter.changed")) == 1

    # The check page shows the letter as it will be issued; without the declaration nothing is issued.
    check = client.get(f"{base}/issue")
    assert "Check the letter before you issue it" in check.text and "no insulin for three days" in check.text
    assert "text in square brackets" not in check.text
    fields = form_fields(check.text, f"{base}/issue")
    refused = client.post(f"{base}/issue", data=fields, follow_redirects=False)
    assert refused.status_code == 422 and "Confirm that the letter is ready to be issued." in refused.text
    assert _only_letter(db).state is LetterState.draft
    issued = client.post(f"{base}/issue", data=fields | {"declaration": "true"}, follow_redirects=False)
    assert issued.status_code == 303
    letter = _only_letter(db)
    assert letter.state is LetterState.issued and letter.issued_by_id == coordinator.id
    assert letter.content_sha256 == letters.digest(letter)
    [event] = audit_events(db, "letter.issued")
    assert event.details["content_sha256"] == letter.content_sha256

    # The letter page shows the seal intact, and the person page lists it as issued.
    shown = client.get(base).text
    assert "checked now: unchanged" in shown and letter.content_sha256 in shown and ".pdf" in shown
    assert len(audit_events(db, "letter.viewed")) == 1
    section = client.get(f"/people/{person.reference}").text.split('id="letters-section"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "Concern letter to the centre" in section and "Issued" in section


def test_the_rule35_letter_takes_the_latest_rule35_report(client, db, signed_in, make_person, make_user, today,
                                                          templates_dir):
    signed_in(Role.admin, name="Ada Admin")
    person = _case(db, make_person, make_user, today)
    assert _draft(client, person, "rule35-follow-up").status_code == 303
    body = _only_letter(db).body
    assert "Rule 35(3): torture concern" in body
    assert f"written on {_letter_date(today - timedelta(days=9))}" in body
    assert f"sent to the Home Office on {_letter_date(today - timedelta(days=8))}" in body
    assert "response recorded with us is: not recorded" in body and "Ada Admin\nAdministrator" in body


# --- refusals ---------------------------------------------------------------------------------------------------------

def test_a_clinician_not_assigned_is_refused_every_letter_page_and_the_refusal_is_audited(
        client, db, signed_in, make_person, make_user, today, templates_dir):
    assigned = make_user(Role.clinician, name="Dr Assigned")
    person = _case(db, make_person, make_user, today, assigned_to=assigned)
    db.add(Letter(person_id=person.id, template_key="healthcare-concern", title="A letter", body="Dear team,\n",
                  made_by_id=assigned.id))
    db.commit()
    letter = _only_letter(db)
    outsider = signed_in(Role.clinician, name="Dr Outsider")
    base = f"/people/{person.reference}/letters"
    for path in (f"{base}/new", f"{base}/{letter.id}", f"{base}/{letter.id}/edit", f"{base}/{letter.id}/issue",
                 f"{base}/{letter.id}.pdf"):
        assert client.get(path).status_code == 403, path
    assert post_form(client, f"{base}/new", {"template_key": "healthcare-concern"}).status_code == 403
    assert post_form(client, f"{base}/{letter.id}/edit", {"body": "Changed", "version": "1"}).status_code == 403
    assert count(db, Letter) == 1 and _only_letter(db).body == "Dear team,\n"
    db.rollback()
    denied = [e for e in audit_events(db, "security.permission_denied") if e.actor_user_id == outsider.id]
    assert len(denied) >= 7
    # A researcher has no letter pages at all.
    signed_in(Role.researcher)
    assert client.get(f"{base}/new").status_code == 403


def test_an_assigned_clinician_may_write_a_letter(client, db, signed_in, make_person, make_user, today,
                                                  templates_dir):
    clinician = signed_in(Role.clinician, name="Dr Pia Letter")
    person = _case(db, make_person, make_user, today, assigned_to=clinician)
    assert _draft(client, person, "fitness-to-fly").status_code == 303
    assert "Dr Pia Letter\nClinician" in _only_letter(db).body


def test_an_issued_letter_never_changes(client, db, signed_in, make_person, make_user, today, templates_dir):
    signed_in(Role.coordinator)
    person = _case(db, make_person, make_user, today)
    letter = _issued(client, db, person)
    base = f"/people/{person.reference}/letters/{letter.id}"
    edit = client.get(f"{base}/edit")
    assert "<textarea" not in edit.text and "an issued letter never changes" in edit.text
    changed = post_form(client, f"{base}/edit", {"body": "Something else", "version": str(letter.version)},
                        form_page=base)
    assert changed.status_code == 409 and "an issued letter never changes" in changed.text
    again = post_form(client, f"{base}/issue", {"declaration": "true", "version": str(letter.version)},
                      form_page=base)
    assert again.status_code == 409
    after = _only_letter(db)
    assert after.body == letter.body and after.issued_at == letter.issued_at and after.version == letter.version
    assert len(audit_events(db, "letter.issued")) == 1 and audit_events(db, "letter.changed") == []


def test_a_stale_edit_is_refused(client, db, signed_in, make_person, make_user, today, templates_dir):
    signed_in(Role.coordinator)
    person = _case(db, make_person, make_user, today)
    assert _draft(client, person).status_code == 303
    letter = _only_letter(db)
    base = f"/people/{person.reference}/letters/{letter.id}"
    sent = form_fields(client.get(f"{base}/edit").text, f"{base}/edit")
    assert client.post(f"{base}/edit", data=sent | {"body": "First change"}, follow_redirects=False).status_code == 303
    stale = client.post(f"{base}/edit", data=sent | {"body": "Second change"}, follow_redirects=False)
    assert stale.status_code == 409 and _only_letter(db).body == "First change\n"


def test_a_draft_has_no_pdf(client, db, signed_in, make_person, make_user, today, templates_dir):
    signed_in(Role.coordinator)
    person = _case(db, make_person, make_user, today)
    assert _draft(client, person).status_code == 303
    letter = _only_letter(db)
    response = client.get(f"/people/{person.reference}/letters/{letter.id}.pdf", follow_redirects=False)
    assert response.status_code == 303 and audit_events(db, "letter.pdf_downloaded") == []
    # The check page warns of the text the template left in square brackets to be replaced.
    check = client.get(f"/people/{person.reference}/letters/{letter.id}/issue").text
    assert "The letter still has text in square brackets" in check and "[Describe the concern" in check


# --- templates --------------------------------------------------------------------------------------------------------

def test_broken_templates_are_reported_on_the_admin_page_with_file_and_line_and_cannot_be_used(
        client, db, signed_in, make_person, make_user, today, templates_dir):
    _write(templates_dir, "unknown-field", "Dear team,\n\nAbout {{ person_name }}.\nBorn in {{ birth_place }}.\n",
           title="Unknown field letter")
    _write(templates_dir, "bad-syntax", "Dear team,\n\n{{ person_name }\n", title="Bad syntax letter")
    _write(templates_dir, "escape", "{{ ''.__class__.__mro__[1].__subclasses__() }}\n", title="Escape letter")
    (templates_dir / "no-header.txt").write_text("Dear {{ person_name }},\n", encoding="utf-8")
    signed_in(Role.admin)
    page = client.get("/admin/letter-templates")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    # The header is four lines, so the body's line 4 is the file's line 8, and line 3 is line 7.
    assert 'unknown-field.txt, line 8: "birth_place" is not a field letters can use.' in shown
    assert "bad-syntax.txt, line 7: the template cannot be read" in shown
    assert "escape.txt, line 5: only plain fields" in shown
    assert "no-header.txt, line 1: the file must start with a header" in shown
    assert shown.count("Cannot be used") == 4 and shown.count("Can be used") == 3
    # Every field is listed with what it holds.
    for name, description in letter_templates.FIELDS.items():
        assert f"<code>{name}</code>" in shown and description in shown
    # None of them can be used: not offered, and refused if posted anyway.
    person = _case(db, make_person, make_user, today)
    choose = html.unescape(client.get(f"/people/{person.reference}/letters/new").text)
    assert 'value="unknown-field"' not in choose and "Unknown field letter" in choose
    for key in ("unknown-field", "bad-syntax", "escape", "no-header"):
        refused = _draft(client, person, key)
        assert refused.status_code == 422, key
        assert "cannot be used until an administrator corrects it" in html.unescape(refused.text)
    assert count(db, Letter) == 0 and audit_events(db, "letter.drafted") == []
    # No choice, and a template that does not exist, are each a message beside the choice.
    none = client.post(f"/people/{person.reference}/letters/new", data=form_fields(
        client.get(f"/people/{person.reference}/letters/new").text, f"/people/{person.reference}/letters/new"),
        follow_redirects=False)
    assert none.status_code == 422 and "Choose the letter to write." in none.text and 'id="f-template_key"' in none.text
    assert "Choose a letter template from the list." in _draft(client, person, "nothing-here").text


def test_the_sandbox_refuses_python_internals_even_past_the_checks():
    """The checks refuse an attribute before a template is ever filled; should one be missed, the sandbox still
    refuses to reach Python's internals."""
    from jinja2.exceptions import SecurityError

    env = letter_templates.environment()
    with pytest.raises(SecurityError):
        env.from_string("{{ ''.__class__.__mro__ }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ cycler.__init__.__globals__ }}").render(cycler=letter_templates.read)
    # And a field's value can never become markup.
    assert env.from_string("{{ person_name }}").render(person_name="<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"


def test_the_admin_page_is_for_administrators_only(client, signed_in, templates_dir):
    signed_in(Role.coordinator)
    assert client.get("/admin/letter-templates").status_code == 403
    signed_in(Role.clinician)
    assert client.get("/admin/letter-templates").status_code == 403


def test_the_shipped_templates_are_usable_and_values_are_kept_as_typed():
    shipped = letter_templates.load_all(letter_templates.SHIPPED_DIR)
    assert {t.key for t in shipped} == {"healthcare-concern", "rule35-follow-up", "fitness-to-fly"}
    assert all(t.usable for t in shipped), [t.problems for t in shipped]
    filled = letter_templates.fill(shipped[0], {name: "O'Brien & <Sons>" for name in letter_templates.FIELDS})
    assert "O'Brien & <Sons>" in filled  # kept as plain text; pages and the PDF escape it where they show it


# --- the seal ---------------------------------------------------------------------------------------------------------

def test_a_tampered_stored_letter_is_shown_as_changed(client, db, engine, signed_in, make_person, make_user, today,
                                                      templates_dir):
    signed_in(Role.coordinator)
    person = _case(db, make_person, make_user, today)
    letter = _issued(client, db, person)
    kept, original = letter.content_sha256, letter.body
    base = f"/people/{person.reference}/letters/{letter.id}"
    # Someone with the database and the keys rewrites the issued text, bypassing every page.
    stored = _only_letter(db)
    stored.body = stored.body.replace("Please reply within 7 days", "No reply is needed")
    db.commit()
    shown = client.get(base).text
    assert "The stored text of this letter has changed since it was issued." in shown
    assert kept in shown and "No reply is needed" in shown
    [broken] = audit_events(db, "letter.seal_broken")
    assert broken.details["kept"] == kept and broken.details["now"] != kept
    # A plain column changed with SQL alone is caught the same way.
    stored = _only_letter(db)
    stored.body = original
    db.commit()
    assert letters.check_seal(_only_letter(db)).state is letters.SealState.intact
    with engine.begin() as conn:
        conn.execute(text("UPDATE letters SET title = 'Another title' WHERE id = :id"), {"id": letter.id})
    assert letters.check_seal(_only_letter(db)).state is letters.SealState.changed


# --- the PDF ----------------------------------------------------------------------------------------------------------

def test_the_issued_letter_downloads_as_a_tagged_pdf_with_its_text(
        client, db, signed_in, make_person, make_user, today, templates_dir, monkeypatch):
    monkeypatch.setattr(get_settings(), "letterhead", "Fictive Detention Health Charity|1 Example Street, London")
    signed_in(Role.coordinator, name="Cora Pdfwright")
    person = _case(db, make_person, make_user, today)
    letter = _issued(client, db, person)
    response = client.get(f"/people/{person.reference}/letters/{letter.id}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="letter-{person.reference}-{letter.id}.pdf"'
    assert GIVEN not in disposition and FAMILY not in disposition
    reader = PdfReader(io.BytesIO(response.content))
    words = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for value in ("Fictive Detention Health Charity", f"{GIVEN} {FAMILY}", HO_REF, person.reference,
                  "Cora Pdfwright", letter.content_sha256 or "-"):
        assert value in words, value
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert "/StructTreeRoot" in pdf.Root and pdf.Root.MarkInfo.Marked
        assert str(pdf.Root.Lang) == "en-GB"
        assert "pdfuaid" in str(pdf.open_metadata())
    [event] = audit_events(db, "letter.pdf_downloaded")
    assert event.person_id == person.id


def test_the_person_page_section_lists_drafts_and_issued_letters(client, db, signed_in, make_person, make_user, today,
                                                                 templates_dir):
    signed_in(Role.coordinator)
    person = _case(db, make_person, make_user, today)
    assert _draft(client, person).status_code == 303
    section = client.get(f"/people/{person.reference}").text.split('id="letters-section"', 1)[1]
    assert "Draft" in section.split("</section>", 1)[0] and "Not issued" in section
