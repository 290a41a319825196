"""Subject access export: one person's whole record as a ZIP of JSON, their documents and a readable PDF, made by a
coordinator or admin only, with the CSRF token, and recorded in the audit log."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role, User
from app.casefile import subject_access
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.contacts import service as contacts
from app.contacts.models import LegalRepresentative
from app.detention.models import Facility, Hearing, HearingKind, RemovalDirection
from app.evidence.models import (
    Consistency,
    Document,
    EvidenceItem,
    Finding,
    FindingDocument,
    LesionAge,
    LesionType,
    Rule35Limb,
    Rule35Record,
)
from app.health_events.models import HealthEvent, HealthEventKind
from app.intake import service as intake
from app.intake.models import Channel, Need, RequesterKind, Urgency
from app.medicolegal.letter_models import Letter, LetterState
from app.medicolegal.models import MedicoLegalReport, MedicoLegalReportVersion, MedicoLegalReviewComment
from app.people.models import AarIndicator, Handover
from app.referrals.models import Organisation, Referral, ReferralStatus
from app.reports.models import CaseNarrative
from app.visits.models import PlannedVisit, RiskLevel, Visit, VisitAddendum, VisitMode, VisitStatus
from app.work.models import CaseNote, CaseNoteAddendum, NoteKind, NoteWith, Task
from tests.conftest import page_csrf
from tests.evidence.conftest import PDF_BYTES, submit, upload

OTHER_MARKER = "Vesperine-other-person-marker"
OTHER_BYTES = PDF_BYTES.replace(b"%%EOF", b"% other person's scan\n%%EOF")


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def add_visit(db, person_id: int, clinician: User, text: str, on: date) -> Visit:  # type: ignore[no-untyped-def]
    visit = Visit(person_id=person_id, clinician_id=clinician.id, visit_date=on, mode=VisitMode.in_person,
                  presenting_concerns=f"Concerns {text}", findings=f"Findings {text}", risk=RiskLevel.moderate,
                  actions=f"Actions {text}", status=VisitStatus.signed, signed_at=datetime.now(UTC),
                  signed_by_id=clinician.id)
    db.add(visit)
    db.flush()
    db.add(VisitAddendum(visit_id=visit.id, author_id=clinician.id, text=f"Addendum {text}"))
    return visit


@pytest.fixture
def record(client, db, signed_in, make_user, make_person, today):  # type: ignore[no-untyped-def]
    """A coordinator signed in; a person with something in every section (and a PDF uploaded through the app);
    another person whose record must not leak into the export."""
    coordinator = signed_in(Role.coordinator, name="Cora Ordinate")
    clinician = make_user(Role.clinician, name="Dr Fictional Clinic")
    person = make_person("Zephyrine", "Quillfeather", detained_days=40, assigned_to=clinician,
                         aliases="Zefa Quill", languages="Tigrinya, English", aar_indicators=[AarIndicator.torture],
                         nationality="ER", birth_year=1990, birth_precision="year", home_office_reference="Q1234567")
    other = make_person("Vesperine", "Otherwood", detained_days=5, assigned_to=clinician)

    created = submit(client, f"/people/{person.reference}/evidence/new", {
        "kind": "medico_legal_report", "issued_date": str(today - timedelta(days=3)), "sensitivity": "high",
        "summary": "Summary of the medico-legal report", "overall_evaluation": "highly_consistent",
        "overall_evaluation_note": "Rests on the forearm scars"})
    assert created.status_code == 303
    item_page = created.headers["location"]
    assert upload(client, item_page + "/documents", "MLR scan.pdf", PDF_BYTES, page=item_page).status_code == 303

    db.rollback()
    item = db.scalars(select(EvidenceItem).where(EvidenceItem.person_id == person.id)).one()
    scan = db.scalar(select(Document.id).where(Document.evidence_item_id == item.id))
    db.add(Finding(evidence_item_id=item.id, body_region="left_forearm", description="Linear scars, 3 cm",
                   attributed_cause="Beating with a cable", consistency=Consistency.highly_consistent,
                   region_code="F-FOREARM-L", lesion_type=LesionType.scar, length_mm=30, shape="Linear",
                   colour="Pale", estimated_age=LesionAge.years, photographs=[FindingDocument(document_id=scan)]))
    visit = add_visit(db, person.id, clinician, "of Zephyrine", today - timedelta(days=2))
    # A document whose uploaded name is hostile: it must never become a path inside the ZIP.
    db.add(Document(person_id=person.id, visit_id=visit.id, original_filename="../../../etc/cron.d/evil.pdf",
                    content_type="application/pdf", size_bytes=len(PDF_BYTES) + 1,
                    sha256=hashlib.sha256(PDF_BYTES + b"\n").hexdigest(), content=PDF_BYTES + b"\n",
                    uploaded_by_id=clinician.id))
    db.add(RemovalDirection(person_id=person.id, removal_at=datetime.now(UTC) + timedelta(days=5),
                            carrier="Charter flight", destination="Fictional Republic", recorded_by_id=coordinator.id))
    db.add(Hearing(person_id=person.id, kind=HearingKind.appeal, hearing_at=datetime.now(UTC) + timedelta(days=9),
                   remote=True, recorded_by_id=coordinator.id))
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.food_refusal,
                       started_at=datetime.now(UTC) - timedelta(days=1), notes="Refusing food since the transfer",
                       recorded_by_id=clinician.id))
    db.add(Rule35Record(person_id=person.id, evidence_item_id=item.id, limb=Rule35Limb.torture,
                        author_name="Dr Centre GP", written_date=today - timedelta(days=3),
                        created_by_id=coordinator.id))
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.care_record, given_date=today - timedelta(days=30),
                   method=ConsentMethod.written, notes="Consent notes", recorded_by_id=coordinator.id))
    organisation = db.scalars(select(Organisation).order_by(Organisation.name)).first()
    db.add(Referral(person_id=person.id, organisation_id=organisation.id, reason="Needs legal advice",
                    made_by_id=coordinator.id, status=ReferralStatus.draft))
    db.add(CaseNarrative(person_id=person.id, pseudonym="Client Fictional-7", created_by_id=coordinator.id))
    note = CaseNote(person_id=person.id, kind=NoteKind.call, with_whom=NoteWith.organisation,
                    organisation_id=organisation.id, happened_at=datetime.now(UTC) - timedelta(days=2),
                    summary="Note summary for the test", recorded_by_id=coordinator.id)
    db.add(note)
    db.flush()
    db.add(CaseNoteAddendum(note_id=note.id, person_id=person.id, author_id=clinician.id,
                            text="Note addendum for the test"))
    db.add(Handover(person_id=person.id, to_user_id=coordinator.id, handed_by_id=coordinator.id,
                    note="Handover note for the test"))
    db.add(Task(person_id=person.id, title="Task title for the test", assignee_id=clinician.id,
                due_date=today + timedelta(days=2), from_alert="rule35_response_overdue", made_by_id=coordinator.id))
    db.add(Task(person_id=other.id, title=f"Task about {OTHER_MARKER}", assignee_id=coordinator.id,
                made_by_id=coordinator.id))
    brook_house = db.scalars(select(Facility.id).where(Facility.name == "Brook House")).one()
    db.add(PlannedVisit(person_id=person.id, clinician_id=clinician.id, facility_id=brook_house,
                        starts_at=datetime.now(UTC) + timedelta(days=3), interpreter_booked=True,
                        interpreter_language="Tigrinya", notes="Planned visit notes for the test",
                        made_by_id=coordinator.id))
    db.add(PlannedVisit(person_id=other.id, clinician_id=clinician.id, facility_id=brook_house,
                        starts_at=datetime.now(UTC) + timedelta(days=4), notes=f"Planned for {OTHER_MARKER}",
                        made_by_id=coordinator.id))
    db.add(Letter(person_id=person.id, template_key="healthcare-concern", title="Concern letter",
                  body="Letter text for the test", made_by_id=coordinator.id, state=LetterState.issued,
                  issued_by_id=coordinator.id, issued_at=datetime.now(UTC), content_sha256="0" * 64))
    db.add(Letter(person_id=other.id, template_key="fitness-to-fly", title="Fitness letter",
                  body=f"Letter about {OTHER_MARKER}", made_by_id=coordinator.id))
    representative = LegalRepresentative(firm="Quillon Law (fictional)", caseworker="Ada Testcase")
    db.add(representative)
    db.flush()
    contacts.set_current(db, coordinator.id, person.id, representative.id)
    report = MedicoLegalReport(person_id=person.id, author_id=clinician.id, legal_representative_id=representative.id,
                               questions="Report questions for the test", received_date=today,
                               due_date=today + timedelta(days=21), state="drafting", paper_refusal_letter=True,
                               allegations="Report allegations for the test", created_by_id=coordinator.id)
    db.add(report)
    db.flush()
    db.add(MedicoLegalReportVersion(report_id=report.id, number=1, reason="started", saved_by_id=clinician.id,
                                    sections={"allegations": "Report allegations for the test"}))
    db.add(MedicoLegalReviewComment(report_id=report.id, section="allegations", round=1, reviewer_id=coordinator.id,
                                    text="Review comment for the test"))
    request = intake.create(db, coordinator.id, intake.NewRequest(
        received_at=datetime.now(UTC) - timedelta(days=40), channel=Channel.email,
        requester_kind=RequesterKind.legal_representative, urgency=Urgency.this_week, needs=[Need.rule35],
        details={"family_name": "Zephyrine", "summary": "Request summary for the test"}))
    request.person_id = person.id

    other_visit = add_visit(db, other.id, clinician, OTHER_MARKER, today - timedelta(days=1))
    db.add(Document(person_id=other.id, visit_id=other_visit.id, original_filename=f"{OTHER_MARKER}.pdf",
                    content_type="application/pdf", size_bytes=len(OTHER_BYTES),
                    sha256=hashlib.sha256(OTHER_BYTES).hexdigest(), content=OTHER_BYTES, uploaded_by_id=clinician.id))
    db.add(Consent(person_id=other.id, purpose=ConsentPurpose.care_record, given_date=today,
                   method=ConsentMethod.verbal, notes=OTHER_MARKER, recorded_by_id=coordinator.id))
    db.commit()
    return person, other, coordinator, organisation


def export(client, reference: str):  # type: ignore[no-untyped-def]
    token = page_csrf(client, f"/people/{reference}")
    return client.post(f"/people/{reference}/subject-access", data={"csrf_token": token}, follow_redirects=False)


def test_coordinator_gets_the_whole_record_documents_and_a_readable_pdf(client, db, record):
    person, other, coordinator, organisation = record
    page = client.get(f"/people/{person.reference}")
    assert f'action="/people/{person.reference}/subject-access"' in page.text

    response = export(client, person.reference)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="subject-access-{person.reference}-')
    assert "Zephyrine" not in disposition and "Quillfeather" not in disposition

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    db.rollback()
    documents = list(db.scalars(select(Document).where(Document.person_id == person.id).order_by(Document.id)))
    assert len(documents) == 2
    expected_names = {"person.json", "summary.pdf"} | {f"documents/document-{d.id}.pdf" for d in documents}
    assert set(archive.namelist()) == expected_names

    raw = archive.read("person.json")
    data = json.loads(raw)
    assert json.loads(json.dumps(data)) == data
    assert data["schema"] == "casework.subject-access" and data["schema_version"] == subject_access.SCHEMA_VERSION
    assert data["sections"] == list(subject_access.SECTIONS)
    for section in subject_access.SECTIONS:
        assert section in data, section
        assert data[section], f"section {section} is empty although the record has one"
    assert data["reference"] == person.reference and data["generated_by"] == "Cora Ordinate"

    assert data["identity"]["given_names"] == "Zephyrine" and data["identity"]["family_name"] == "Quillfeather"
    assert data["identity"]["home_office_reference"] == "Q1234567"
    assert [a["name"] for a in data["aliases"]] == ["Zefa Quill"]
    assert data["languages"] == [{"language": "Tigrinya", "main": True}, {"language": "English", "main": False}]
    assert data["aar_indicators"][0]["indicator"] == "torture"
    assert data["person"]["nationality"] == "ER" and data["person"]["status"] == "detained"
    assert date.fromisoformat(data["person"]["opened_date"])  # ISO dates
    [episode] = data["detention_episodes"]
    assert episode["placements"][0]["facility"] == "Brook House"
    [representative] = data["legal_representatives"]
    assert (representative["firm"], representative["caseworker"], representative["ended_at"]) == (
        "Quillon Law (fictional)", "Ada Testcase", None)
    [handover] = data["handovers"]
    assert handover["note"] == "Handover note for the test" and handover["to"] == "Cora Ordinate"
    [request] = data["requests"]
    assert request["details"] == {"family_name": "Zephyrine", "summary": "Request summary for the test"}
    assert request["urgency"] == "this_week" and request["needs"] == "rule35"
    [visit] = data["visits"]
    assert visit["mode"] == "in_person" and visit["risk"] == "moderate" and visit["status"] == "signed"
    assert visit["findings"] == "Findings of Zephyrine" and visit["clinician"] == "Dr Fictional Clinic"
    assert visit["addenda"][0]["text"] == "Addendum of Zephyrine"
    assert datetime.fromisoformat(visit["signed_at"]).tzinfo is not None
    assert visit["document_ids"] == [documents[1].id]
    [item] = data["evidence_items"]
    assert item["kind"] == "medico_legal_report" and item["summary"] == "Summary of the medico-legal report"
    assert item["findings"][0]["consistency"] == "highly_consistent"
    assert item["findings"][0]["description"] == "Linear scars, 3 cm"
    assert item["overall_evaluation"] == "highly_consistent"
    assert item["overall_evaluation_note"] == "Rests on the forearm scars"
    assert item["findings"][0]["region"] == "Left forearm, front (inner side)"
    assert item["findings"][0]["region_code"] == "F-FOREARM-L" and item["findings"][0]["lesion_type"] == "scar"
    assert item["findings"][0]["shape"] == "Linear" and item["findings"][0]["estimated_age"] == "years"
    assert item["findings"][0]["photograph_document_ids"] == [documents[0].id]
    assert item["document_ids"] == [documents[0].id]
    assert data["rule35_records"][0]["limb"] == "35_3"
    assert data["health_events"][0]["kind"] == "food_refusal"
    assert data["consents"][0]["purpose"] == "care_record" and data["consents"][0]["recorded_by"] == "Cora Ordinate"
    assert data["referrals"][0]["organisation"] == organisation.name
    assert [a["clinician"] for a in data["assignments"]] == ["Dr Fictional Clinic"]
    [note] = data["case_notes"]
    assert (note["kind"], note["with_whom"], note["organisation"], note["summary"]) == (
        "call", "organisation", organisation.name, "Note summary for the test")
    assert [(a["text"], a["author"]) for a in note["addenda"]] == [
        ("Note addendum for the test", "Dr Fictional Clinic")]
    [task] = data["tasks"]
    assert (task["title"], task["assignee"], task["made_by"], task["from_alert"], task["done_at"]) == (
        "Task title for the test", "Dr Fictional Clinic", "Cora Ordinate", "rule35_response_overdue", None)
    [planned_visit] = data["planned_visits"]
    assert (planned_visit["facility"], planned_visit["clinician"], planned_visit["notes"], planned_visit["status"]) == (
        "Brook House", "Dr Fictional Clinic", "Planned visit notes for the test", "planned")
    [report] = data["medicolegal_reports"]
    assert (report["questions"], report["allegations"], report["state"], report["author"]) == (
        "Report questions for the test", "Report allegations for the test", "drafting", "Dr Fictional Clinic")
    assert report["papers_received"] == ["refusal_letter"]
    assert report["review_comments"][0]["text"] == "Review comment for the test"
    assert report["versions"][0]["sections"] == {"allegations": "Report allegations for the test"}
    [letter] = data["letters"]
    assert (letter["title"], letter["body"], letter["state"], letter["made_by"], letter["issued_by"]) == (
        "Concern letter", "Letter text for the test", "issued", "Cora Ordinate", "Cora Ordinate")
    assert {r["table_name"] for r in data["revisions"]} >= {"people", "evidence_items", "documents"}

    by_file = {d["file"]: d for d in data["documents"]}
    for document in documents:
        name = f"documents/document-{document.id}.pdf"
        assert archive.read(name) == document.content
        assert hashlib.sha256(archive.read(name)).hexdigest() == by_file[name]["sha256"]
    # The uploaded bytes come back exactly as they were sent.
    assert archive.read(f"documents/document-{documents[0].id}.pdf") == PDF_BYTES
    assert by_file[f"documents/document-{documents[0].id}.pdf"]["original_filename"] == "MLR scan.pdf"

    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages)
    assert "Zephyrine Quillfeather" in pdf_text
    assert "Findings of Zephyrine" in pdf_text and "Linear scars" in pdf_text
    assert f"Call with {organisation.name}" in pdf_text and "Note addendum for the test" in pdf_text
    assert "Task title for the test" in pdf_text
    assert "Planned visit notes for the test" in pdf_text
    assert "Letter text for the test" in pdf_text

    # Nothing about the other person anywhere in the export.
    assert OTHER_MARKER not in raw.decode() and "Otherwood" not in raw.decode()
    assert OTHER_MARKER not in pdf_text and "Otherwood" not in pdf_text
    assert all(archive.read(n) != OTHER_BYTES for n in archive.namelist())
    assert other.reference not in raw.decode()

    [event] = events(db, "person.subject_access_exported")
    assert event.person_id == person.id and event.actor_user_id == coordinator.id
    assert event.outcome is Outcome.success and event.object_id == person.reference
    assert event.details == {"documents": 2, "size_bytes": len(response.content),
                             "sha256": hashlib.sha256(response.content).hexdigest()}


def test_a_hostile_uploaded_name_never_becomes_a_path_in_the_zip(client, db, record):
    person = record[0]
    archive = zipfile.ZipFile(io.BytesIO(export(client, person.reference).content))
    for name in archive.namelist():
        assert ".." not in name and not name.startswith("/") and "\\" not in name and "evil" not in name
    data = json.loads(archive.read("person.json"))
    assert "../../../etc/cron.d/evil.pdf" in [d["original_filename"] for d in data["documents"]]


@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_other_roles_are_refused_and_the_refusal_recorded(client, db, make_person, make_user, signed_in, role):
    coordinator = make_user(Role.coordinator)
    user = signed_in(role)
    person = make_person("Refusa", "Fictivo", assigned_to=user if role is Role.clinician else None)
    if role is Role.clinician:
        # Even the clinician assigned to the person sees no button and is refused.
        page = client.get(f"/people/{person.reference}")
        assert page.status_code == 200 and "subject-access" not in page.text
        token = page_csrf(client, f"/people/{person.reference}")
    else:
        token = page_csrf(client, "/")
    response = client.post(f"/people/{person.reference}/subject-access", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 403
    assert "application/zip" not in response.headers.get("content-type", "")
    [refusal] = events(db, "security.permission_denied")
    assert refusal.actor_user_id == user.id and refusal.outcome is Outcome.denied
    # The first permission missing is recorded: a researcher may not see any person at all.
    assert refusal.details["permission"] == ("view_person" if role is Role.researcher else "export_subject_access")
    assert events(db, "person.subject_access_exported") == []
    assert coordinator.id != user.id


def test_without_the_csrf_token_nothing_is_exported(client, db, record):
    person = record[0]
    response = client.post(f"/people/{person.reference}/subject-access", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert events(db, "person.subject_access_exported") == []
    assert [e.details["reason"] for e in events(db, "security.csrf_rejected")] == ["missing token"]


def test_get_never_exports(client, db, record):
    person = record[0]
    assert client.get(f"/people/{person.reference}/subject-access").status_code == 405
    assert events(db, "person.subject_access_exported") == []


def test_an_export_over_the_size_limit_is_refused_before_reading_documents(client, db, record, monkeypatch):
    person = record[0]
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "subject_access_limit_mb", 10)
    monkeypatch.setattr(subject_access, "OVERHEAD_BYTES", 10 * 1024 * 1024)  # documents now tip it over
    read: list[int] = []
    monkeypatch.setattr(subject_access.evidence_service, "get_document",
                        lambda *args: read.append(1))  # type: ignore[func-returns-value]
    response = export(client, person.reference)
    assert response.status_code == 303 and response.headers["location"].endswith("#subject-access")
    assert read == []
    assert "more than the 10 MB" in client.get(response.headers["location"]).text
    assert events(db, "person.subject_access_exported") == []
    [refused] = events(db, "person.subject_access_refused")
    assert refused.person_id == person.id and refused.outcome is Outcome.failure
    assert refused.details["reason"] == "too_large" and refused.details["limit_bytes"] == 10 * 1024 * 1024


def test_an_admin_may_export_a_person_with_an_empty_record(client, db, signed_in, make_person):
    signed_in(Role.admin)
    person = make_person("Emptia", "Fictivo")
    response = export(client, person.reference)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"person.json", "summary.pdf"}
    data = json.loads(archive.read("person.json"))
    assert data["visits"] == [] and data["documents"] == [] and data["identity"]["given_names"] == "Emptia"
    assert len(events(db, "person.subject_access_exported")) == 1
