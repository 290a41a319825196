"""CaseNote (the contact log, never edited: addenda only), Task, and SentMessage (every reminder e-mail sent)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.fields import SealedField
from app.db import Base, Versioned, str_enum, utcnow


class NoteKind(enum.StrEnum):
    call = "call"
    email = "email"
    letter = "letter"
    meeting = "meeting"


class NoteWith(enum.StrEnum):
    person = "person"
    representative = "representative"
    centre_healthcare = "centre_healthcare"
    home_office = "home_office"
    organisation = "organisation"
    other = "other"


NOTE_KIND_LABELS = {NoteKind.call: "Call", NoteKind.email: "E-mail", NoteKind.letter: "Letter",
                    NoteKind.meeting: "Meeting"}
NOTE_WITH_LABELS = {NoteWith.person: "The person", NoteWith.representative: "Their legal representative",
                    NoteWith.centre_healthcare: "The centre's healthcare team", NoteWith.home_office: "The Home Office",
                    NoteWith.organisation: "An organisation", NoteWith.other: "Someone else"}


class CaseNote(Base):
    """A call, e-mail, letter or meeting about a case: with whom, when, and a summary. Never edited once saved;
    a correction is an addendum, as for a signed visit."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_person_id_happened_at", "person_id", "happened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[NoteKind] = mapped_column(str_enum(NoteKind, "note_kind"))
    with_whom: Mapped[NoteWith] = mapped_column(str_enum(NoteWith, "note_with"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    happened_at: Mapped[datetime]
    summary_sealed: Mapped[bytes] = mapped_column("summary", LargeBinary)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    summary = SealedField("summary_sealed", "case_notes.summary")


class CaseNoteAddendum(Base):
    __tablename__ = "case_note_addenda"
    __table_args__ = (Index("ix_case_note_addenda_note_id_created_at", "note_id", "created_at"),
                      Index("ix_case_note_addenda_person_id", "person_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("case_notes.id", ondelete="CASCADE"))
    # The note's person, kept on the row so that sealing, erasure and scope need no join.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text_sealed: Mapped[bytes] = mapped_column("text", LargeBinary)

    text = SealedField("text_sealed", "case_note_addenda.text")


class Task(Versioned, Base):
    """Something one user is to do, by a date, about a case or not. `from_alert` names the alert rule it was
    made from, so the alert can say a task is already open for it."""

    __tablename__ = "tasks"
    __table_args__ = (
        # A user's open tasks, by due date: the work queue.
        Index("ix_tasks_open_assignee_due", "assignee_id", "due_date",
              sqlite_where=text("done_at IS NULL"), postgresql_where=text("done_at IS NULL")),
        Index("ix_tasks_person_id", "person_id"),
        CheckConstraint("(done_at IS NULL) = (done_by_id IS NULL)", name="done_by_with_done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # Sealed with the person's key when the task is about a person; kept plain (as JSON) when it is not.
    title_sealed: Mapped[bytes] = mapped_column("title", LargeBinary)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    due_date: Mapped[date | None]
    from_alert: Mapped[str | None] = mapped_column(String(40))
    made_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    title = SealedField("title_sealed", "tasks.title", "json", person_optional=True)


class MessageKind(enum.StrEnum):
    digest = "digest"
    immediate = "immediate"


class SentMessage(Base):
    """A reminder e-mail sent (or that failed). `key` says what it was about (the digest of a day, or one urgent
    event at one threshold), so that running the sender twice sends nothing twice. The body holds references,
    counts and links only, never names or clinical text, so it is kept as sent."""

    __tablename__ = "sent_messages"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_sent_messages_user_id_key"),
                      Index("ix_sent_messages_sent_at", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"))
    key: Mapped[str] = mapped_column(String(120))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str | None] = mapped_column(String(400))  # None: accepted by the SMTP server
