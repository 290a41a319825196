"""Case notes, the contact log: recording a call, e-mail, letter or meeting, adding addenda (a note is never
changed once saved), and the person page's list of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.audit import revisions
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings
from app.dates import format_date
from app.db import utcnow
from app.errors import RuleBroken
from app.people.models import Person
from app.referrals import service as referrals
from app.referrals.models import Organisation
from app.work.models import NOTE_KIND_LABELS, NOTE_WITH_LABELS, CaseNote, CaseNoteAddendum, NoteKind, NoteWith
from app.work.schemas import NoteForm

# A contact can come before the record is opened (a call about a request for help still being triaged); one
# earlier than this is a mistyped year.
BEFORE_OPENING = timedelta(days=30)
# The browser's clock and ours may differ by a little; a time minutes ahead is "just now", not the future.
CLOCK_SLACK = timedelta(minutes=5)
# The person page shows the latest notes; the subject access export holds all of them.
SHOWN = 50

_FIELDS = ("kind", "with_whom", "organisation_id", "happened_at", "summary", "recorded_by_id", "recorded_at")
# How a note reads in a sentence: "Call with the Home Office", "Letter to or from their legal representative".
_KIND_PHRASES = {NoteKind.call: "Call with", NoteKind.email: "E-mail with", NoteKind.letter: "Letter to or from",
                 NoteKind.meeting: "Meeting with"}


def with_whom_words(with_whom: NoteWith, organisation: str | None = None) -> str:
    if with_whom is NoteWith.organisation and organisation:
        return organisation
    label = NOTE_WITH_LABELS[with_whom]
    return label[:1].lower() + label[1:]


def title(kind: NoteKind, with_whom: NoteWith, organisation: str | None = None) -> str:
    return f"{_KIND_PHRASES[kind]} {with_whom_words(with_whom, organisation)}"


def _snapshot(note: CaseNote) -> dict[str, Any]:
    return {name: getattr(note, name) for name in _FIELDS}


def _check(db: Session, person: Person, data: NoteForm, now: datetime) -> None:
    errors: dict[str, str] = {}
    if data.happened_at > now + CLOCK_SLACK:
        errors["happened_at"] = "The time cannot be in the future."
    else:
        earliest = person.opened_date - BEFORE_OPENING
        if data.happened_at.astimezone(get_settings().zone).date() < earliest:
            errors["happened_at"] = (f"The date must be on or after {format_date(earliest)}: this record was "
                                     f"opened on {format_date(person.opened_date)}.")
    if data.with_whom is NoteWith.organisation:
        organisation = (referrals.get_organisation(db, data.organisation_id)
                        if data.organisation_id is not None else None)
        if organisation is None or not organisation.is_active:
            errors["organisation_id"] = "Choose the organisation from the list."
    elif data.organisation_id is not None:
        errors["organisation_id"] = "Choose an organisation only when the contact was with an organisation."
    if not data.summary.strip():
        errors["summary"] = "Enter a summary."
    if errors:
        raise RuleBroken(errors)


def record(db: Session, actor: User, person: Person, data: NoteForm, *, now: datetime | None = None) -> CaseNote:
    """A new note. It is never changed afterwards: a correction is an addendum. Nothing else in the record
    changes with it, so the person's version stays where it is and no open form elsewhere goes stale."""
    now = now or utcnow()
    _check(db, person, data, now)
    note = CaseNote(person_id=person.id, kind=data.note_kind, with_whom=data.with_whom,
                    organisation_id=data.organisation_id, happened_at=data.happened_at,
                    summary=data.summary.strip(), recorded_by_id=actor.id, recorded_at=now)
    db.add(note)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="case_notes", row_id=note.id, person_id=person.id,
                     before=None, after=_snapshot(note))
    return note


def add_addendum(db: Session, actor: User, person: Person, note: CaseNote, text: str | None) -> CaseNoteAddendum:
    """A correction or later information, shown with the note under the author's name; never changed."""
    text = (text or "").strip()
    if not text:
        raise RuleBroken.on("text", "Enter the addendum.")
    addendum = CaseNoteAddendum(note_id=note.id, person_id=person.id, author_id=actor.id, text=text,
                                created_at=utcnow())
    db.add(addendum)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="case_note_addenda", row_id=addendum.id, person_id=person.id,
                     before=None, after={"note_id": note.id, "author_id": actor.id, "text": text,
                                         "created_at": addendum.created_at})
    return addendum


def get(db: Session, person_id: int, note_id: int) -> CaseNote | None:
    return db.scalar(select(CaseNote).where(CaseNote.id == note_id, CaseNote.person_id == person_id))


# --- the person page's section ---------------------------------------------------------------------------------

@dataclass
class NoteRow:
    note: CaseNote
    title: str
    recorded_by: str
    addenda: list[tuple[CaseNoteAddendum, str]] = field(default_factory=list)


def notes_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The contact log, newest first, each note with its addenda: one statement for the notes, their addenda
    and the count, and one for the organisations the form offers, whatever the log holds."""
    recorder, author = aliased(User), aliased(User)
    latest = (select(CaseNote.id).where(CaseNote.person_id == person.id)
              .order_by(CaseNote.happened_at.desc(), CaseNote.id.desc()).limit(SHOWN).subquery())
    total = select(func.count()).select_from(CaseNote).where(CaseNote.person_id == person.id).scalar_subquery()
    rows: dict[int, NoteRow] = {}
    counted = 0
    for note, recorded_by, organisation, addendum, author_name, of_all in db.execute(
        select(CaseNote, recorder.display_name, Organisation.name, CaseNoteAddendum, author.display_name, total)
        .join(latest, latest.c.id == CaseNote.id)
        .join(recorder, recorder.id == CaseNote.recorded_by_id)
        .outerjoin(Organisation, Organisation.id == CaseNote.organisation_id)
        .outerjoin(CaseNoteAddendum, CaseNoteAddendum.note_id == CaseNote.id)
        .outerjoin(author, author.id == CaseNoteAddendum.author_id)
        .order_by(CaseNote.happened_at.desc(), CaseNote.id.desc(), CaseNoteAddendum.created_at,
                  CaseNoteAddendum.id)
    ):
        counted = of_all
        row = rows.get(note.id)
        if row is None:
            row = rows[note.id] = NoteRow(note, title(note.kind, note.with_whom, organisation), recorded_by)
        if addendum is not None:
            row.addenda.append((addendum, author_name))
    may_record = has_permission(user.role, Permission.record_clinical)
    organisations = referrals.active_organisations(db) if may_record else []
    return {"rows": list(rows.values()), "total": counted, "may_record": may_record,
            "kinds": [(k.value, label) for k, label in NOTE_KIND_LABELS.items()],
            "with_whom": [(w.value, label) for w, label in NOTE_WITH_LABELS.items()],
            "organisations": [(o.id, o.name) for o in organisations],
            "kind_labels": NOTE_KIND_LABELS}
