"""EvidenceItem, Finding, Document and Rule35Record tables."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.crypto.fields import SealedField
from app.db import Base, str_enum, utcnow
from app.evidence.body_regions import CODE_LENGTH, CODES


class EvidenceKind(enum.StrEnum):
    rule35_report = "rule35_report"
    medico_legal_report = "medico_legal_report"
    gp_records = "gp_records"
    hospital_letter = "hospital_letter"
    psychiatric_report = "psychiatric_report"
    photographs = "photographs"
    body_map = "body_map"
    home_office_response = "home_office_response"
    other = "other"


class Sensitivity(enum.StrEnum):
    standard = "standard"
    high = "high"  # e.g. photographs of scars, sexual violence


class Consistency(enum.StrEnum):
    """Istanbul Protocol levels of consistency between a finding and the attributed cause."""

    not_consistent = "not_consistent"
    consistent = "consistent"
    highly_consistent = "highly_consistent"
    typical = "typical"
    diagnostic = "diagnostic"


class LesionType(enum.StrEnum):
    abrasion = "abrasion"
    bruise = "bruise"
    laceration = "laceration"
    scar = "scar"
    burn = "burn"
    incised_wound = "incised_wound"
    puncture = "puncture"
    fracture_deformity = "fracture_deformity"
    pigmentation_change = "pigmentation_change"
    other = "other"


class LesionAge(enum.StrEnum):
    """How old a lesion is estimated to be, in the broad ranges a clinician can stand behind."""

    recent = "recent"  # less than 2 weeks
    weeks = "weeks"  # 2 to 6 weeks
    months = "months"  # 6 weeks to 6 months
    over_6_months = "over_6_months"  # 6 to 12 months
    years = "years"  # more than a year


MEDICO_LEGAL_ONLY = "overall_evaluation IS NULL OR kind = 'medico_legal_report'"
REGION_CODE_KNOWN = "region_code IN ({})".format(", ".join(f"'{code}'" for code in CODES))
SIZE_LIMIT_MM = 2000


class EvidenceItem(Base):
    __tablename__ = "evidence_items"
    __table_args__ = (
        CheckConstraint("received_date IS NULL OR issued_date IS NULL OR received_date >= issued_date",
                        name="received_after_issued"),
        Index("ix_evidence_items_person_id_kind", "person_id", "kind"),
        # The Istanbul Protocol's overall evaluation of the evidence is the conclusion of a medico-legal report.
        CheckConstraint(MEDICO_LEGAL_ONLY, name="evaluation_on_medico_legal_report"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind, "evidence_kind"))
    author_sealed: Mapped[bytes | None] = mapped_column("author", LargeBinary)
    issued_date: Mapped[date | None]
    received_date: Mapped[date | None]
    summary_sealed: Mapped[bytes | None] = mapped_column("summary", LargeBinary)
    sensitivity: Mapped[Sensitivity] = mapped_column(str_enum(Sensitivity, "sensitivity"),
                                                     default=Sensitivity.standard)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    overall_evaluation: Mapped[Consistency | None] = mapped_column(str_enum(Consistency, "overall_evaluation"))
    overall_evaluation_note_sealed: Mapped[bytes | None] = mapped_column("overall_evaluation_note", LargeBinary)

    author = SealedField("author_sealed", "evidence_items.author")
    summary = SealedField("summary_sealed", "evidence_items.summary")
    overall_evaluation_note = SealedField("overall_evaluation_note_sealed", "evidence_items.overall_evaluation_note")

    findings: Mapped[list[Finding]] = relationship(lazy="raise", cascade="all, delete-orphan")


class Finding(Base):
    """One lesion or symptom recorded in an evidence item, placed on a coded body region.

    `body_region` is the site in words. Findings recorded before coded regions have only that (a key of the old
    list, or free text) and no `region_code`; a coded finding keeps its region's label there, so every reader of
    the site (narratives, the history of changes) has words for it."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_evidence_item_id_body_region", "evidence_item_id", "body_region"),
        CheckConstraint(REGION_CODE_KNOWN, name="region_code_known"),
        CheckConstraint(f"length_mm IS NULL OR length_mm BETWEEN 1 AND {SIZE_LIMIT_MM}", name="length_mm_range"),
        CheckConstraint(f"width_mm IS NULL OR width_mm BETWEEN 1 AND {SIZE_LIMIT_MM}", name="width_mm_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"))
    body_region: Mapped[str] = mapped_column(String(60))
    description_sealed: Mapped[bytes] = mapped_column("description", LargeBinary)
    attributed_cause_sealed: Mapped[bytes | None] = mapped_column("attributed_cause", LargeBinary)
    consistency: Mapped[Consistency | None] = mapped_column(str_enum(Consistency, "consistency"))
    region_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    lesion_type: Mapped[LesionType | None] = mapped_column(str_enum(LesionType, "lesion_type"))
    length_mm: Mapped[int | None]
    width_mm: Mapped[int | None]
    shape_sealed: Mapped[bytes | None] = mapped_column("shape", LargeBinary)
    colour_sealed: Mapped[bytes | None] = mapped_column("colour", LargeBinary)
    estimated_age: Mapped[LesionAge | None] = mapped_column(str_enum(LesionAge, "lesion_age"))

    description = SealedField("description_sealed", "findings.description")
    attributed_cause = SealedField("attributed_cause_sealed", "findings.attributed_cause")
    shape = SealedField("shape_sealed", "findings.shape")
    colour = SealedField("colour_sealed", "findings.colour")

    # Links only: removing a finding removes its links (explicitly, and by the foreign key), never the photographs.
    photographs: Mapped[list[FindingDocument]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                              passive_deletes=True,
                                                              order_by="FindingDocument.document_id")

    @staticmethod
    def __sealed_person__(finding: Finding, session: Session) -> int | None:
        item = session.get(EvidenceItem, finding.evidence_item_id) if finding.evidence_item_id is not None else None
        return item.person_id if item is not None else None


