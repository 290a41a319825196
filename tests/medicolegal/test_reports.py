"""Medico-legal reports through the pages: the instruction (refused without consent), the draft built from the
record, saving with versions kept, peer review by a named second clinician, the sealed sign-off (refused when
consent was withdrawn since), the content seal shown as changed after tampering, service, and the person page."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from app.auth.models import Role, User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.contacts.models import LegalRepresentative
from app.evidence.models import Consistency, EvidenceItem, EvidenceKind, Finding, LesionType
from app.medicolegal import seal
from app.medicolegal.models import (
    MedicoLegalReport,
    MedicoLegalReportVersion,
    MedicoLegalReviewComment,
    ReportState,
)
from app.people.models import Assignment
from app.visits.models import RiskLevel
from tests.conftest import sign_in
from tests.pages import audit_events, count, form_fields, post_form
from tests.visits.helpers import make_visit

VERSION_RE = re.compile(r'name="version" value="([^"]+)"')
SECTIONS = ("case_details", "qualifications", "allegations", "physical_findings", "psychological_findings",
            "interpretation", "recommendations")


def _admin_id(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalars(select(User.id).where(User.role == Role.admin)).first()


def consent(db, person, today: date) -> None:  # type: ignore[no-untyped-def]
    db.rollback()
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.medico_legal_report,
                   given_date=today - timedelta(days=10), method=ConsentMethod.verbal,
                   recorded_by_id=_admin_id(db)))
    db.commit()


def representative(db) -> LegalRepresentative:  # type: ignore[no-untyped-def]
    db.rollback()
    rep = LegalRepresentative(firm="Fictional Law LLP", caseworker="Casey Worker")
    db.add(rep)
    db.commit()
    return rep


@pytest.fixture
def case(db, today, make_person, make_user, client):  # type: ignore[no-untyped-def]
    """A person with consent to a report, an assigned author and second clinician, a signed visit, a finding of
    an evidence item with the overall evaluation, and a legal representative; the author signed in."""
    author = make_user(Role.clinician, name="Dr Ada Author")
    second = make_user(Role.clinician, name="Dr Rev Reviewer")
    person = make_person("Reporta", "Fictiva", assigned_to=author)
    db.rollback()
    db.add(Assignment(person_id=person.id, clinician_id=second.id))
    db.commit()
    consent(db, person, today)
    rep = representative(db)
    visit = make_visit(db, person, author, signed=True, visit_date=today - timedelta(days=5),
                       presenting_concerns="Beaten with a cable in detention abroad.",
                       findings="Linear scars on the back.", risk=RiskLevel.low,
                       actions="Refer to a torture rehabilitation service.")
    db.rollback()
    item = EvidenceItem(person_id=person.id, kind=EvidenceKind.medico_legal_report, created_by_id=author.id,
                        overall_evaluation=Consistency.highly_consistent)
    db.add(item)
    db.flush()
    db.add(Finding(evidence_item_id=item.id, body_region="Upper back (left)", region_code=None,
                   description="Three parallel linear scars", attributed_cause="beating with a cable",
                   consistency=Consistency.typical, lesion_type=LesionType.scar, length_mm=80, width_mm=3))
    db.commit()
    assert sign_in(client, author.email).status_code == 303
    return {"author": author, "second": second, "person": person, "rep": rep, "visit": visit}


def base(person) -> str:  # type: ignore[no-untyped-def]
    return f"/people/{person.reference}/reports"


def instruct(client, case, today: date, **fields):  # type: ignore[no-untyped-def]
    data = {"legal_representative_id": str(case["rep"].id), "visit_id": str(case["visit"].id),
            "questions": "Are the scars consistent with the account?", "received_date": str(today),
            "papers": ["interview_record", "refusal_letter"]} | fields
    return post_form(client, f"{base(case['person'])}/new", {k: v for k, v in data.items() if v is not None},
                     form_page=f"{base(case['person'])}/new")


def the_report(db) -> MedicoLegalReport:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalars(select(MedicoLegalReport)).one()


def version_of(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return VERSION_RE.search(page.text).group(1)


def started(client, db, case, today):  # type: ignore[no-untyped-def]
    assert instruct(client, case, today).status_code == 303
    report = the_report(db)
    path = f"{base(case['person'])}/{report.id}"
    response = post_form(client, f"{path}/start", {"version": version_of(client, path)}, form_page=path)
    assert response.status_code == 303 and response.headers["location"] == f"{path}/edit"
    return the_report(db), path


def send(client, path: str, reviewer_id: int):  # type: ignore[no-untyped-def]
    return post_form(client, f"{path}/send-for-review", {"reviewer_id": str(reviewer_id),
                                                         "version": version_of(client, path)}, form_page=path)


def review(client, path: str, decision: str, **comments: str):  # type: ignore[no-untyped-def]
    data = {"decision": decision, "version": version_of(client, f"{path}/review")}
    data |= {f"comment_{name}": text for name, text in comments.items()}
    return post_form(client, f"{path}/review", data, form_page=f"{path}/review")


def to_approved(client, db, case, today):  # type: ignore[no-untyped-def]
    report, path = started(client, db, case, today)
    assert send(client, path, case["second"].id).status_code == 303
    assert sign_in(client, case["second"].email).status_code == 303
    assert review(client, path, "approve").status_code == 303
    assert sign_in(client, case["author"].email).status_code == 303
    return the_report(db), path


def sign(client, path: str, **fields):  # type: ignore[no-untyped-def]
    return post_form(client, f"{path}/sign", {"version": version_of(client, f"{path}/sign")} | fields,
                     form_page=f"{path}/sign")


# --- the instruction -----------------------------------------------------------------------------

def test_an_instruction_is_recorded_with_its_papers_and_a_due_date_three_weeks_after_the_visit(
        client, db, case, today):
    page = client.get(f"{base(case['person'])}/new")
    assert page.status_code == 200 and "Record an instruction for a medico-legal report" in page.text
    assert "no current consent" not in page.text
    response = instruct(client, case, today)
    assert response.status_code == 303
    report = the_report(db)
    assert report.state is ReportState.instructed and report.author_id == case["author"].id
    assert report.due_date == case["visit"].visit_date + timedelta(days=21)
    assert report.questions == "Are the scars consistent with the account?"
    assert report.papers() == {"interview_record": True, "witness_statement": False, "refusal_letter": True,
                               "determination": False, "medical_records": False}
    [event] = audit_events(db, "report.instructed")
    assert event.details["author_id"] == case["author"].id and event.person_id == case["person"].id
    shown = client.get(response.headers["location"]).text
    assert "Fictional Law LLP" in shown and "Start the draft" in shown
    # Without a visit, three weeks from the instruction; the person page lists both, the soonest due last.
    assert instruct(client, case, today, visit_id=None).status_code == 303
    db.rollback()
    dues = sorted(r.due_date for r in db.scalars(select(MedicoLegalReport)))
    assert dues == [case["visit"].visit_date + timedelta(days=21), today + timedelta(days=21)]
    person_page = client.get(f"/people/{case['person'].reference}").text
    assert 'id="reports-section"' in person_page and person_page.count('id="report-') == 2


def test_an_instruction_without_consent_is_refused_and_saves_nothing(client, db, today, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Noconsa", "Fictiva", assigned_to=clinician)
    rep = representative(db)
    page = client.get(f"{base(person)}/new")
    assert "has no current consent for a medico-legal report" in page.text
    response = post_form(client, f"{base(person)}/new", {
        "legal_representative_id": str(rep.id), "questions": "Q?", "received_date": str(today)},
        form_page=f"{base(person)}/new")
    assert response.status_code == 422
    assert "<title>Error: " in response.text and "no current consent for a medico-legal report" in response.text
    assert count(db, MedicoLegalReport) == 0 and audit_events(db, "report.instructed") == []


def test_instruction_form_errors_sit_beside_their_fields(client, db, case, today):
    response = instruct(client, case, today, legal_representative_id="", questions="  ",
                        due_date=str(today - timedelta(days=30)))
    assert response.status_code == 422
    assert 'id="f-legal_representative_id-error"' in response.text
    assert 'id="f-questions-error"' in response.text
    response = instruct(client, case, today, due_date=str(today - timedelta(days=1)))
    assert response.status_code == 422 and 'id="f-due_date-error"' in response.text
    assert count(db, MedicoLegalReport) == 0


def test_a_clinician_not_assigned_is_refused_and_the_refusal_recorded(client, db, case, today, make_user):
    assert instruct(client, case, today).status_code == 303
    report = the_report(db)
    stranger = make_user(Role.clinician)
    assert sign_in(client, stranger.email).status_code == 303
    for path in (f"{base(case['person'])}/new", f"{base(case['person'])}/{report.id}",
                 f"{base(case['person'])}/{report.id}/edit"):
        assert client.get(path).status_code == 403, path
    refusals = [e for e in audit_events(db, "security.permission_denied") if e.actor_user_id == stranger.id]
    assert len(refusals) == 3


# --- the draft -------------------------------------------------------------------------------------

def test_starting_the_draft_fills_the_sections_from_the_record_and_saving_keeps_versions(client, db, case, today):
    report, path = started(client, db, case, today)
    assert report.state is ReportState.drafting
    assert case["person"].reference in report.case_details and "Fictional Law LLP" in report.case_details
    assert "Beaten with a cable" in report.allegations
    assert "Three parallel linear scars" in report.physical_findings and "80 x 3 mm" in report.physical_findings
    assert "Finding 1 (Upper back (left)): typical of beating with a cable." in report.interpretation
    assert "Highly consistent with the account" in report.interpretation
    assert "Refer to a torture rehabilitation service." in report.recommendations
    edit = client.get(f"{path}/edit")
    assert edit.status_code == 200
    fields = form_fields(edit.text, f"{path}/edit")
    assert set(SECTIONS) <= set(fields)
    fields["interpretation"] = "The scars are typical of beating with a cable."
    saved = post_form(client, f"{path}/edit", fields, form_page=f"{path}/edit")
    assert saved.status_code == 303
    db.rollback()
    versions = db.scalars(select(MedicoLegalReportVersion).order_by(MedicoLegalReportVersion.number)).all()
    assert [(v.number, v.reason.value) for v in versions] == [(1, "started"), (2, "saved")]
    assert versions[1].sections["interpretation"] == "The scars are typical of beating with a cable."
    assert versions[0].sections["interpretation"] != versions[1].sections["interpretation"]
    [event] = audit_events(db, "report.draft_saved")
    assert event.details["sections"] == ["interpretation"]
    # Each version kept can be read again, linked from the report page; one not kept is not found.
    assert f'href="{path}/versions/1"' in client.get(path).text
    first, second = client.get(f"{path}/versions/1"), client.get(f"{path}/versions/2")
    assert "Version 1 of medico-legal report" in first.text and "Started by Dr Ada Author" in first.text
    assert "Highly consistent with the account" in first.text
    assert "The scars are typical of beating with a cable." in second.text
    assert "The scars are typical of beating with a cable." not in first.text
    assert client.get(f"{path}/versions/3").status_code == 404
    assert [e.details for e in audit_events(db, "report.version_viewed")] == [{"number": 1}, {"number": 2}]
    # The form loaded before that save is refused: saved in the meantime.
    stale = post_form(client, f"{path}/edit", fields | {"recommendations": "Other"}, form_page=f"{path}/edit")
    assert stale.status_code == 409
    assert the_report(db).recommendations != "Other"


def test_only_the_author_or_a_coordinator_edits_the_draft(client, db, case, today, make_user):
    report, path = started(client, db, case, today)
    assert sign_in(client, case["second"].email).status_code == 303
    assert client.get(f"{path}/edit").status_code == 403
    assert post_form(client, f"{path}/edit", {"version": str(report.version), "allegations": "x"},
                     form_page=path).status_code == 403
    coordinator = make_user(Role.coordinator)
    assert sign_in(client, coordinator.email).status_code == 303
    assert client.get(f"{path}/edit").status_code == 200


# --- peer review -----------------------------------------------------------------------------------

def test_the_author_cannot_be_the_reviewer(client, db, case, today):
    report, path = started(client, db, case, today)
    response = send(client, path, case["author"].id)
    assert response.status_code == 422
    assert 'id="f-reviewer_id-error"' in response.text and "cannot review their own report" in response.text
    assert the_report(db).state is ReportState.drafting and the_report(db).reviewer_id is None


def test_review_by_someone_not_named_is_refused(client, db, case, today, make_user):
    report, path = started(client, db, case, today)
    coordinator = make_user(Role.coordinator)
    assert send(client, path, coordinator.id).status_code == 303
    assert sign_in(client, case["second"].email).status_code == 303  # assigned, but not the one named
    assert client.get(f"{path}/review").status_code == 403
    response = post_form(client, f"{path}/review", {"decision": "approve", "version": str(the_report(db).version)},
                         form_page=path)
    assert response.status_code == 403
    assert the_report(db).approved_at is None and audit_events(db, "report.approved") == []
    denied = [e for e in audit_events(db, "security.permission_denied") if e.actor_user_id == case["second"].id]
    assert denied and denied[-1].details["permission"] == "named_reviewer"


def test_a_returned_report_goes_back_to_drafting_with_the_comments_on_the_edit_page(client, db, case, today):
    report, path = started(client, db, case, today)
    assert send(client, path, case["second"].id).status_code == 303
    assert the_report(db).state is ReportState.in_review
    # The author can no longer change it while it is reviewed.
    assert client.get(f"{path}/edit").status_code == 409
    assert sign_in(client, case["second"].email).status_code == 303
    page = client.get(f"{path}/review")
    assert page.status_code == 200 and "Three parallel linear scars" in page.text
    # Returning needs at least one comment.
    empty = review(client, path, "return")
    assert empty.status_code == 422 and 'id="f-decision-error"' in empty.text
    assert review(client, path, "return", interpretation="Say which Istanbul Protocol level and why.").status_code \
        == 303
    returned = the_report(db)
    assert returned.state is ReportState.drafting and returned.approved_at is None
    [comment] = db.scalars(select(MedicoLegalReviewComment)).all()
    assert comment.section == "interpretation" and comment.round == 1 and comment.reviewer_id == case["second"].id
    assert sign_in(client, case["author"].email).status_code == 303
    edit = client.get(f"{path}/edit").text
    assert "returned this report with comments" in edit and "Say which Istanbul Protocol level and why." in edit
    # A second round, approved.
    assert send(client, path, case["second"].id).status_code == 303
    assert the_report(db).review_round == 2
    assert sign_in(client, case["second"].email).status_code == 303
    assert review(client, path, "approve").status_code == 303
    assert the_report(db).approved_at is not None
    assert [e.details["round"] for e in audit_events(db, "report.sent_for_review")] == [1, 2]


# --- sign-off and the seal -------------------------------------------------------------------------

def test_sign_off_shows_the_whole_report_seals_it_and_the_page_shows_the_hash(client, db, case, today):
    report, path = to_approved(client, db, case, today)
    page = client.get(f"{path}/sign")
    assert page.status_code == 200 and "Check the report before you sign it off" in page.text
    assert "Three parallel linear scars" in page.text and "true to the best of my knowledge" in page.text
    refused = sign(client, path)
    assert refused.status_code == 422 and 'id="f-declaration-error"' in refused.text
    assert sign(client, path, declaration="true").status_code == 303
    signed = the_report(db)
    assert signed.state is ReportState.signed and signed.signed_by_id == case["author"].id
    assert signed.content_sha256 == hashlib.sha256(seal.canonical(signed)).hexdigest()
    [event] = audit_events(db, "report.signed")
    assert event.details["content_sha256"] == signed.content_sha256
    shown = client.get(path).text
    assert "checked now: unchanged" in shown and signed.content_sha256 in shown
    # A signed report is never edited.
    assert client.get(f"{path}/edit").status_code == 409
    assert post_form(client, f"{path}/edit", {"version": str(signed.version), "allegations": "Changed."},
                     form_page=path).status_code == 409
    assert the_report(db).allegations != "Changed."


def test_sign_off_is_refused_when_consent_was_withdrawn_after_the_instruction(client, db, case, today):
    report, path = to_approved(client, db, case, today)
    db.rollback()
    given = db.scalars(select(Consent)).one()
    given.withdrawn_date, given.withdrawal_recorded_by_id = today, _admin_id(db)
    db.commit()
    assert "no current consent" in client.get(f"{path}/sign").text
    response = sign(client, path, declaration="true")
    assert response.status_code == 422 and "consent for a medico-legal report has been withdrawn" in response.text
    assert the_report(db).state is ReportState.in_review and the_report(db).content_sha256 is None


def test_a_tampered_signed_report_is_shown_as_changed(client, db, engine, case, today):
    report, path = to_approved(client, db, case, today)
    assert sign(client, path, declaration="true").status_code == 303
    stored = the_report(db)
    kept = stored.content_sha256
    # Someone with the database and the keys rewrites a section, bypassing every page.
    stored.interpretation = "Not consistent."
    db.commit()
    shown = client.get(path).text
    assert "The stored content of this report has changed since it was signed." in shown
    assert kept in shown and "Not consistent." in shown
    [broken] = audit_events(db, "report.seal_broken")
    assert broken.details["kept"] == kept and broken.details["now"] != kept
    assert broken.person_id == case["person"].id
    # A plain column changed with SQL alone is caught too.
    stored = the_report(db)
    stored.interpretation = report.interpretation
    db.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE medicolegal_reports SET due_date = :day WHERE id = :id"),
                     {"day": today + timedelta(days=90), "id": report.id})
    assert seal.check(the_report(db)).state is seal.SealState.changed


# --- the PDF ----------------------------------------------------------------------------------------

def test_the_signed_report_pdf_is_tagged_and_holds_the_sections_and_the_hash(client, db, case, today):
    import io

    import pikepdf
    from pypdf import PdfReader

    report, path = to_approved(client, db, case, today)
    assert client.get(f"{path}.pdf").status_code == 404  # not signed yet
    assert sign(client, path, declaration="true").status_code == 303
    response = client.get(f"{path}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and case["person"].reference in disposition
    assert "Fictiva" not in disposition and "Reporta" not in disposition
    signed = the_report(db)
    reader = PdfReader(io.BytesIO(response.content))
    words = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    for heading in ("Case details", "The examiner's qualifications", "Physical signs and symptoms",
                    "Interpretation of findings and their consistency", "Conclusions and recommendations"):
        assert heading in words, heading
    assert "Three parallel linear scars" in words
    assert signed.content_sha256[:32] in words.replace(" ", "")
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert "/StructTreeRoot" in pdf.Root
        assert bool(pdf.Root.MarkInfo.Marked) is True
        assert str(pdf.Root.Lang).startswith("en")
        assert "Medico-legal report" in str(pdf.open_metadata().get("dc:title", ""))
    [event] = audit_events(db, "report.pdf_downloaded")
    assert event.details["content_sha256"] == signed.content_sha256


# --- service ---------------------------------------------------------------------------------------

def test_service_is_recorded_after_sign_off(client, db, case, today):
    report, path = to_approved(client, db, case, today)
    assert sign(client, path, declaration="true").status_code == 303
    future = post_form(client, f"{path}/served", {"served_date": str(today + timedelta(days=2)),
                                                  "version": version_of(client, path)}, form_page=path)
    assert future.status_code == 422 and 'id="f-served_date-error"' in future.text
    response = post_form(client, f"{path}/served", {"served_date": str(today), "outcome": "Appeal allowed.",
                                                    "version": version_of(client, path)}, form_page=path)
    assert response.status_code == 303
    served = the_report(db)
    assert served.state is ReportState.served and served.served_date == today and served.outcome == "Appeal allowed."
    assert seal.check(served).state is seal.SealState.intact  # service is not part of what was signed
    shown = client.get(path).text
    assert "Appeal allowed." in shown and "checked now: unchanged" in shown
    assert audit_events(db, "report.served")[0].details["served_date"] == today.isoformat()
