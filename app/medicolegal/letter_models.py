"""The letters table: a letter filled from a template and the record, edited as a draft, then issued and sealed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow


class LetterState(enum.StrEnum):
    draft = "draft"
    issued = "issued"


class Letter(Versioned, Base):
    """One letter about a person. The template's key and title are kept as used, so that a template changed or
    removed later leaves the letter as it was. An issued letter never changes: its body is sealed with the SHA-256
    of its canonical form (app/medicolegal/letters.py)."""

    __tablename__ = "letters"
    __table_args__ = (
        CheckConstraint("(state = 'issued') = (issued_at IS NOT NULL)", name="issued_at_when_issued"),
        CheckConstraint("(state = 'issued') = (issued_by_id IS NOT NULL)", name="issued_by_when_issued"),
        CheckConstraint("(state = 'issued') = (content_sha256 IS NOT NULL)", name="sealed_when_issued"),
        Index("ix_letters_person_id_made_at", "person_id", "made_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    template_key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    # The filled and edited text: names, dates and clinical concerns, sealed with the person's key.
    body_sealed: Mapped[bytes] = mapped_column("body", LargeBinary)
    state: Mapped[LetterState] = mapped_column(str_enum(LetterState, "letter_state"), default=LetterState.draft)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    issued_at: Mapped[datetime | None]
    content_sha256: Mapped[str | None] = mapped_column(String(64))

    body = SealedField("body_sealed", "letters.body")
