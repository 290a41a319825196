"""MedicoLegalReport (instruction, papers, Istanbul Protocol Annex IV sections, peer review, sealed sign-off,
service), the versions kept of its sections, and the reviewer's comments."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow


class ReportState(enum.StrEnum):
    instructed = "instructed"
    drafting = "drafting"
    in_review = "in_review"  # approved once approved_at is set: then the author signs it off
    signed = "signed"
    served = "served"


# The Istanbul Protocol (2022), Annex IV: the sections of a medico-legal report, in their order.
SECTIONS = ("case_details", "qualifications", "allegations", "physical_findings", "psychological_findings",
            "interpretation", "recommendations")
PAPERS = ("interview_record", "witness_statement", "refusal_letter", "determination", "medical_records")
SIGNED_STATES = "state IN ('signed', 'served')"


class VersionReason(enum.StrEnum):
    started = "started"  # the draft built from the record
    saved = "saved"
    sent_for_review = "sent_for_review"


class MedicoLegalReport(Versioned, Base):
    __tablename__ = "medicolegal_reports"
    __table_args__ = (
        CheckConstraint("due_date >= received_date", name="due_after_received"),
        CheckConstraint(f"({SIGNED_STATES}) = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL "
                        "AND content_sha256 IS NOT NULL)", name="signed_fields_match_state"),
        CheckConstraint("(state = 'served') = (served_date IS NOT NULL)", name="served_date_when_served"),
        CheckConstraint("state NOT IN ('in_review', 'signed', 'served') OR reviewer_id IS NOT NULL",
                        name="reviewer_named"),
        CheckConstraint("reviewer_id IS NULL OR reviewer_id <> author_id", name="reviewer_not_author"),
        CheckConstraint("approved_at IS NULL OR state IN ('in_review', 'signed', 'served')",
                        name="approved_only_in_review"),
        CheckConstraint(f"NOT ({SIGNED_STATES}) OR approved_at IS NOT NULL", name="signed_after_approval"),
        Index("ix_medicolegal_reports_person_id_due_date", "person_id", "due_date"),
        # The report_overdue alert: unsigned reports by due date.
        Index("ix_medicolegal_reports_state_due_date", "state", "due_date"),
        Index("ix_medicolegal_reports_author_id", "author_id"),
        Index("ix_medicolegal_reports_reviewer_id", "reviewer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The visit the report is written from; the report stays if that draft visit is ever removed.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    # --- the instruction
    legal_representative_id: Mapped[int] = mapped_column(ForeignKey("legal_representatives.id", ondelete="RESTRICT"))
    questions_sealed: Mapped[bytes] = mapped_column("questions", LargeBinary)
    received_date: Mapped[date]
    due_date: Mapped[date]
    paper_interview_record: Mapped[bool] = mapped_column(default=False, server_default=false())
    paper_witness_statement: Mapped[bool] = mapped_column(default=False, server_default=false())
    paper_refusal_letter: Mapped[bool] = mapped_column(default=False, server_default=false())
    paper_determination: Mapped[bool] = mapped_column(default=False, server_default=false())
    paper_medical_records: Mapped[bool] = mapped_column(default=False, server_default=false())
    state: Mapped[ReportState] = mapped_column(str_enum(ReportState, "medicolegal_report_state"),
                                               default=ReportState.instructed)
    # --- the Annex IV sections, sealed with the person's key
    case_details_sealed: Mapped[bytes | None] = mapped_column("case_details", LargeBinary)
    qualifications_sealed: Mapped[bytes | None] = mapped_column("qualifications", LargeBinary)
    allegations_sealed: Mapped[bytes | None] = mapped_column("allegations", LargeBinary)
    physical_findings_sealed: Mapped[bytes | None] = mapped_column("physical_findings", LargeBinary)
    psychological_findings_sealed: Mapped[bytes | None] = mapped_column("psychological_findings", LargeBinary)
    interpretation_sealed: Mapped[bytes | None] = mapped_column("interpretation", LargeBinary)
    recommendations_sealed: Mapped[bytes | None] = mapped_column("recommendations", LargeBinary)
    # --- peer review and sign-off
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    review_round: Mapped[int] = mapped_column(default=0, server_default="0")
    approved_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    signed_at: Mapped[datetime | None]
    # The SHA-256 of what was signed, in the canonical form of app/medicolegal/seal.py.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    served_date: Mapped[date | None]
    outcome_sealed: Mapped[bytes | None] = mapped_column("outcome", LargeBinary)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questions = SealedField("questions_sealed", "medicolegal_reports.questions")
    case_details = SealedField("case_details_sealed", "medicolegal_reports.case_details")
    qualifications = SealedField("qualifications_sealed", "medicolegal_reports.qualifications")
    allegations = SealedField("allegations_sealed", "medicolegal_reports.allegations")
    physical_findings = SealedField("physical_findings_sealed", "medicolegal_reports.physical_findings")
    psychological_findings = SealedField("psychological_findings_sealed",
                                         "medicolegal_reports.psychological_findings")
    interpretation = SealedField("interpretation_sealed", "medicolegal_reports.interpretation")
    recommendations = SealedField("recommendations_sealed", "medicolegal_reports.recommendations")
    outcome = SealedField("outcome_sealed", "medicolegal_reports.outcome")

    def sections(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in SECTIONS}

    def papers(self) -> dict[str, bool]:
        return {name: bool(getattr(self, f"paper_{name}")) for name in PAPERS}


def _report_person(report_id: int | None, session: Session) -> int | None:
    report = session.get(MedicoLegalReport, report_id) if report_id is not None else None
    return report.person_id if report is not None else None


class MedicoLegalReportVersion(Base):
    """The sections as they stood each time the draft was started, saved or sent for review."""

    __tablename__ = "medicolegal_report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("medicolegal_reports.id", ondelete="CASCADE"))
    number: Mapped[int]
    reason: Mapped[VersionReason] = mapped_column(str_enum(VersionReason, "medicolegal_version_reason"))
    sections_sealed: Mapped[bytes] = mapped_column("sections", LargeBinary)
    saved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)

    sections = SealedField("sections_sealed", "medicolegal_report_versions.sections", kind="json")

    @staticmethod
    def __sealed_person__(version: MedicoLegalReportVersion, session: Session) -> int | None:
        return _report_person(version.report_id, session)


SECTION_KNOWN = "section IN ({})".format(", ".join(f"'{name}'" for name in SECTIONS))


class MedicoLegalReviewComment(Base):
    """A reviewer's comment on one section, in one round of review."""

    __tablename__ = "medicolegal_review_comments"
    __table_args__ = (
        CheckConstraint(SECTION_KNOWN, name="section_known"),
        Index("ix_medicolegal_review_comments_report_id_round", "report_id", "round"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("medicolegal_reports.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(40))
    round: Mapped[int]
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text_sealed: Mapped[bytes] = mapped_column("text", LargeBinary)

    text = SealedField("text_sealed", "medicolegal_review_comments.text")

    @staticmethod
    def __sealed_person__(comment: MedicoLegalReviewComment, session: Session) -> int | None:
        return _report_person(comment.report_id, session)
