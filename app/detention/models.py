"""Facility, DetentionEpisode and Placement tables."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow


class FacilityType(enum.StrEnum):
    irc = "irc"
    sthf = "sthf"
    holding_room = "holding_room"
    prison = "prison"
    hospital = "hospital"
    other = "other"


FACILITY_TYPE_LABELS = {
    FacilityType.irc: "Immigration removal centre",
    FacilityType.sthf: "Short-term holding facility",
    FacilityType.holding_room: "Holding room",
    FacilityType.prison: "Prison",
    FacilityType.hospital: "Hospital",
    FacilityType.other: "Other",
}


class Facility(Base):
    __tablename__ = "facilities"
    __table_args__ = (
        CheckConstraint("closed_date IS NULL OR opened_date IS NULL OR closed_date >= opened_date",
                        name="closed_after_opened"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[FacilityType] = mapped_column(str_enum(FacilityType, "facility_type"))
    operator: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(80))
    opened_date: Mapped[date | None]
    closed_date: Mapped[date | None]
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class EndReason(enum.StrEnum):
    removed = "removed"
    granted_leave = "granted_leave"
    released_temporary_admission = "released_temporary_admission"
    bailed = "bailed"
    transferred_to_prison = "transferred_to_prison"
    hospital = "hospital"
    died = "died"
    other = "other"


END_REASON_LABELS = {
    EndReason.removed: "Removed from the UK", EndReason.granted_leave: "Granted leave to remain",
    EndReason.released_temporary_admission: "Released on immigration bail / temporary admission",
    EndReason.bailed: "Granted bail by the Tribunal", EndReason.transferred_to_prison: "Transferred to prison",
    EndReason.hospital: "Admitted to hospital", EndReason.died: "Died", EndReason.other: "Other",
}


class RemovalStatus(enum.StrEnum):
    set = "set"
    deferred = "deferred"
    cancelled = "cancelled"
    carried_out = "carried_out"


REMOVAL_STATUS_LABELS = {
    RemovalStatus.set: "Set", RemovalStatus.deferred: "Deferred", RemovalStatus.cancelled: "Cancelled",
    RemovalStatus.carried_out: "Carried out",
}


class HearingKind(enum.StrEnum):
    bail = "bail"
    appeal = "appeal"
    judicial_review = "judicial_review"
    other = "other"


HEARING_KIND_LABELS = {
    HearingKind.bail: "Bail hearing (First-tier Tribunal)", HearingKind.appeal: "Appeal",
    HearingKind.judicial_review: "Judicial review", HearingKind.other: "Other hearing",
}


class HearingOutcome(enum.StrEnum):
    granted = "granted"
    refused = "refused"
    allowed = "allowed"
    dismissed = "dismissed"
    adjourned = "adjourned"
    withdrawn = "withdrawn"


HEARING_OUTCOME_LABELS = {
    HearingOutcome.granted: "Granted", HearingOutcome.refused: "Refused", HearingOutcome.allowed: "Allowed",
    HearingOutcome.dismissed: "Dismissed", HearingOutcome.adjourned: "Adjourned",
    HearingOutcome.withdrawn: "Withdrawn",
}


class BailOutcome(enum.StrEnum):
    pending = "pending"
    granted = "granted"
    refused = "refused"
    withdrawn = "withdrawn"


class DetentionEpisode(Base):
    """One continuous period in detention. Transfers are placements inside it and never reset the clock."""

    __tablename__ = "detention_episodes"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("end_reason IS NULL OR end_date IS NOT NULL", name="end_reason_needs_end_date"),
        CheckConstraint(
            "last_bail_outcome IS NULL OR last_bail_application_date IS NOT NULL", name="bail_outcome_needs_date"
        ),
        Index("ix_detention_episodes_person_id_start_date", "person_id", "start_date"),
        # The clock assumes at most one current episode per person.
        Index("uq_detention_episodes_open_person", "person_id", unique=True,
              sqlite_where=text("end_date IS NULL"), postgresql_where=text("end_date IS NULL")),
        # Open episodes (end_date NULL) by start date: the detention-clock alerts scan these, and the people list
        # pages through them in this order (the person breaks ties, so no page needs a sort of its own). Two
        # forms, because each planner walks only one of them in order: SQLite the full index (end_date is an
        # equality to it), PostgreSQL the partial one (to which IS NULL says nothing about the order after it).
        Index("ix_detention_episodes_end_date_start_date_person_id", "end_date", "start_date", "person_id"),
        Index("ix_detention_episodes_open_start_date_person_id", "start_date", "person_id",
              sqlite_where=text("end_date IS NULL"), postgresql_where=text("end_date IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    end_reason: Mapped[EndReason | None] = mapped_column(str_enum(EndReason, "end_reason"))
    last_bail_application_date: Mapped[date | None]
    last_bail_outcome: Mapped[BailOutcome | None] = mapped_column(str_enum(BailOutcome, "bail_outcome"))
    notes_sealed: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    notes = SealedField("notes_sealed", "detention_episodes.notes")

    placements: Mapped[list[Placement]] = relationship(
        back_populates="episode", lazy="raise", cascade="all, delete-orphan", order_by="Placement.date_in"
    )


class Placement(Base):
    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("date_out IS NULL OR date_out >= date_in", name="out_after_in"),
        CheckConstraint("gp_exam_at IS NULL OR arrived_at IS NULL OR gp_exam_at >= arrived_at",
                        name="exam_after_arrival"),
        Index("ix_placements_episode_id_date_in", "episode_id", "date_in"),
        Index("ix_placements_facility_id_date_out", "facility_id", "date_out"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("detention_episodes.id", ondelete="CASCADE"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"))
    date_in: Mapped[date]
    date_out: Mapped[date | None]
    # Arrival time and the centre GP's examination: r.34 (24 h in an IRC) and STHF r.30 (2 h) are
    # checked against these after every transfer.
    arrived_at: Mapped[datetime | None]
    gp_exam_at: Mapped[datetime | None]

    episode: Mapped[DetentionEpisode] = relationship(back_populates="placements", lazy="raise")
    facility: Mapped[Facility] = relationship(lazy="raise")


class RemovalDirection(Versioned, Base):
    """A removal the Home Office has set for a person: when, how, where to, and what became of it."""

    __tablename__ = "removal_directions"
    __table_args__ = (
        Index("ix_removal_directions_person_id_removal_at", "person_id", "removal_at"),
        # removal_imminent looks for directions still set within the next hours, for everyone at once.
        Index("ix_removal_directions_status_removal_at", "status", "removal_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    removal_at: Mapped[datetime]
    # The airline and flight, or "charter": what the person and their lawyer need to act on.
    carrier: Mapped[str] = mapped_column(String(120))
    destination: Mapped[str] = mapped_column(String(120))
    status: Mapped[RemovalStatus] = mapped_column(str_enum(RemovalStatus, "removal_status"),
                                                  default=RemovalStatus.set)
    # Where we heard of it (the person, their solicitor, the Home Office letter): who to ask again.
    source: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Hearing(Versioned, Base):
    """A bail hearing, appeal or judicial review: when, where (or remote), and how it ended."""

    __tablename__ = "hearings"
    __table_args__ = (
        Index("ix_hearings_person_id_hearing_at", "person_id", "hearing_at"),
        # hearing_soon looks for hearings without an outcome in the next days, for everyone at once.
        Index("ix_hearings_outcome_hearing_at", "outcome", "hearing_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[HearingKind] = mapped_column(str_enum(HearingKind, "hearing_kind"))
    hearing_at: Mapped[datetime]
    venue: Mapped[str | None] = mapped_column(String(160))
    remote: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[HearingOutcome | None] = mapped_column(str_enum(HearingOutcome, "hearing_outcome"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
