"""PersonKey (each person's data key, wrapped) and IndexKey (the blind-index key, wrapped)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PersonKey(Base):
    """One person's data key, sealed by a master key. Deleting this row (it goes with the person) makes every
    sealed value of theirs unreadable, including copies in old backups: crypto-shredding."""

    __tablename__ = "person_keys"
    __table_args__ = (Index("ix_person_keys_master_key_id", "master_key_id"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None]


class IndexKey(Base):
    """The key of the keyed hashes that name search looks up. Random, sealed by a master key like the data keys,
    so that rotating the master key re-wraps it without rebuilding the name index."""

    __tablename__ = "index_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None]
