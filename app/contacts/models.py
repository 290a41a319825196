"""LegalRepresentative (a firm and, where known, its caseworker) and Representation (one acting for a person)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Versioned, utcnow


class LegalRepresentative(Versioned, Base):
    """A professional contact, not a detained person's data: kept plain, and never erased with a person (the
    link from the person goes with them). Archived rather than deleted, so older records still name them."""

    __tablename__ = "legal_representatives"
    audit_type = "legal_representative"
    __table_args__ = (Index("ix_legal_representatives_firm", "firm"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm: Mapped[str] = mapped_column(String(200))
    caseworker: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(400))
    legal_aid_contract: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.caseworker}, {self.firm}" if self.caseworker else self.firm


class Representation(Base):
    """A legal representative acting for a person, from when it was recorded until it ended (the firm changed, the
    case closed). At most one is current; ended ones stay as history."""

    __tablename__ = "representations"
    __table_args__ = (
        Index("uq_representations_current_person_id", "person_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_representations_legal_representative_id", "legal_representative_id"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ended_after_started"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    legal_representative_id: Mapped[int] = mapped_column(ForeignKey("legal_representatives.id", ondelete="RESTRICT"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
