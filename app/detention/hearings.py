"""Hearings: listing one, and recording how it ended. A bail hearing's outcome goes to the detention's bail
fields, which the bail alerts read, rather than being kept twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.auth.models import Role, User
from app.config import get_settings
from app.dates import format_datetime
from app.db import check_version, utcnow
from app.detention import service as detention
from app.detention.models import (
    HEARING_KIND_LABELS,
    HEARING_OUTCOME_LABELS,
    BailOutcome,
    Hearing,
    HearingKind,
    HearingOutcome,
)
from app.detention.schemas import HearingForm
from app.errors import RuleBroken
from app.people.models import Person
from app.people.service import touch

_FIELDS = ("kind", "hearing_at", "venue", "remote", "outcome")
# The outcomes a bail hearing can have, as the detention's bail fields say them.
_BAIL = {HearingOutcome.granted: BailOutcome.granted, HearingOutcome.refused: BailOutcome.refused,
         HearingOutcome.withdrawn: BailOutcome.withdrawn}


def _snapshot(hearing: Hearing) -> dict[str, Any]:
    return {name: getattr(hearing, name) for name in _FIELDS}


def record(db: Session, actor: User, person: Person, data: HearingForm) -> Hearing:
    check_version(person, data.version)
    venue = (data.venue or "").strip() or None
    if venue is None and not data.remote:
        raise RuleBroken.on("venue", "Give the venue, or say that the hearing is remote.")
    hearing = Hearing(person_id=person.id, kind=data.kind, hearing_at=data.hearing_at, venue=venue,
                      remote=data.remote, recorded_by_id=actor.id)
    db.add(hearing)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="hearings", row_id=hearing.id, person_id=person.id,
                     before=None, after=_snapshot(hearing))
    return hearing


def record_outcome(db: Session, actor: User, person: Person, hearing: Hearing, version: int | None,
                   outcome: HearingOutcome | None, *, now: datetime | None = None) -> bool:
    """Record how the hearing ended; returns whether the detention's bail fields took it too."""
    check_version(person, version)
    if outcome is None:
        raise RuleBroken.on("outcome", "Choose the outcome of the hearing.")
    if hearing.hearing_at > (now or utcnow()):
        raise RuleBroken.on("outcome", f"The hearing is on {format_datetime(hearing.hearing_at)}: its outcome "
                                       "can be recorded once it has been heard.")
    if hearing.kind is HearingKind.bail and outcome not in (*_BAIL, HearingOutcome.adjourned):
        raise RuleBroken.on("outcome", "A bail hearing is granted, refused, withdrawn or adjourned.")
    before = _snapshot(hearing)
    hearing.outcome = outcome
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="hearings", row_id=hearing.id, person_id=person.id,
                     before=before, after=_snapshot(hearing))
    episode = detention.current_episode(db, person.id)
    if hearing.kind is not HearingKind.bail or outcome not in _BAIL or episode is None:
        return False
    day = hearing.hearing_at.astimezone(get_settings().zone).date()
    episode_before = detention.episode_snapshot(episode)
    if episode.last_bail_application_date is None or episode.last_bail_application_date > day:
        episode.last_bail_application_date = max(day, episode.start_date)
    episode.last_bail_outcome = _BAIL[outcome]
    db.flush()
    revisions.record(db, actor_id=actor.id, table="detention_episodes", row_id=episode.id, person_id=person.id,
                     before=episode_before, after=detention.episode_snapshot(episode))
    return True


def get(db: Session, person_id: int, hearing_id: int) -> Hearing | None:
    return db.scalar(select(Hearing).where(Hearing.id == hearing_id, Hearing.person_id == person_id))


def hearing_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person page's hearings, latest first; the earliest one heard without an outcome takes one."""
    now = utcnow()
    hearings = list(db.scalars(select(Hearing).where(Hearing.person_id == person.id)
                               .order_by(Hearing.hearing_at.desc(), Hearing.id.desc())))
    awaiting = [h for h in hearings if h.outcome is None and h.hearing_at <= now]
    return {"hearings": hearings, "awaiting": awaiting[-1] if awaiting else None, "now": now,
            "can_edit": user.role in (Role.admin, Role.coordinator),
            "kinds": [(k.value, label) for k, label in HEARING_KIND_LABELS.items()],
            "kind_labels": HEARING_KIND_LABELS, "outcome_labels": HEARING_OUTCOME_LABELS,
            "outcomes": [(o.value, label) for o, label in HEARING_OUTCOME_LABELS.items()]}
