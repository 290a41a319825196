"""Person (the case facts), Identity (kept apart, never read by reports) and Assignment tables."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow

if TYPE_CHECKING:
    from app.auth.models import User


class PersonStatus(enum.StrEnum):
    detained = "detained"
    released = "released"
    removed = "removed"
    unknown = "unknown"


class ClosingReason(enum.StrEnum):
    released_supported = "released_supported"
    removed = "removed"
    no_longer_needed = "no_longer_needed"
    lost_contact = "lost_contact"
    died = "died"
    other = "other"


CLOSING_REASON_LABELS = {
    ClosingReason.released_supported: "Released, and supported",
    ClosingReason.removed: "Removed from the UK",
    ClosingReason.no_longer_needed: "No longer needs our help",
    ClosingReason.lost_contact: "We lost contact",
    ClosingReason.died: "Died",
    ClosingReason.other: "Other reason",
}


class Sex(enum.StrEnum):
    female = "female"
    male = "male"
    intersex = "intersex"
    not_recorded = "not_recorded"


class BirthPrecision(enum.StrEnum):
    exact = "exact"  # full date known
    year = "year"  # only the year known
    approximate = "approximate"  # estimated year
    disputed = "disputed"  # age disputed by the Home Office or a local authority
    unknown = "unknown"


class AarIndicator(enum.StrEnum):
    """Adults at Risk indicators (caseworker guidance v10.0)."""

    mental_health = "mental_health"
    torture = "torture"
    sexual_gbv = "sexual_gbv"
    trafficking = "trafficking"
    ptsd = "ptsd"
    pregnancy = "pregnancy"
    physical_disability = "physical_disability"
    physical_illness = "physical_illness"
    aged_70_plus = "aged_70_plus"
    transsexual_intersex = "transsexual_intersex"

    @property
    def label(self) -> str:
        return AAR_INDICATOR_LABELS[self]


AAR_INDICATOR_LABELS = {
    AarIndicator.mental_health: "Mental health condition",
    AarIndicator.torture: "Victim of torture",
    AarIndicator.sexual_gbv: "Sexual or gender-based violence",
    AarIndicator.trafficking: "Victim of trafficking or modern slavery",
    AarIndicator.ptsd: "Post-traumatic stress disorder",
    AarIndicator.pregnancy: "Pregnancy",
    AarIndicator.physical_disability: "Serious physical disability",
    AarIndicator.physical_illness: "Other serious physical illness",
    AarIndicator.aged_70_plus: "Aged 70 or over",
    AarIndicator.transsexual_intersex: "Transsexual or intersex",
}


class AarLevelSource(enum.StrEnum):
    self_declared = "self_declared"
    professional_evidence = "professional_evidence"
    home_office = "home_office"


class Person(Versioned, Base):
    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint("aar_level IS NULL OR aar_level BETWEEN 1 AND 3", name="aar_level_range"),
        CheckConstraint("birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100", name="birth_year_range"),
        CheckConstraint("birth_precision <> 'exact' OR birth_date IS NOT NULL", name="exact_birth_has_date"),
        CheckConstraint("closed_date IS NULL OR closed_date >= opened_date", name="closed_after_opened"),
        CheckConstraint("length(nationality) = 2 OR nationality IS NULL", name="nationality_iso2"),
        Index("ix_people_status", "status"),
        # A coordinator's open cases (the work queue), in id order; also any lookup by lead alone.
        Index("ix_people_lead_coordinator_id_closed_date", "lead_coordinator_id", "closed_date"),
        Index("ix_people_closed_date", "closed_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, non-sequential, never derived from personal data: safe in URLs and on paper.
    reference: Mapped[str] = mapped_column(String(9), unique=True)
    status: Mapped[PersonStatus] = mapped_column(str_enum(PersonStatus, "person_status"))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"), default=Sex.not_recorded)
    gender_identity: Mapped[str | None] = mapped_column(String(60))
    nationality: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2; NULL when unknown
    stateless: Mapped[bool] = mapped_column(default=False, server_default=false())
    interpreter_needed: Mapped[bool] = mapped_column(default=False, server_default=false())
    birth_date: Mapped[date | None]
    birth_year: Mapped[int | None]
    birth_precision: Mapped[BirthPrecision] = mapped_column(
        str_enum(BirthPrecision, "birth_precision"), default=BirthPrecision.unknown
    )
    aar_level: Mapped[int | None]
    aar_level_date: Mapped[date | None]
    aar_level_source: Mapped[AarLevelSource | None] = mapped_column(str_enum(AarLevelSource, "aar_level_source"))
    lead_coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    opened_date: Mapped[date]
    closed_date: Mapped[date | None]
    # Set with closed_date and cleared with it when the case is reopened (the revisions keep both).
    closing_reason: Mapped[ClosingReason | None] = mapped_column(str_enum(ClosingReason, "closing_reason"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    identity: Mapped[Identity] = relationship(back_populates="person", lazy="raise", uselist=False)
    languages: Mapped[list[PersonLanguage]] = relationship(lazy="raise", cascade="all, delete-orphan")
    aar_indicators: Mapped[list[PersonAarIndicator]] = relationship(lazy="raise", cascade="all, delete-orphan")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="person", lazy="raise")
    lead_coordinator: Mapped[User | None] = relationship(lazy="raise")


class PersonLanguage(Base):
    __tablename__ = "person_languages"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(60), primary_key=True)
    is_main: Mapped[bool] = mapped_column(default=False)


class PersonAarIndicator(Base):
    __tablename__ = "person_aar_indicators"
    __table_args__ = (Index("ix_person_aar_indicators_indicator", "indicator"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    indicator: Mapped[AarIndicator] = mapped_column(str_enum(AarIndicator, "aar_indicator"), primary_key=True)
    recorded_date: Mapped[date | None]


class Identity(Base):
    """Names and official numbers. Kept out of the case table so that reports never touch them. Every field is
    sealed with the person's data key (app/crypto); the Home Office reference is also kept as a keyed hash so
    that search can find it."""

    __tablename__ = "identities"
    __table_args__ = (Index("ix_identities_home_office_reference_digest", "home_office_reference_digest"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    given_names_sealed: Mapped[bytes] = mapped_column("given_names", LargeBinary)
    family_name_sealed: Mapped[bytes] = mapped_column("family_name", LargeBinary)
    home_office_reference_sealed: Mapped[bytes | None] = mapped_column("home_office_reference", LargeBinary)
    home_office_reference_digest: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    port_reference_sealed: Mapped[bytes | None] = mapped_column("port_reference", LargeBinary)
    cid_number_sealed: Mapped[bytes | None] = mapped_column("cid_number", LargeBinary)
    other_numbers_sealed: Mapped[bytes | None] = mapped_column("other_numbers", LargeBinary)
    phone_in_detention_sealed: Mapped[bytes | None] = mapped_column("phone_in_detention", LargeBinary)

    given_names = SealedField("given_names_sealed", "identities.given_names")
    family_name = SealedField("family_name_sealed", "identities.family_name")
    home_office_reference = SealedField("home_office_reference_sealed", "identities.home_office_reference")
    port_reference = SealedField("port_reference_sealed", "identities.port_reference")
    cid_number = SealedField("cid_number_sealed", "identities.cid_number")
    other_numbers = SealedField("other_numbers_sealed", "identities.other_numbers")
    phone_in_detention = SealedField("phone_in_detention_sealed", "identities.phone_in_detention")

    person: Mapped[Person] = relationship(back_populates="identity", lazy="raise")
    aliases: Mapped[list[IdentityAlias]] = relationship(lazy="raise", cascade="all, delete-orphan")


class AliasKind(enum.StrEnum):
    alias = "alias"
    spelling = "spelling"  # another transliteration or spelling of the same name


class IdentityAlias(Base):
    __tablename__ = "identity_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("identities.person_id", ondelete="CASCADE"), index=True)
    name_sealed: Mapped[bytes] = mapped_column("name", LargeBinary)
    kind: Mapped[AliasKind] = mapped_column(str_enum(AliasKind, "alias_kind"), default=AliasKind.alias)

    name = SealedField("name_sealed", "identity_aliases.name")


class Assignment(Base):
    """A clinician's need-to-know link to a person. Ended assignments are kept for the record."""

    __tablename__ = "assignments"
    __table_args__ = (
        # One open assignment per clinician and person; ended ones stay as history.
        Index("uq_assignments_open_person_clinician", "person_id", "clinician_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_assignments_clinician_id_ended_at", "clinician_id", "ended_at"),
        CheckConstraint("ended_at IS NULL OR ended_at >= assigned_at", name="ended_after_assigned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(back_populates="assignments", lazy="raise")
    clinician: Mapped[User] = relationship(foreign_keys=[clinician_id], lazy="raise")


class PersonNameToken(Base):
    """Name search and the duplicate check look up these rows rather than the sealed names: for each part of a
    person's names and aliases (numbered in order, `token_no`), keyed hashes of its prefixes, of the whole part
    and of its sound (app/people/names.py). Without the index key they say nothing about the name."""

    __tablename__ = "person_name_tokens"
    __table_args__ = (Index("ix_person_name_tokens_digest", "digest"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    token_no: Mapped[int]


class EmergencyAccess(Base):
    """Break-glass: a clinician's time-limited access to a person not assigned to them, opened by the clinician
    with a reason and kept until a coordinator or administrator has reviewed it."""

    __tablename__ = "emergency_access_grants"
    audit_type = "emergency_access"
    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="expires_after_granted"),
        CheckConstraint("(reviewed_at IS NULL) = (reviewed_by_id IS NULL)", name="reviewed_by_and_at_together"),
        CheckConstraint("reviewed_at IS NULL OR reviewed_at >= granted_at", name="reviewed_after_granted"),
        # A clinician's access to one person is checked on every page they open under it.
        Index("ix_emergency_access_grants_clinician_person_expires", "clinician_id", "person_id", "expires_at"),
        # The coordinators' dashboard lists the ones still to review.
        Index("ix_emergency_access_grants_unreviewed", "granted_at",
              sqlite_where=text("reviewed_at IS NULL"), postgresql_where=text("reviewed_at IS NULL")),
        Index("ix_emergency_access_grants_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    reason_sealed: Mapped[bytes] = mapped_column("reason", LargeBinary)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    review_note_sealed: Mapped[bytes | None] = mapped_column("review_note", LargeBinary)

    # Why the record was opened, and the reviewer's note: free text that may say something about the person.
    reason = SealedField("reason_sealed", "emergency_access_grants.reason")
    review_note = SealedField("review_note_sealed", "emergency_access_grants.review_note")


class Handover(Base):
    """The lead coordinator passing a case to another, with a note for them. Kept for the record; the person's
    lead_coordinator_id says who leads it now."""

    __tablename__ = "handovers"
    __table_args__ = (
        Index("ix_handovers_person_id_handed_at", "person_id", "handed_at"),
        # "Handed to you" and "handed on by you" on a coordinator's home page.
        Index("ix_handovers_to_user_id_handed_at", "to_user_id", "handed_at"),
        Index("ix_handovers_from_user_id_handed_at", "from_user_id", "handed_at"),
        CheckConstraint("from_user_id IS NULL OR from_user_id <> to_user_id", name="to_someone_else"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))  # None: no lead
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    handed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    handed_at: Mapped[datetime] = mapped_column(default=utcnow)
    note_sealed: Mapped[bytes | None] = mapped_column("note", LargeBinary)

    note = SealedField("note_sealed", "handovers.note")


class LegalHold(Base):
    """An instruction that a person's record must be kept (litigation, an inquiry, a complaint): while one is
    open the record cannot be erased, by hand or by the retention policy. Lifted holds stay as history until
    the record itself is erased."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        # At most one open hold per person; lifted ones stay as history.
        Index("uq_legal_holds_open_person_id", "person_id", unique=True,
              sqlite_where=text("lifted_at IS NULL"), postgresql_where=text("lifted_at IS NULL")),
        Index("ix_legal_holds_person_id", "person_id"),
        CheckConstraint("(lifted_at IS NULL) = (lifted_by_id IS NULL)", name="lifted_has_who_and_when"),
        CheckConstraint("lifted_at IS NULL OR lifted_at >= set_at", name="lifted_after_set"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    reason_sealed: Mapped[bytes] = mapped_column("reason", LargeBinary)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    lifted_at: Mapped[datetime | None]

    reason = SealedField("reason_sealed", "legal_holds.reason")  # the claim or inquiry: may name the person
