"""Shared by the erasure and retention tests: a person with a row of every kind, and counting what is left."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.contacts import service as contacts
from app.contacts.models import LegalRepresentative
from app.db import Base
from app.detention.models import Facility, Hearing, HearingKind, RemovalDirection
from app.evidence.models import (
    Document,
    EvidenceItem,
    EvidenceKind,
    Finding,
    FindingDocument,
    LesionType,
    Rule35Limb,
    Rule35Record,
)
from app.health_events.models import HealthEvent, HealthEventKind
from app.imports.models import ImportRecord, ImportRun, RunStatus
from app.intake import service as intake
from app.intake.models import Channel, Need, RequesterKind, Urgency
from app.medicolegal.letter_models import Letter
from app.medicolegal.models import MedicoLegalReport, MedicoLegalReportVersion, MedicoLegalReviewComment
from app.people.models import Assignment, EmergencyAccess, Handover, LegalHold, Person
from app.referrals.models import NrmReferral, Organisation, Referral, ReferralStatus
from app.reports.models import CaseNarrative
from app.visits.models import PlannedVisit, Visit, VisitAarIndicator, VisitAddendum, VisitMode
from app.work.models import CaseNote, CaseNoteAddendum, NoteKind, NoteWith, Task

# The audit log is kept on purpose (append-only, no personal data); every other table with a person's id goes.
KEPT = frozenset({"audit_events"})


def person_tables() -> list[str]:
    """Every table with a person_id column, read from the schema so that a new one is checked too."""
    return [t.name for t in Base.metadata.sorted_tables if "person_id" in t.c and t.name not in KEPT]


def rows_of(db: Session, person_id: int) -> dict[str, int]:
    """Rows holding this person's id, per table (people by its own id)."""
    tables = Base.metadata.tables
    counts = {"people": db.scalar(select(func.count()).select_from(tables["people"])
                                  .where(tables["people"].c.id == person_id)) or 0}
    for name in person_tables():
        counts[name] = db.scalar(select(func.count()).select_from(tables[name])
                                 .where(tables[name].c.person_id == person_id)) or 0
    return counts


