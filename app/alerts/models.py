"""Each open case's alert flags, kept so the caseload dashboard counts them without evaluating every rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class PersonAlertState(Base):
    """Which alerts fire for one person (a bit per rule, in the fixed order of app.alerts.state.FLAGS), valid
    until `valid_until`. Any change to the person's records sets `valid_until` to the past and adds one to
    `generation`; the next page that counts alerts recomputes stale rows first."""

    __tablename__ = "person_alert_states"
    __table_args__ = (
        Index("ix_person_alert_states_valid_until", "valid_until"),
        # The dashboard counts open cases per combination of flags from this index alone.
        Index("ix_person_alert_states_flags", "flags"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    flags: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_until: Mapped[datetime]
    computed_at: Mapped[datetime | None]
    # One more at every change to the case, so that flags computed before it are never stored over it.
    generation: Mapped[int] = mapped_column(default=0, server_default="0")
