"""HelpRequest: a request for help as it came in (by phone, e-mail, letter, in person or the online form), and
its triage decision. The person's details as given are sealed with the request's own data key, so a request
that never becomes a case is as protected as one that does, and deleting it shreds them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow


class Channel(enum.StrEnum):
    phone = "phone"
    email = "email"
    online_form = "online_form"
    letter = "letter"
    in_person = "in_person"


class RequesterKind(enum.StrEnum):
    self = "self"
    legal_representative = "legal_representative"
    visitor_group = "visitor_group"
    charity = "charity"
    healthcare = "healthcare"
    other = "other"


class Urgency(enum.StrEnum):
    immediate = "immediate"
    this_week = "this_week"
    routine = "routine"


class Need(enum.StrEnum):
    rule35 = "rule35"
    medico_legal_report = "medico_legal_report"
    clinical_concern = "clinical_concern"
    food_fluid_refusal = "food_fluid_refusal"
    removal_imminent = "removal_imminent"
    mental_health = "mental_health"
    other = "other"


class Decision(enum.StrEnum):
    accepted = "accepted"
    declined = "declined"
    signposted = "signposted"
    more_information = "more_information"


CHANNEL_LABELS = {Channel.phone: "Phone", Channel.email: "E-mail", Channel.online_form: "Online referral form",
                  Channel.letter: "Letter", Channel.in_person: "In person"}
REQUESTER_LABELS = {RequesterKind.self: "The person themselves",
                    RequesterKind.legal_representative: "A legal representative",
                    RequesterKind.visitor_group: "A visitor group", RequesterKind.charity: "Another charity",
                    RequesterKind.healthcare: "A healthcare worker", RequesterKind.other: "Someone else"}
URGENCY_LABELS = {Urgency.immediate: "Immediate", Urgency.this_week: "This week", Urgency.routine: "Routine"}
NEED_LABELS = {Need.rule35: "Rule 35 report", Need.medico_legal_report: "Medico-legal report",
               Need.clinical_concern: "Clinical concern", Need.food_fluid_refusal: "Food or fluid refusal",
               Need.removal_imminent: "Removal imminent", Need.mental_health: "Mental health",
               Need.other: "Something else"}
DECISION_LABELS = {Decision.accepted: "Accepted", Decision.declined: "Declined",
                   Decision.signposted: "Signposted", Decision.more_information: "More information needed"}
# The decisions that take a request out of the triage queue; "more information" leaves it waiting.
FINAL_DECISIONS = (Decision.accepted, Decision.declined, Decision.signposted)


class HelpRequest(Versioned, Base):
    __tablename__ = "requests"
    audit_type = "request"
    __table_args__ = (
        # The triage queue: requests still waiting, by urgency and age.
        Index("ix_requests_open_received_at", "urgency", "received_at",
              sqlite_where=text("decided_at IS NULL OR decision = 'more_information'"),
              postgresql_where=text("decided_at IS NULL OR decision = 'more_information'")),
        Index("ix_requests_person_id", "person_id"),
        Index("ix_requests_legal_representative_id", "legal_representative_id"),
        CheckConstraint("(decided_at IS NULL) = (decision IS NULL)", name="decided_at_with_decision"),
        CheckConstraint("(decided_at IS NULL) = (decided_by_id IS NULL)", name="decided_by_with_decided_at"),
        CheckConstraint("decision <> 'accepted' OR person_id IS NOT NULL", name="accepted_has_person"),
        CheckConstraint("decided_at IS NULL OR decided_at >= received_at", name="decided_after_received"),
        CheckConstraint("document_size IS NULL OR document_size >= 0", name="document_size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, like a person's: quoted on the telephone and safe in URLs.
    reference: Mapped[str] = mapped_column(String(11), unique=True)
    received_at: Mapped[datetime]
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "request_channel"))
    requester_kind: Mapped[RequesterKind] = mapped_column(str_enum(RequesterKind, "requester_kind"))
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, "request_urgency"))
    needs: Mapped[str] = mapped_column(String(200))  # the Need values, comma-separated, in declared order
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"))
    legal_representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_representatives.id", ondelete="RESTRICT"))
    # Who asked and how to call them back, the person's details as given, what they need: one sealed document.
    details_sealed: Mapped[bytes] = mapped_column("details", LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))  # None: online
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[Decision | None] = mapped_column(str_enum(Decision, "request_decision"))
    decision_note_sealed: Mapped[bytes | None] = mapped_column("decision_note", LargeBinary)
    signposted_to_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # An optional document sent with the online form, under the upload rules; sealed like the details.
    document_name: Mapped[str | None] = mapped_column(String(255))
    document_type: Mapped[str | None] = mapped_column(String(100))
    document_size: Mapped[int | None] = mapped_column(Integer)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_content_sealed: Mapped[bytes | None] = deferred(mapped_column("document_content", LargeBinary))

    details = SealedField("details_sealed", "requests.details", "json")
    decision_note = SealedField("decision_note_sealed", "requests.decision_note")
    document_content = SealedField("document_content_sealed", "requests.document_content", "bytes")

    @staticmethod
    def __sealed_key__(obj: Any, session: Session, write: bool) -> bytes:
        from app.crypto.keyring import request_key

        return request_key(session, obj, write)

    @property
    def need_list(self) -> list[Need]:
        return [Need(n) for n in self.needs.split(",") if n]
