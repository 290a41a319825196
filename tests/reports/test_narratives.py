"""De-identified case narratives through their pages: start, scrub, redact, approve by a second person, export."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app.audit.models import Outcome
from app.auth.models import Role, User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.evidence.models import EvidenceItem, EvidenceKind, Finding
from app.health_events.models import HealthEvent, HealthEventKind
from app.people.models import Identity, IdentityAlias
from app.reports.models import CaseNarrative, NarrativeStatus, SummaryRelease
from app.visits.models import Visit, VisitAddendum, VisitMode, VisitStatus
from tests.conftest import csrf_from, page_csrf, sign_in
from tests.pages import audit_events, post_form

BIRTH = date(1991, 4, 9)
PLANTED = (
    "Seen with Amanuel Tesfay (also AMANUEL TESFAI), ref K7Q2-M9XD / HO B1234567, born 09/04/1991 "
    "or 9 April 1991; phone +44 7700 900123, e-mail amanuel.t@example.org, lives at SW1A 1AA. "
    "He says Tesfáy's cousin visited."
)
IDENTIFIERS = ("amanuel", "tesfay", "tesfai", "k7q2", "m9xd", "b1234567", "1991", "7700", "900123",
               "example.org", "sw1a")


def _normal(text: str) -> str:
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z.]+", "", stripped.casefold())


def assert_clean(text: str) -> None:
    flat = _normal(text)
    for identifier in IDENTIFIERS:
        assert _normal(identifier) not in flat, f"{identifier!r} survived"


@pytest.fixture
def subject(db, make_person, today):  # type: ignore[no-untyped-def]
    """A consenting person whose identifiers are planted in every free-text field of their record."""
    person = make_person("Amanuel", "Tesfay", detained_days=50, birth_date=BIRTH, nationality="ER")
    db.rollback()
    identity = db.get(Identity, person.id)
    identity.home_office_reference = "B1234567"
    identity.phone_in_detention = "07700 900123"
    db.add(IdentityAlias(person_id=person.id, name="Amanuel Tesfai"))
    person.reference = "K7Q2-M9XD"
    actor_id = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.anonymised_research, given_date=today,
                   method=ConsentMethod.written, recorded_by_id=actor_id))
    visit = Visit(person_id=person.id, clinician_id=actor_id, visit_date=today - timedelta(days=5),
                  mode=VisitMode.in_person, status=VisitStatus.signed, presenting_concerns=PLANTED,
                  signed_at=datetime.now(UTC), signed_by_id=actor_id,
                  findings="Scars. " + PLANTED, actions="Call amanuel.t@example.org")
    db.add(visit)
    db.flush()
    db.add(VisitAddendum(visit_id=visit.id, author_id=actor_id, text="Correction: " + PLANTED))
    item = EvidenceItem(person_id=person.id, kind=EvidenceKind.medico_legal_report, summary=PLANTED,
                        created_by_id=actor_id, issued_date=today - timedelta(days=3))
    db.add(item)
    db.flush()
    db.add(Finding(evidence_item_id=item.id, body_region="Back", description=PLANTED, attributed_cause=PLANTED))
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.self_harm, notes=PLANTED, recorded_by_id=actor_id,
                       started_at=datetime.now(UTC) - timedelta(days=2)))
    db.commit()
    return person


def _start(client, reference: str):  # type: ignore[no-untyped-def]
    token = page_csrf(client, f"/people/{reference}")
    return client.post(f"/people/{reference}/narratives", data={"csrf_token": token}, follow_redirects=False)


def _act(client, narrative_id: int, action: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/reports/narratives/{narrative_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    data = {"csrf_token": csrf_from(page.text)} | ({"version": version.group(1)} if version else {}) | fields
    return client.post(f"/reports/narratives/{narrative_id}/{action}", data=data, follow_redirects=False)


def _switch(client, make_user, role: Role):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    user = make_user(role)
    assert sign_in(client, user.email).status_code == 303
    return user


def test_the_whole_journey_leaves_no_identifier_in_any_output(client, make_user, subject, db):
    _switch(client, make_user, Role.coordinator)
    started = _start(client, "K7Q2-M9XD")
    assert started.status_code == 303
    narrative_id = int(started.headers["location"].rsplit("/", 1)[1])
    preview = client.get(f"/reports/narratives/{narrative_id}")
    assert preview.status_code == 200 and "<mark" in preview.text
    body = preview.text.split('<article class="narrative">', 1)[1].split("</article>", 1)[0]
    assert_clean(body)
    assert "aged 35 to 39" in body  # born 1991, five-year band
    assert "From Eastern Africa" in body  # fewer than k consenting people share the nationality
    assert _act(client, narrative_id, "submit").status_code == 303
    # The author cannot approve their own narrative: refused, and the refusal recorded against the narrative.
    assert _act(client, narrative_id, "approve").status_code == 403
    [refusal] = audit_events(db, "narrative.refused")
    assert refusal.outcome is Outcome.denied and refusal.object_type == "case_narrative"
    assert refusal.object_id == str(narrative_id) and refusal.person_id == subject.id
    assert "someone other than the person who wrote it" in refusal.details["reason"]
    assert db.get(CaseNarrative, narrative_id).status is NarrativeStatus.awaiting_approval

    _switch(client, make_user, Role.coordinator)
    assert _act(client, narrative_id, "approve").status_code == 303
    db.rollback()
    assert db.get(CaseNarrative, narrative_id).status is NarrativeStatus.released

    _switch(client, make_user, Role.researcher)
    listing = client.get("/reports/narratives")
    assert f"/reports/narratives/{narrative_id}" in listing.text and "K7Q2" not in listing.text
    page = client.get(f"/reports/narratives/{narrative_id}")
    assert page.status_code == 200
    assert_clean(page.text)
    for output_format in ("html", "pdf"):
        exported = _act(client, narrative_id, "export", output_format=output_format)
        assert exported.status_code == 303
        download = client.get(exported.headers["location"])
        assert download.status_code == 200
        if output_format == "pdf":
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(download.content)).pages)
            assert "Case narrative" in text
        else:
            text = download.content.decode()
        assert_clean(text)
    db.rollback()
    assert len(db.scalars(select(SummaryRelease)).all()) == 2


def test_a_person_without_research_consent_gets_no_narrative(client, signed_in, make_person, db):
    person = make_person("Fictiva", "Noconsent")
    signed_in(Role.coordinator)
    response = _start(client, person.reference)
    # The person page again, saying why.
    assert response.status_code == 422 and "no current consent to anonymised research" in response.text
    assert "Noconsent".upper() in response.text
    db.rollback()
    assert db.scalars(select(CaseNarrative)).all() == []


def test_further_redactions_are_applied_to_the_preview(client, signed_in, subject, db):
    signed_in(Role.coordinator)
    narrative_id = int(_start(client, "K7Q2-M9XD").headers["location"].rsplit("/", 1)[1])
    assert "Scars." in client.get(f"/reports/narratives/{narrative_id}").text
    saved = _act(client, narrative_id, "redactions", extra_redactions="scars\ncousin")
    assert saved.status_code == 303
    preview = client.get(f"/reports/narratives/{narrative_id}").text
    body = preview.split('<article class="narrative">', 1)[1].split("</article>", 1)[0]
    assert "Scars." not in body and "cousin" not in body
    too_short = _act(client, narrative_id, "redactions", extra_redactions="x")
    assert too_short.status_code == 422 and "at least two characters" in too_short.text


def test_researchers_never_see_drafts_and_cannot_start_one(client, make_user, subject, db):
    _switch(client, make_user, Role.coordinator)
    narrative_id = int(_start(client, "K7Q2-M9XD").headers["location"].rsplit("/", 1)[1])
    _switch(client, make_user, Role.researcher)
    assert client.get(f"/reports/narratives/{narrative_id}").status_code == 404
    assert f"/reports/narratives/{narrative_id}" not in client.get("/reports/narratives").text
    token = page_csrf(client, "/reports")
    refused = client.post("/people/K7Q2-M9XD/narratives", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403


def test_withdrawn_consent_takes_a_released_narrative_out_of_sight(client, make_user, subject, db, today):
    _switch(client, make_user, Role.coordinator)
    narrative_id = int(_start(client, "K7Q2-M9XD").headers["location"].rsplit("/", 1)[1])
    _act(client, narrative_id, "submit")
    _switch(client, make_user, Role.admin)
    _act(client, narrative_id, "approve")
    _switch(client, make_user, Role.researcher)
    assert client.get(f"/reports/narratives/{narrative_id}").status_code == 200
    token = page_csrf(client, "/reports/narratives")
    db.rollback()
    db.execute(update(Consent).where(Consent.person_id == subject.id)
               .values(withdrawn_date=today, withdrawal_recorded_by_id=Consent.recorded_by_id))
    db.commit()
    assert client.get(f"/reports/narratives/{narrative_id}").status_code == 404
    assert f"/reports/narratives/{narrative_id}" not in client.get("/reports/narratives").text
    refused = client.post(f"/reports/narratives/{narrative_id}/export",
                          data={"csrf_token": token, "output_format": "html"}, follow_redirects=False)
    assert refused.status_code == 404
    db.rollback()
    assert db.scalars(select(SummaryRelease)).all() == []


def test_a_form_loaded_before_someone_else_changed_the_narrative_saves_nothing(client, signed_in, subject, db):
    signed_in(Role.coordinator)
    narrative_id = int(_start(client, "K7Q2-M9XD").headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/reports/narratives/{narrative_id}").text
    loaded = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert _act(client, narrative_id, "redactions", extra_redactions="scars").status_code == 303

    def post(action: str, **fields: str):  # type: ignore[no-untyped-def]
        return post_form(client, f"/reports/narratives/{narrative_id}/{action}", {"version": loaded} | fields,
                         form_page=f"/reports/narratives/{narrative_id}")

    stale = post("redactions", extra_redactions="cousin")
    assert stale.status_code == 409
    assert "Saved now, beside what you typed" in stale.text and "Further words to redact" in stale.text
    assert ">cousin</textarea>" in stale.text  # what they typed, to save again knowingly
    for action in ("submit", "approve", "return"):
        refused = post(action)
        assert refused.status_code == 409, action
        assert ">scars</textarea>" in refused.text  # the redactions form shows what is saved, not blanks
    no_version = post_form(client, f"/reports/narratives/{narrative_id}/submit", {},
                           form_page=f"/reports/narratives/{narrative_id}")
    assert no_version.status_code == 409
    db.rollback()
    narrative = db.get(CaseNarrative, narrative_id)
    assert narrative.extra_redactions == ["scars"] and narrative.status is NarrativeStatus.draft


def test_a_rule_of_the_workflow_is_shown_on_the_narrative_page(client, signed_in, subject, db):
    signed_in(Role.coordinator)
    narrative_id = int(_start(client, "K7Q2-M9XD").headers["location"].rsplit("/", 1)[1])
    # A draft cannot be sent back or approved, whatever a hand-made form says.
    for action, message in (("return", "Only a narrative awaiting approval can be sent back"),
                            ("approve", "Only a narrative awaiting approval can be approved")):
        response = _act(client, narrative_id, action)
        assert response.status_code == 422 and message in response.text, action
    db.rollback()
    assert db.get(CaseNarrative, narrative_id).status is NarrativeStatus.draft


def test_no_export_or_approval_once_consent_is_withdrawn(client, make_user, subject, db, today):
    _switch(client, make_user, Role.coordinator)
    narrative_id = int(_start(client, "K7Q2-M9XD").headers["location"].rsplit("/", 1)[1])
    _act(client, narrative_id, "submit")
    approver = _switch(client, make_user, Role.coordinator)
    page = client.get(f"/reports/narratives/{narrative_id}").text
    token, version = csrf_from(page), re.search(r'name="version" value="(\d+)"', page).group(1)
    db.rollback()
    db.execute(update(Consent).where(Consent.person_id == subject.id)
               .values(withdrawn_date=today, withdrawal_recorded_by_id=Consent.recorded_by_id))
    db.commit()
    page = client.get(f"/reports/narratives/{narrative_id}").text
    assert "consent to anonymised research no longer stands" in page and "/approve" not in page
    approve = client.post(f"/reports/narratives/{narrative_id}/approve",
                          data={"csrf_token": token, "version": version}, follow_redirects=False)
    assert approve.status_code == 403
    [refusal] = audit_events(db, "narrative.refused")
    assert refusal.person_id == subject.id and "consent" in refusal.details["reason"]
    assert db.get(CaseNarrative, narrative_id).status is NarrativeStatus.awaiting_approval

    # Released before the withdrawal: a coordinator, who may still open it, may not export it.
    db.execute(update(CaseNarrative).where(CaseNarrative.id == narrative_id)
               .values(status=NarrativeStatus.released, approved_by_id=approver.id,
                       approved_at=datetime.now(UTC), version=CaseNarrative.version + 1))
    db.commit()
    page = client.get(f"/reports/narratives/{narrative_id}").text
    assert "/export" not in page
    export = client.post(f"/reports/narratives/{narrative_id}/export",
                         data={"csrf_token": token, "output_format": "pdf"}, follow_redirects=False)
    assert export.status_code == 403
    assert len(audit_events(db, "narrative.refused")) == 2
    assert db.scalars(select(SummaryRelease)).all() == []
