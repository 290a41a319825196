"""Visit (draft, then signed and never edited), the AAR indicators it observed, and addenda."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow
from app.people.models import AarIndicator


class VisitMode(enum.StrEnum):
    in_person = "in_person"
    phone = "phone"
    video = "video"
    legal_visit_room = "legal_visit_room"


class RiskLevel(enum.StrEnum):
    none = "none"
    low = "low"
    moderate = "moderate"
    high = "high"


class VisitStatus(enum.StrEnum):
    draft = "draft"
    signed = "signed"


class Visit(Versioned, Base):
    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 1440",
                        name="duration_range"),
        CheckConstraint("follow_up_date IS NULL OR follow_up_date >= visit_date", name="follow_up_after_visit"),
        CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name="signed_fields_match_status",
        ),
        CheckConstraint("NOT interpreter_used OR interpreter_language IS NOT NULL", name="interpreter_language_given"),
        CheckConstraint("content_sha256 IS NULL OR status = 'signed'", name="seal_only_when_signed"),
        Index("ix_visits_person_id_visit_date", "person_id", "visit_date"),
        Index("ix_visits_clinician_id_visit_date", "clinician_id", "visit_date"),
        Index("ix_visits_follow_up_date", "follow_up_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    visit_date: Mapped[date]
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"))
    mode: Mapped[VisitMode] = mapped_column(str_enum(VisitMode, "visit_mode"))
    interpreter_used: Mapped[bool] = mapped_column(default=False, server_default=false())
    interpreter_language: Mapped[str | None] = mapped_column(String(60))
    duration_minutes: Mapped[int | None]
    presenting_concerns_sealed: Mapped[bytes | None] = mapped_column("presenting_concerns", LargeBinary)
    findings_sealed: Mapped[bytes | None] = mapped_column("findings", LargeBinary)
    risk: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel, "risk_level"))
    actions_sealed: Mapped[bytes | None] = mapped_column("actions", LargeBinary)
    follow_up_date: Mapped[date | None]
    status: Mapped[VisitStatus] = mapped_column(str_enum(VisitStatus, "visit_status"), default=VisitStatus.draft)
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The SHA-256 of what was signed, in the canonical form of app/visits/seal.py; None for a draft, and for a
    # visit signed before visits were sealed.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    presenting_concerns = SealedField("presenting_concerns_sealed", "visits.presenting_concerns")
    findings = SealedField("findings_sealed", "visits.findings")
    actions = SealedField("actions_sealed", "visits.actions")

    aar_indicators: Mapped[list[VisitAarIndicator]] = relationship(lazy="raise", cascade="all, delete-orphan")
    addenda: Mapped[list[VisitAddendum]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="VisitAddendum.created_at"
    )


class VisitAarIndicator(Base):
    __tablename__ = "visit_aar_indicators"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    indicator: Mapped[AarIndicator] = mapped_column(str_enum(AarIndicator, "aar_indicator"), primary_key=True)


class VisitAddendum(Base):
    """A correction or addition to a signed visit; the visit itself is never edited once signed."""

    __tablename__ = "visit_addenda"
    __table_args__ = (Index("ix_visit_addenda_visit_id_created_at", "visit_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text_sealed: Mapped[bytes] = mapped_column("text", LargeBinary)

    text = SealedField("text_sealed", "visit_addenda.text")

    @staticmethod
    def __sealed_person__(addendum: VisitAddendum, session: Session) -> int | None:
        visit = session.get(Visit, addendum.visit_id) if addendum.visit_id is not None else None
        return visit.person_id if visit is not None else None


class PlannedVisitStatus(enum.StrEnum):
    planned = "planned"
    cancelled = "cancelled"
    logged = "logged"  # made into a draft visit (visit_id)


class PlannedVisit(Versioned, Base):
    """A visit booked ahead: who visits whom, where and when, the legal-visit booking and the interpreter. "Log this
    visit" turns it into a draft Visit (visit_id) once the day has come."""

    __tablename__ = "planned_visits"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="duration_range"),
        CheckConstraint("(status = 'logged') = (visit_id IS NOT NULL)", name="logged_with_visit"),
        CheckConstraint("NOT interpreter_booked OR interpreter_language IS NOT NULL",
                        name="interpreter_language_given"),
        Index("ix_planned_visits_person_id_starts_at", "person_id", "starts_at"),
        # The week calendars: everyone's by time, and a clinician's own.
        Index("ix_planned_visits_starts_at", "starts_at"),
        Index("ix_planned_visits_clinician_id_starts_at", "clinician_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(default=60)
    booking_reference: Mapped[str | None] = mapped_column(String(40))
    interpreter_booked: Mapped[bool] = mapped_column(default=False, server_default=false())
    interpreter_language: Mapped[str | None] = mapped_column(String(60))
    # A third party's contact details and the notes for the visitor: sealed with the person's key.
    interpreter_name_sealed: Mapped[bytes | None] = mapped_column("interpreter_name", LargeBinary)
    interpreter_phone_sealed: Mapped[bytes | None] = mapped_column("interpreter_phone", LargeBinary)
    notes_sealed: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    status: Mapped[PlannedVisitStatus] = mapped_column(str_enum(PlannedVisitStatus, "planned_visit_status"),
                                                       default=PlannedVisitStatus.planned)
    # The draft made by "log this visit"; erased with it (and with the person).
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    made_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)

    interpreter_name = SealedField("interpreter_name_sealed", "planned_visits.interpreter_name")
    interpreter_phone = SealedField("interpreter_phone_sealed", "planned_visits.interpreter_phone")
    notes = SealedField("notes_sealed", "planned_visits.notes")
