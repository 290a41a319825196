"""Demo medico-legal reports: after the bulk load, a few reports at each stage (instructed, drafting, in review,
approved, signed, served) for cases with consent to a report, most written by clinician@, made through the
models so that sections, versions, comments and seals are exactly what the pages would store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.consent.service import people_consenting
from app.contacts.models import LegalRepresentative
from app.medicolegal import seal, service
from app.medicolegal.models import (
    MedicoLegalReport,
    MedicoLegalReportVersion,
    MedicoLegalReviewComment,
    ReportState,
    VersionReason,
)
from app.people.models import Assignment, Person

# One report per stage for clinician@, the rest cycled over the other authors' cases.
# Ordered so that a small demo still has a report to show, review and edit.
STAGES = ("signed", "in_review", "drafting", "approved", "served", "instructed", "returned")
LIMIT = 12
QUESTIONS = ("Are the scars on the back consistent with the account of beatings in detention?\n"
             "What is the person's current mental state, and is it affected by detention?")


def seed(session: Session, today: date) -> tuple[int, int]:
    """Add the demo reports (flushed; the caller commits): (reports, consents recorded for them). A small demo
    has too few people consenting to a report for one of each stage: assigned cases without that consent are
    then given one, recorded before the instruction, as a real instruction would need."""
    users = {email: user_id for email, user_id in session.execute(select(User.email, User.id))}
    clinician, coordinator = users.get("clinician@example.org"), users.get("coordinator@example.org")
    rep_ids = list(session.scalars(select(LegalRepresentative.id).where(LegalRepresentative.archived_at.is_(None))
                                   .order_by(LegalRepresentative.id).limit(20)))
    if coordinator is None or not rep_ids:
        return 0, 0
    consenting = people_consenting(ConsentPurpose.medico_legal_report, today)

    def assigned(*where: Any, limit: int) -> list[tuple[int, int]]:
        rows = session.execute(
            select(Person.id, Assignment.clinician_id).join(Assignment, Assignment.person_id == Person.id)
            .where(Assignment.ended_at.is_(None), *where)
            .order_by((Assignment.clinician_id == clinician).desc(), Person.id).limit(limit))
        return [(person_id, author_id) for person_id, author_id in rows]

    cases = assigned(Person.id.in_(consenting), limit=LIMIT)
    consented = 0
    if len({person_id for person_id, _ in cases}) < len(STAGES):
        for person_id, author_id in assigned(Person.id.not_in(consenting), limit=len(STAGES)):
            if any(person_id == taken for taken, _ in cases):
                continue  # a second assignment of a case already taken
            session.add(Consent(person_id=person_id, purpose=ConsentPurpose.medico_legal_report,
                                given_date=today - timedelta(days=45), method=ConsentMethod.written,
                                recorded_by_id=coordinator, recorded_at=_at(today - timedelta(days=45), 10)))
            cases.append((person_id, author_id))
            consented += 1
        session.flush()
    seen: set[int] = set()
    made = 0
    for person_id, author_id in cases:
        if person_id in seen:
            continue
        seen.add(person_id)
        _report(session, person_id, author_id, coordinator, rep_ids[made % len(rep_ids)],
                STAGES[made % len(STAGES)], today, made)
        made += 1
    session.flush()
    return made, consented


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def _report(db: Session, person_id: int, author_id: int, reviewer_id: int, rep_id: int, stage: str, today: date,
            n: int) -> None:
    person = db.get(Person, person_id)
    author = db.get(User, author_id)
    if person is None or author is None:
        return
    # Two in five are instructed long enough ago to be overdue unless signed (report_overdue shows on them).
    received = today - timedelta(days=30 if n % 5 in (1, 3) else 6)
    report = MedicoLegalReport(person_id=person_id, author_id=author_id, legal_representative_id=rep_id,
                               questions=QUESTIONS, received_date=received, due_date=received + timedelta(days=21),
                               paper_interview_record=True, paper_refusal_letter=n % 2 == 0,
                               paper_medical_records=n % 3 == 0, state=ReportState.instructed,
                               created_by_id=reviewer_id, created_at=_at(received, 10))
    db.add(report)
    db.flush()
    if stage == "instructed":
        return
    for name, text in service.draft_from_record(db, person, report, author).items():
        setattr(report, name, text)
    report.qualifications = (f"{author.display_name}: a (fictional) general practitioner trained in the Istanbul "
                             "Protocol, with five years' experience of documenting torture.")
    report.state = ReportState.drafting
    _version(db, report, author_id, 1, VersionReason.started, received)
    if stage == "drafting":
        return
    report.reviewer_id, report.review_round, report.state = reviewer_id, 1, ReportState.in_review
    _version(db, report, author_id, 2, VersionReason.sent_for_review, received + timedelta(days=3))
    if stage == "returned":
        db.add(MedicoLegalReviewComment(report_id=report.id, section="interpretation", round=1,
                                        reviewer_id=reviewer_id, created_at=_at(received + timedelta(days=4), 11),
                                        text="Say which Istanbul Protocol level each finding reaches, and why."))
        report.state = ReportState.drafting
        return
    if stage == "in_review":
        return
    report.approved_at = _at(received + timedelta(days=4), 15)
    if stage == "approved":
        return
    report.state, report.signed_by_id = ReportState.signed, author_id
    report.signed_at = _at(received + timedelta(days=5), 9)
    report.content_sha256 = seal.digest(report)
    if stage == "served":
        report.state, report.served_date = ReportState.served, received + timedelta(days=6)
        report.outcome = "Served on the Home Office with the further submissions; decision awaited."


def _version(db: Session, report: MedicoLegalReport, by: int, number: int, reason: VersionReason, day: date) -> None:
    db.add(MedicoLegalReportVersion(report_id=report.id, number=number, reason=reason, saved_by_id=by,
                                    saved_at=_at(day, 12), sections={k: v or "" for k, v in report.sections().items()}))