class Document(Base):
    """An uploaded file. Bytes live in the database so one backup holds everything and erasure is complete."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("(evidence_item_id IS NULL) <> (visit_id IS NULL)", name="one_parent"),
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        Index("ix_documents_person_id", "person_id"),
        Index("ix_documents_evidence_item_id", "evidence_item_id"),
        Index("ix_documents_visit_id", "visit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # person_id is repeated from the parent so that access checks and erasure need no join.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    evidence_item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    # Shown to users only, never used as a path.
    original_filename_sealed: Mapped[bytes] = mapped_column("original_filename", LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_sealed: Mapped[bytes] = mapped_column("content", LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    original_filename = SealedField("original_filename_sealed", "documents.original_filename")
    content = SealedField("content_sealed", "documents.content", "bytes")


class FindingDocument(Base):
    """A photograph of a finding: an image uploaded to the same evidence item."""

    __tablename__ = "finding_documents"
    __table_args__ = (Index("ix_finding_documents_document_id", "document_id"),)

    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)


class Rule35Limb(enum.StrEnum):
    health_injuriously_affected = "35_1"
    suicidal_intentions = "35_2"
    torture = "35_3"


RULE35_LIMB_LABELS = {
    Rule35Limb.health_injuriously_affected: "Rule 35(1): health likely to be injuriously affected",
    Rule35Limb.suicidal_intentions: "Rule 35(2): suspected suicidal intentions",
    Rule35Limb.torture: "Rule 35(3): torture concern",
}


class Rule35Outcome(enum.StrEnum):
    detention_maintained = "detention_maintained"
    released = "released"
    no_response = "no_response"


class Rule35Record(Base):
    __tablename__ = "rule35_records"
    __table_args__ = (
        CheckConstraint("sent_date IS NULL OR sent_date >= written_date", name="sent_after_written"),
        CheckConstraint("response_date IS NULL OR (sent_date IS NOT NULL AND response_date >= sent_date)",
                        name="response_after_sent"),
        CheckConstraint("aar_level_given IS NULL OR aar_level_given BETWEEN 1 AND 3", name="aar_level_range"),
        CheckConstraint("outcome IS NULL OR outcome = 'no_response' OR response_date IS NOT NULL",
                        name="decision_has_response_date"),
        CheckConstraint("sent_date IS NULL OR consent_to_send", name="sent_only_with_consent"),
        Index("ix_rule35_records_person_id_limb", "person_id", "limb"),
        # Sent reports still waiting for a Home Office response: the overdue alert scans these.
        Index("ix_rule35_records_response_date_sent_date", "response_date", "sent_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    evidence_item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id", ondelete="SET NULL"))
    limb: Mapped[Rule35Limb] = mapped_column(str_enum(Rule35Limb, "rule35_limb"))
    author_name_sealed: Mapped[bytes | None] = mapped_column("author_name", LargeBinary)  # the IRC GP who wrote it
    written_date: Mapped[date]
    sent_date: Mapped[date | None]
    consent_to_send: Mapped[bool] = mapped_column(default=False, server_default=false())
    response_date: Mapped[date | None]
    outcome: Mapped[Rule35Outcome | None] = mapped_column(str_enum(Rule35Outcome, "rule35_outcome"))
    aar_level_given: Mapped[int | None]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author_name = SealedField("author_name_sealed", "rule35_records.author_name")
