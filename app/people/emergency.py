"""Break-glass: a clinician's time-limited emergency access to a person not assigned to them, and its review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.config import get_settings
from app.crypto.fields import open_value, seal_value
from app.crypto.keyring import session_keyring
from app.crypto.models import PersonKey
from app.db import utcnow
from app.people import service
from app.people.models import EmergencyAccess, Person

# The dashboard lists this many at a time, oldest first; reviewing them brings the next ones up.
REVIEW_PAGE = 50


class NotNeeded(Exception):
    """The user already sees this person (assigned, or not a clinician): there is nothing to open."""


class AlreadyOpen(Exception):
    """The clinician already has live emergency access to this person."""

    def __init__(self, access: EmergencyAccess) -> None:
        super().__init__("already open")
        self.access = access


class AlreadyReviewed(Exception):
    pass


@dataclass(frozen=True)
class LiveAccess:
    """What the banner on a page opened under break-glass shows: a plain copy, safe after a rollback."""

    access_id: int
    reason: str
    expires_at: datetime

    @property
    def until(self) -> str:
        return until_words(self.expires_at)


@dataclass(frozen=True)
class Offer:
    """The emergency access form offered on the refusal page of a person who exists."""

    reference: str
    next: str

    @property
    def duration(self) -> str:
        return duration_words(get_settings().break_glass_minutes)


def duration_words(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} minutes"
    return "1 hour" if minutes == 60 else f"{minutes // 60} hours"


def until_words(moment: datetime, now: datetime | None = None) -> str:
    """"14:30" for a time later today where the organisation works, "14:30 on 4 Mar 2026" otherwise."""
    zone = get_settings().zone
    local = moment.astimezone(zone)
    today = (now or utcnow()).astimezone(zone).date()
    clock = f"{local:%H:%M}"
    return clock if local.date() == today else f"{clock} on {local.day} {local:%b %Y}"


def return_path(reference: str, wanted: str | None) -> str:
    """Where to go once access is open: the page of this person that was refused, never anywhere else."""
    home = f"/people/{reference}"
    if wanted and (wanted == home or wanted.startswith(home + "/")) and "//" not in wanted and "\\" not in wanted:
        return wanted
    return home


def open_access(db: Session, clinician: User, person: Person, reason: str, *,
                now: datetime | None = None) -> EmergencyAccess:
    """Open emergency access for the clinician to this person for the configured time. NotNeeded if they
    already see the person, AlreadyOpen if access is live: one open grant per clinician and person."""
    if clinician.role is not Role.clinician:
        raise NotNeeded
    # Concurrent requests from the same clinician queue on the person's row (SQLite already writes one at a
    # time), so two clicks cannot open two grants.
    db.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    if service.is_assigned(db, clinician.id, person.id):
        raise NotNeeded
    now = now or utcnow()
    live = service.live_emergency_access(db, clinician.id, person.id, now)
    if live is not None:
        raise AlreadyOpen(live)
    access = EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason=reason, granted_at=now,
                             expires_at=now + timedelta(minutes=get_settings().break_glass_minutes))
    db.add(access)
    db.flush()
    return access


@dataclass(frozen=True)
class AwaitingReview:
    id: int
    clinician_id: int
    clinician_name: str
    person_id: int
    reference: str
    reason: str
    granted_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return self.expires_at > now

    @property
    def until(self) -> str:
        return until_words(self.expires_at)


REASON_WHERE = "emergency_access_grants.reason"
NOTE_WHERE = "emergency_access_grants.review_note"


def awaiting_review(db: Session, *, access_id: int | None = None,
                    limit: int = REVIEW_PAGE) -> list[AwaitingReview]:
    """Emergency accesses no one has reviewed yet, oldest first, with who opened them and for whom: one query,
    which also fetches each person's wrapped data key to open the sealed reason with."""
    statement = (
        select(EmergencyAccess.id, EmergencyAccess.clinician_id, User.display_name, EmergencyAccess.person_id,
               Person.reference, EmergencyAccess.reason_sealed, EmergencyAccess.granted_at,
               EmergencyAccess.expires_at, PersonKey.wrapped_key, PersonKey.master_key_id)
        .join(User, User.id == EmergencyAccess.clinician_id)
        .join(Person, Person.id == EmergencyAccess.person_id)
        .outerjoin(PersonKey, PersonKey.person_id == EmergencyAccess.person_id)
        .where(EmergencyAccess.reviewed_at.is_(None))
        .order_by(EmergencyAccess.granted_at, EmergencyAccess.id)
        .limit(limit)
    )
    if access_id is not None:
        statement = statement.where(EmergencyAccess.id == access_id)
    ring = session_keyring(db)
    pending = []
    for (id_, clinician_id, name, person_id, reference, sealed, granted_at, expires_at,
         wrapped, key_id) in db.execute(statement):
        ring.remember_wrapped(person_id, wrapped, key_id)
        reason = open_value(ring.key(person_id), "text", sealed, REASON_WHERE)
        pending.append(AwaitingReview(id_, clinician_id, name, person_id, reference, reason, granted_at, expires_at))
    return pending


def get(db: Session, access_id: int) -> EmergencyAccess | None:
    return db.get(EmergencyAccess, access_id)


def review(db: Session, reviewer: User, pending: AwaitingReview, note: str | None, *,
           now: datetime | None = None) -> None:
    """Mark an emergency access reviewed (it leaves the dashboard); AlreadyReviewed if someone got there first.
    Reviewing does not end access that is still live: it runs to its expiry."""
    # A Core UPDATE bypasses the flush that seals SealedFields, so the note is sealed here.
    sealed_note = (None if note is None else
                   seal_value(session_keyring(db).key_for_write(pending.person_id), "text", note, NOTE_WHERE))
    # Conditional, so that two reviewers at once cannot both record their review. An UPDATE gives a
    # CursorResult, which Session.execute is typed as the plain Result of a query.
    result = cast(CursorResult[Any], db.execute(
        update(EmergencyAccess)
        .where(EmergencyAccess.id == pending.id, EmergencyAccess.reviewed_at.is_(None))
        .values(reviewed_by_id=reviewer.id, reviewed_at=max(now or utcnow(), pending.granted_at),
                review_note_sealed=sealed_note)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise AlreadyReviewed
