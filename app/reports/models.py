"""SummaryRelease: the record of everything published, exactly as it was published."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow


class ReleaseKind(enum.StrEnum):
    aggregate = "aggregate"
    narrative = "narrative"


class SummaryRelease(Base):
    __tablename__ = "summary_releases"
    __table_args__ = (
        CheckConstraint("population_size >= 0", name="population_non_negative"),
        CheckConstraint("override_reason IS NULL OR overridden_by_id IS NOT NULL", name="override_has_admin"),
        Index("ix_summary_releases_created_at", "created_at"),
        Index("ix_summary_releases_period", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReleaseKind] = mapped_column(str_enum(ReleaseKind, "release_kind"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # SHA-256 over the sorted ids of the people counted: lets a later release be compared without
    # publishing who was counted.
    population_fingerprint: Mapped[str] = mapped_column(String(64))
    population_size: Mapped[int]
    output_format: Mapped[str] = mapped_column(String(10))
    output_sha256: Mapped[str] = mapped_column(String(64))
    output: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The sorted ids of the people counted (zlib-compressed little-endian uint32): what the differencing guard
    # compares a new release against. Ids only, never anything that names a person.
    population_ids: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # The period an aggregate release covers (None for a narrative): what links it to the releases it overlaps.
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    # {"tables": [...]}: every table as published and the true counts behind it. The cumulative audit reads what
    # was published (what a reader holds) and the true counts (a solution the reader's system is known to have).
    # Counts of groups only, never anything about one person; None for releases made before the lattice.
    tables: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    # What each counted person contributed, as sorted (id, 64-bit digest of everything counted about them) pairs,
    # zlib-compressed: the differencing guard compares contributions, not only who was counted.
    contributions: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class NarrativeStatus(enum.StrEnum):
    draft = "draft"
    awaiting_approval = "awaiting_approval"
    released = "released"


NARRATIVE_STATUS_LABELS = {
    NarrativeStatus.draft: "Draft",
    NarrativeStatus.awaiting_approval: "Awaiting approval",
    NarrativeStatus.released: "Released",
}


class CaseNarrative(Versioned, Base):
    """A de-identified account of one consenting person's case. While a draft it is rebuilt from the record on
    every view; submitting freezes the scrubbed content, and only that frozen content is ever approved, shown to
    researchers or exported."""

    __tablename__ = "case_narratives"
    __table_args__ = (
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> created_by_id", name="approver_not_author"),
        CheckConstraint("status = 'draft' OR content IS NOT NULL", name="submitted_has_content"),
        CheckConstraint("status <> 'released' OR approved_by_id IS NOT NULL", name="released_is_approved"),
        Index("ix_case_narratives_person_id", "person_id"),
        Index("ix_case_narratives_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # Random, never derived from the person: the only name the narrative carries.
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[NarrativeStatus] = mapped_column(str_enum(NarrativeStatus, "narrative_status"),
                                                    default=NarrativeStatus.draft)
    keep_facility: Mapped[bool] = mapped_column(default=False, server_default=false())
    extra_redactions_sealed: Mapped[bytes] = mapped_column("extra_redactions", LargeBinary)
    content_sealed: Mapped[bytes | None] = mapped_column("content", LargeBinary)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None]

    # Words the coordinator asked to remove name the person; the frozen content is de-identified, but sealed too
    # so that erasing the person's key erases it.
    extra_redactions = SealedField("extra_redactions_sealed", "case_narratives.extra_redactions", "json")
    content = SealedField("content_sealed", "case_narratives.content", "json")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("extra_redactions", [])
        super().__init__(**kwargs)
