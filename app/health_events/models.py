"""HealthEvent table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, str_enum, utcnow


class HealthEventKind(enum.StrEnum):
    self_harm = "self_harm"
    acdt_opened = "acdt_opened"
    acdt_closed = "acdt_closed"
    food_refusal = "food_refusal"
    fluid_refusal = "fluid_refusal"
    segregation = "segregation"
    use_of_force = "use_of_force"
    hospital_transfer = "hospital_transfer"
    missed_appointment = "missed_appointment"


class HealthEvent(Base):
    __tablename__ = "health_events"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="end_after_start"),
        Index("ix_health_events_person_id_started_at", "person_id", "started_at"),
        Index("ix_health_events_kind_ended_at", "kind", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[HealthEventKind] = mapped_column(str_enum(HealthEventKind, "health_event_kind"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    notes_sealed: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    notes = SealedField("notes_sealed", "health_events.notes")
