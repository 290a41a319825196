"""AuditEvent (who did what, when, from where, hash-chained), the chains' heads, and Revision (before/after of
every change to case records)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, str_enum, utcnow


class Outcome(enum.StrEnum):
    success = "success"
    failure = "failure"
    denied = "denied"


class AuditEvent(Base):
    # person_id deliberately has no foreign key: the record that an erased person was viewed or erased
    # must outlive the person's rows.
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_actor_user_id_occurred_at", "actor_user_id", "occurred_at"),
        Index("ix_audit_events_person_id_occurred_at", "person_id", "occurred_at"),
        Index("ix_audit_events_action_occurred_at", "action", "occurred_at"),
        # One row per position of a chain: two writers can never both commit a row after the same predecessor,
        # whatever happened to the head row's lock. Also the order `casework verify-audit` reads in.
        Index("uq_audit_events_chain", "chain_day", "chain_lane", "chain_seq", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "outcome"), default=Outcome.success)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    person_id: Mapped[int | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    correlation_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The tamper-evident chain (app/audit/chain.py), filled in at the flush. Nullable only because migration
    # 0020 added them to a table that SQLite could not rebuild without copying the whole log; every row is
    # chained (0020 backfilled the older ones) and verification treats a row without them as inserted.
    chain_day: Mapped[date | None]
    chain_lane: Mapped[int | None]  # the AuditChainHead id: a day has one lane per concurrent writer
    chain_seq: Mapped[int | None]  # 1, 2, 3 ... within the lane
    chain_hash: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256 hex of the previous hash and the row


class AuditChainHead(Base):
    """The end of one lane of the audit chain: the position of its last row. Writers lock a lane's head while
    they append to it (app/audit/chain.py), and verification checks that no row is missing after it. Not
    append-only: the head moves on with every row. It holds no hash: each link is keyed, so the rows' own hashes
    already show an edit of the last row."""

    __tablename__ = "audit_chain_heads"
    __table_args__ = (Index("ix_audit_chain_heads_chain_day", "chain_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_day: Mapped[date]
    last_seq: Mapped[int]


class RevisionAction(enum.StrEnum):
    insert = "insert"
    update = "update"
    delete = "delete"


class Revision(Base):
    """Before/after copies of case records. Unlike audit events these hold personal data, so erasing a
    person deletes them with the person (ON DELETE CASCADE)."""

    __tablename__ = "revisions"
    __table_args__ = (
        Index("ix_revisions_table_name_row_id", "table_name", "row_id"),
        Index("ix_revisions_person_id_occurred_at", "person_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    table_name: Mapped[str] = mapped_column(String(60))
    row_id: Mapped[int]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    action: Mapped[RevisionAction] = mapped_column(str_enum(RevisionAction, "revision_action"))
    before_sealed: Mapped[bytes | None] = mapped_column("before", LargeBinary)
    after_sealed: Mapped[bytes | None] = mapped_column("after", LargeBinary)

    # Copies of names and clinical text: sealed with the person's key when the revision is about a person.
    before = SealedField("before_sealed", "revisions.before", "json", person_optional=True)
    after = SealedField("after_sealed", "revisions.after", "json", person_optional=True)


import app.audit.chain  # noqa: E402,F401  (installs the flush hook that chains every new audit row)
