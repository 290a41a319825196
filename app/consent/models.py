"""Consent table."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, str_enum, utcnow


class ConsentPurpose(enum.StrEnum):
    care_record = "care_record"
    share_with_organisation = "share_with_organisation"
    home_office_submission = "home_office_submission"
    medico_legal_report = "medico_legal_report"
    anonymised_research = "anonymised_research"


class ConsentMethod(enum.StrEnum):
    verbal_with_interpreter = "verbal_with_interpreter"
    verbal = "verbal"
    written_with_interpreter = "written_with_interpreter"
    written = "written"


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("withdrawn_date IS NULL OR withdrawn_date >= given_date", name="withdrawn_after_given"),
        CheckConstraint(
            "(purpose = 'share_with_organisation') = (organisation_id IS NOT NULL)",
            name="organisation_iff_sharing",
        ),
        CheckConstraint("(withdrawn_date IS NULL) = (withdrawal_recorded_by_id IS NULL)",
                        name="withdrawal_has_recorder"),
        CheckConstraint("method NOT IN ('verbal_with_interpreter', 'written_with_interpreter') "
                        "OR interpreter_language IS NOT NULL", name="interpreter_language_given"),
        # Research and sharing features ask "is there a current consent of purpose P?" at the moment they act.
        Index("ix_consents_purpose_withdrawn_date_person_id", "purpose", "withdrawn_date", "person_id"),
        Index("ix_consents_person_id_purpose", "person_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose, "consent_purpose"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    given_date: Mapped[date]
    method: Mapped[ConsentMethod] = mapped_column(str_enum(ConsentMethod, "consent_method"))
    interpreter_language: Mapped[str | None] = mapped_column(String(60))
    notes_sealed: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    notes = SealedField("notes_sealed", "consents.notes")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_date: Mapped[date | None]
    withdrawal_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
