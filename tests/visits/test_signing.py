"""Signing a visit like a check-your-answers page (what will be signed, a declaration, a warning for empty clinical
fields), and the content seal: the SHA-256 of what was signed, checked whenever the visit is shown, so that a
change of the stored content behind the application is detected and shown."""

from __future__ import annotations

import hashlib
import html
import re

from sqlalchemy import text

from app.auth.models import Role
from app.visits import seal
from app.visits.models import RiskLevel, Visit, VisitStatus
from tests.visits.helpers import events, make_visit, post

VERSION_RE = re.compile(r'name="version" value="([^"]+)"')


def _draft(db, person, clinician, **fields):  # type: ignore[no-untyped-def]
    values = {"presenting_concerns": "Poor sleep.", "findings": "Linear scars on both forearms.",
              "risk": RiskLevel.moderate, "actions": "Ask for a Rule 35(3) report."} | fields
    return make_visit(db, person, clinician, **{k: v for k, v in values.items() if v is not None})


def _sign(client, base: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"{base}/sign")
    assert page.status_code == 200, page.status_code
    return page.text, post(client, f"{base}/sign", {"version": VERSION_RE.search(page.text).group(1)} | fields)


def test_the_sign_page_shows_what_will_be_signed_and_asks_for_the_declaration(
        client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Signa", "Fictiva", assigned_to=clinician)
    visit = _draft(db, person, clinician, findings=None, actions=None)
    base = f"/people/{person.reference}/visits/{visit.id}"
    assert f'href="{base}/sign">Check and sign this visit' in client.get(base).text
    page, refused = _sign(client, base)
    # Everything that will be signed, the declaration, and which clinical fields are empty.
    assert "Check the visit before you sign it" in page and "Poor sleep." in page
    assert "I confirm this is an accurate record of my assessment." in page
    assert re.search(r"These clinical fields are\s+empty:</strong>\s+Findings, Actions", page)
    # Without the declaration nothing is signed, and the message sits beside the box.
    assert refused.status_code == 422
    assert 'id="f-declaration-error"' in refused.text and "Confirm that this is an accurate record" in refused.text
    assert refused.text.count("Error:") >= 1 and "<title>Error: " in refused.text
    db.rollback()
    assert db.get(Visit, visit.id).status is VisitStatus.draft and db.get(Visit, visit.id).content_sha256 is None
    assert events(db, "visit.signed") == []


def test_signing_seals_the_content_and_the_page_shows_the_seal_intact(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Sealo", "Fictivo", assigned_to=clinician)
    visit = _draft(db, person, clinician)
    base = f"/people/{person.reference}/visits/{visit.id}"
    page, signed = _sign(client, base, declaration="true")
    assert "These clinical fields" not in page  # nothing empty, no warning
    assert signed.status_code == 303
    db.rollback()
    stored = db.get(Visit, visit.id)
    assert stored.status is VisitStatus.signed and re.fullmatch(r"[0-9a-f]{64}", stored.content_sha256)
    assert stored.content_sha256 == hashlib.sha256(seal.canonical(stored, [])).hexdigest()
    [event] = events(db, "visit.signed")
    assert event.details["content_sha256"] == stored.content_sha256
    shown = client.get(base).text
    assert "checked now: unchanged" in shown and stored.content_sha256 in shown
    assert "has changed since it was signed" not in shown


def test_a_stored_visit_changed_behind_the_application_is_shown_as_changed(
        client, db, engine, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Tampa", "Fictiva", assigned_to=clinician)
    visit = _draft(db, person, clinician)
    base = f"/people/{person.reference}/visits/{visit.id}"
    assert _sign(client, base, declaration="true")[1].status_code == 303
    # Someone with the database (and the keys) rewrites the findings of the signed visit, bypassing every page.
    db.rollback()
    stored = db.get(Visit, visit.id)
    kept = stored.content_sha256
    stored.findings = "No injuries seen."
    db.commit()
    shown = client.get(base).text
    assert "The stored content of this visit has changed since it was signed." in shown
    assert kept in shown and "No injuries seen." in shown
    [broken] = events(db, "visit.seal_broken")
    assert broken.details["kept"] == kept and broken.details["now"] != kept and broken.person_id == person.id
    # A plain column changed with SQL alone is caught the same way.
    with engine.begin() as conn:
        conn.execute(text("UPDATE visits SET risk = 'none' WHERE id = :id"), {"id": visit.id})
    db.rollback()
    assert seal.check(db.get(Visit, visit.id), []).state is seal.SealState.changed


def test_only_the_author_may_open_the_sign_page_and_a_signed_visit_has_none(
        client, db, signed_in, make_person, make_user):
    author = make_user(Role.clinician)
    other = signed_in(Role.clinician)
    person = make_person("Authora", "Fictiva", assigned_to=author)
    db.rollback()
    from app.people.models import Assignment
    db.add(Assignment(person_id=person.id, clinician_id=other.id))
    db.commit()
    visit = _draft(db, person, author)
    base = f"/people/{person.reference}/visits/{visit.id}"
    assert client.get(f"{base}/sign").status_code == 403
    assert post(client, f"{base}/sign", {"version": "1", "declaration": "true"}).status_code == 403
    signed = make_visit(db, person, other, signed=True)
    page = client.get(f"/people/{person.reference}/visits/{signed.id}/sign")
    assert page.status_code == 409 and "Signed visits are never changed" in page.text


def test_a_visit_signed_before_seals_says_it_has_none(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Olda", "Fictiva", assigned_to=clinician)
    visit = make_visit(db, person, clinician, signed=True)
    shown = client.get(f"/people/{person.reference}/visits/{visit.id}").text
    assert "signed before visits were sealed: it has no content seal" in html.unescape(shown)


def test_the_canonical_form_changes_with_every_signed_field_and_only_with_them(db, make_person, make_user):
    clinician = make_user(Role.clinician)
    person = make_person("Canona", "Fictiva", assigned_to=clinician)
    visit = _draft(db, person, clinician)
    first = seal.digest(visit, ["torture"])
    assert seal.digest(visit, ["torture"]) == first  # stable
    assert seal.digest(visit, ["ptsd"]) != first
    for name, value in (("findings", "Linear scars on both forearms"), ("duration_minutes", 46),
                        ("interpreter_language", "Tigre"), ("risk", RiskLevel.high)):
        before = getattr(visit, name)
        setattr(visit, name, value)
        assert seal.digest(visit, ["torture"]) != first, name
        setattr(visit, name, before)
    assert seal.digest(visit, ["torture"]) == first
    visit.version += 1  # bookkeeping is not content
    assert seal.digest(visit, ["torture"]) == first
    db.rollback()
