"""SummaryRelease: the record of everything published, exactly as it was published."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, str_enum, utcnow


class ReleaseKind(enum.StrEnum):
    aggregate = "aggregate"
    narrative = "narrative"


class SummaryRelease(Base):
    __tablename__ = "summary_releases"
    __table_args__ = (
        CheckConstraint("population_size >= 0", name="population_non_negative"),
        CheckConstraint("override_reason IS NULL OR overridden_by_id IS NOT NULL", name="override_has_admin"),
        Index("ix_summary_releases_created_at", "created_at"),
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
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
