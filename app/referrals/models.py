"""Organisation, Referral and NrmReferral tables."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import SealedField
from app.db import Base, str_enum, utcnow


class OrganisationType(enum.StrEnum):
    legal = "legal"
    bail = "bail"
    nrm_first_responder = "nrm_first_responder"
    torture_rehabilitation = "torture_rehabilitation"
    mental_health = "mental_health"
    gp_health = "gp_health"
    safeguarding = "safeguarding"
    visitors = "visitors"
    other = "other"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    type: Mapped[OrganisationType] = mapped_column(str_enum(OrganisationType, "organisation_type"))
    contact: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class ReferralStatus(enum.StrEnum):
    draft = "draft"
    sent = "sent"
    accepted = "accepted"
    declined = "declined"
    completed = "completed"
    no_response = "no_response"


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("response_date IS NULL OR made_date IS NULL OR response_date >= made_date",
                        name="response_after_made"),
        CheckConstraint("status = 'draft' OR made_date IS NOT NULL", name="made_date_unless_draft"),
        CheckConstraint("follow_up_date IS NULL OR made_date IS NULL OR follow_up_date >= made_date",
                        name="follow_up_after_made"),
        Index("ix_referrals_person_id_made_date", "person_id", "made_date"),
        Index("ix_referrals_status_follow_up_date", "status", "follow_up_date"),
        Index("ix_referrals_organisation_id", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", LargeBinary)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    made_date: Mapped[date | None]
    status: Mapped[ReferralStatus] = mapped_column(str_enum(ReferralStatus, "referral_status"),
                                                  default=ReferralStatus.draft)
    response_date: Mapped[date | None]
    outcome_sealed: Mapped[bytes | None] = mapped_column("outcome", LargeBinary)
    follow_up_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reason = SealedField("reason_sealed", "referrals.reason")
    outcome = SealedField("outcome_sealed", "referrals.outcome")

    organisation: Mapped[Organisation] = relationship(lazy="raise")
    nrm: Mapped[NrmReferral | None] = relationship(lazy="raise", uselist=False, cascade="all, delete-orphan")


class NrmDecision(enum.StrEnum):
    positive = "positive"
    negative = "negative"
    withdrawn = "withdrawn"


class NrmReferral(Base):
    """National Referral Mechanism details that extend a referral."""

    __tablename__ = "nrm_referrals"
    __table_args__ = (
        CheckConstraint("reasonable_grounds_outcome IS NULL OR reasonable_grounds_date IS NOT NULL",
                        name="rg_outcome_needs_date"),
        CheckConstraint("conclusive_grounds_outcome IS NULL OR conclusive_grounds_date IS NOT NULL",
                        name="cg_outcome_needs_date"),
        CheckConstraint("conclusive_grounds_date IS NULL OR reasonable_grounds_date IS NULL "
                        "OR conclusive_grounds_date >= reasonable_grounds_date", name="cg_after_rg"),
        Index("ix_nrm_referrals_reasonable_grounds_date", "reasonable_grounds_date"),
    )

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True)
    first_responder_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    reasonable_grounds_date: Mapped[date | None]
    reasonable_grounds_outcome: Mapped[NrmDecision | None] = mapped_column(str_enum(NrmDecision, "rg_decision"))
    conclusive_grounds_date: Mapped[date | None]
    conclusive_grounds_outcome: Mapped[NrmDecision | None] = mapped_column(str_enum(NrmDecision, "cg_decision"))