def table_totals(db: Session) -> dict[str, int]:
    return {t.name: db.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


@pytest.fixture
def full_record(db, make_person, today):  # type: ignore[no-untyped-def]
    """A person (fictional) with at least one row of every kind a record holds, including the rows that reach
    the person only through another (placements, findings, addenda, NRM details). Returns (person, child ids)."""

    def make(given: str, family: str, **fields) -> tuple[Person, dict[str, list[int]]]:  # type: ignore[no-untyped-def]
        db.rollback()  # a fresh snapshot: the app may have written since this session last read
        clinician = User(email=f"clin-{family.lower()}@example.org", display_name=f"Dr {family} Clinician",
                         role=Role.clinician, password_hash="x")
        db.add(clinician)
        db.commit()
        person = make_person(given, family, detained_days=30, assigned_to=clinician, aliases=f"{given} Alias",
                             languages="Tigrinya, Arabic", aar_indicators=["torture"], **fields)
        pid = person.id
        author = db.scalars(select(User).where(User.role == Role.admin)).first()
        assert author is not None
        at = datetime.now(UTC) - timedelta(days=3)
        on = today - timedelta(days=3)
        visit = Visit(person_id=pid, clinician_id=clinician.id, visit_date=on, mode=VisitMode.in_person)
        item = EvidenceItem(person_id=pid, kind=EvidenceKind.medico_legal_report, created_by_id=author.id)
        note = CaseNote(person_id=pid, kind=NoteKind.call, with_whom=NoteWith.home_office, happened_at=at,
                        summary=f"Chased the Home Office about {given} {family}", recorded_by_id=author.id)
        db.add_all([visit, item, note])
        db.flush()
        db.add_all([
            VisitAarIndicator(visit_id=visit.id, indicator="torture"),
            VisitAddendum(visit_id=visit.id, author_id=clinician.id, text=f"Addendum about {given} {family}"),
            CaseNoteAddendum(note_id=note.id, person_id=pid, author_id=author.id, text=f"Called back: {family}"),
            Finding(evidence_item_id=item.id, body_region="left_forearm", description="Linear scars"),
            Finding(evidence_item_id=item.id, body_region="Left forearm, front (inner side)",
                    region_code="F-FOREARM-L", lesion_type=LesionType.scar, length_mm=40, width_mm=3,
                    shape="Linear", colour="Pale", description=f"Scar photographed for {family}"),
            Document(person_id=pid, evidence_item_id=item.id, original_filename=f"{family}-report.pdf",
                     content_type="application/pdf", size_bytes=4, sha256=hashlib.sha256(b"%PDF").hexdigest(),
                     content=b"%PDF", uploaded_by_id=author.id),

            Rule35Record(person_id=pid, evidence_item_id=item.id, limb=Rule35Limb.torture, written_date=on,
                         created_by_id=author.id),
            HealthEvent(person_id=pid, kind=HealthEventKind.self_harm, started_at=at, recorded_by_id=author.id),
            RemovalDirection(person_id=pid, removal_at=at + timedelta(days=10), carrier="Charter",
                             destination=f"Capital of {family}land", recorded_by_id=author.id),
            Hearing(person_id=pid, kind=HearingKind.bail, hearing_at=at, venue="Fictional Hearing Centre",
                    recorded_by_id=author.id),
            Consent(person_id=pid, purpose=ConsentPurpose.anonymised_research, given_date=on,
                    method=ConsentMethod.verbal, recorded_by_id=author.id),
            CaseNarrative(person_id=pid, pseudonym=f"Pseudonym {family}", created_by_id=author.id),
            LegalHold(person_id=pid, reason=f"Old claim of {family}", set_by_id=author.id, set_at=at,
                      lifted_by_id=author.id, lifted_at=at + timedelta(hours=1)),
            EmergencyAccess(clinician_id=clinician.id, person_id=pid, reason=f"Night call about {family}",
                            granted_at=at, expires_at=at + timedelta(hours=4)),
            Handover(person_id=pid, to_user_id=author.id, handed_by_id=author.id, note=f"Over to you: {family}"),
            Task(person_id=pid, title=f"Chase the Home Office about {family}", assignee_id=author.id,
                 due_date=today + timedelta(days=2), from_alert="rule35_response_overdue", made_by_id=author.id),
            PlannedVisit(person_id=pid, clinician_id=clinician.id, starts_at=at + timedelta(days=5),
                         facility_id=db.scalars(select(Facility.id).order_by(Facility.id)).first(),
                         interpreter_booked=True, interpreter_language="Tigrinya",
                         interpreter_name=f"Interpreter for {family}", notes=f"Ask for {given} at the gate",
                         made_by_id=author.id),
            Letter(person_id=pid, template_key="healthcare-concern", title="Concern letter",
                   body=f"Dear team, about {given} {family}", made_by_id=author.id),
        ])
        representative = LegalRepresentative(firm=f"{family} Law (fictional)")
        db.add(representative)
        db.flush()
        contacts.set_current(db, author.id, pid, representative.id)
        report = MedicoLegalReport(person_id=pid, author_id=clinician.id, legal_representative_id=representative.id,
                                   visit_id=visit.id, questions=f"Questions about {given} {family}", received_date=on,
                                   due_date=on + timedelta(days=21), allegations=f"Account of {given} {family}",
                                   created_by_id=author.id)
        db.add(report)
        db.flush()
        db.add_all([
            MedicoLegalReportVersion(report_id=report.id, number=1, reason="started", saved_by_id=clinician.id,
                                     sections={"allegations": f"Account of {given} {family}"}),
            MedicoLegalReviewComment(report_id=report.id, section="allegations", round=1, reviewer_id=author.id,
                                     text=f"Comment on {family}"),
        ])
        request = intake.create(db, author.id, intake.NewRequest(
            received_at=at, channel=Channel.phone, requester_kind=RequesterKind.self, urgency=Urgency.routine,
            needs=[Need.clinical_concern], details={"family_name": family, "summary": f"{given} needs a doctor"}))
        request.person_id = pid
        organisation = db.scalars(select(Organisation).order_by(Organisation.id)).first()
        assert organisation is not None
        referral = Referral(person_id=pid, organisation_id=organisation.id, made_by_id=author.id,
                            status=ReferralStatus.sent, made_date=on)
        db.add(referral)
        db.flush()
        db.add(NrmReferral(referral_id=referral.id, reasonable_grounds_date=on))
        photographed = db.scalar(select(Finding.id).where(Finding.evidence_item_id == item.id,
                                                          Finding.region_code.is_not(None)))
        photograph = db.scalar(select(Document.id).where(Document.evidence_item_id == item.id))
        db.add(FindingDocument(finding_id=photographed, document_id=photograph))
        # The record came in from a spreadsheet: the import's entry for it goes with the person, its run stays.
        run = ImportRun(file_sha256="0" * 64, file_kind="csv", row_count=1, column_count=2,
                        status=RunStatus.completed, uploaded_by_id=author.id)
        db.add(run)
        db.flush()
        db.add(ImportRecord(run_id=run.id, table_name="people", record_id=pid, person_id=pid, version=1))
        db.commit()
        children = {
            "placements": list(db.scalars(select(Base.metadata.tables["placements"].c.id).where(
                Base.metadata.tables["placements"].c.episode_id.in_(
                    select(Base.metadata.tables["detention_episodes"].c.id)
                    .where(Base.metadata.tables["detention_episodes"].c.person_id == pid))))),
            "findings": list(db.scalars(select(Finding.id).where(Finding.evidence_item_id == item.id))),
            "finding_documents": [photographed],
            "visit_addenda": list(db.scalars(select(VisitAddendum.id).where(VisitAddendum.visit_id == visit.id))),
            "visit_aar_indicators": [visit.id],
            "nrm_referrals": [referral.id],
            "identity_aliases": [pid],
            "medicolegal_report_versions": list(db.scalars(select(MedicoLegalReportVersion.id).where(
                MedicoLegalReportVersion.report_id == report.id))),
            "medicolegal_review_comments": list(db.scalars(select(MedicoLegalReviewComment.id).where(
                MedicoLegalReviewComment.report_id == report.id))),
        }
        assert db.scalar(select(func.count()).select_from(Assignment).where(Assignment.person_id == pid)) == 1
        return person, children

    return make


def children_left(db: Session, children: dict[str, list[int]]) -> dict[str, int]:
    tables = Base.metadata.tables
    key = {"placements": "id", "findings": "id", "finding_documents": "finding_id", "visit_addenda": "id",
           "visit_aar_indicators": "visit_id",
           "nrm_referrals": "referral_id", "identity_aliases": "person_id", "medicolegal_report_versions": "id",
           "medicolegal_review_comments": "id"}
    return {name: db.scalar(select(func.count()).select_from(tables[name])
                            .where(tables[name].c[key[name]].in_(ids))) or 0
            for name, ids in children.items()}


def days_ago(today: date, days: int) -> date:
    return today - timedelta(days=days)
