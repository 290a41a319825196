"""The lead coordinator of a case, and handing the case over to another with a note. Both coordinators see the
handover on their home page; the case keeps every one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from app.audit import revisions
from app.auth.models import Role, User
from app.db import check_version, utcnow
from app.errors import RuleBroken
from app.people.models import Handover, Person
from app.people.service import touch

# How long a handover stays on the two coordinators' home pages.
RECENT_DAYS = 14


def leads(db: Session) -> list[User]:
    """Who can lead a case: active coordinators and administrators, by name."""
    return list(db.scalars(select(User).where(User.role.in_((Role.coordinator, Role.admin)),
                                              User.is_active.is_(True)).order_by(User.display_name)))


def hand_over(db: Session, actor: User, person: Person, version: int | None, to_user_id: int | None,
              note: str | None, now: datetime | None = None) -> Handover:
    """Make `to_user_id` the case's lead coordinator, keeping who led it before and the note for the new lead."""
    check_version(person, version)
    if to_user_id is None:
        raise RuleBroken.on("to_user_id", "Choose who takes the case over.")
    to = db.get(User, to_user_id)
    if to is None or not to.is_active or to.role not in (Role.coordinator, Role.admin):
        raise RuleBroken.on("to_user_id", "Choose an active coordinator from the list.")
    if to.id == person.lead_coordinator_id:
        raise RuleBroken.on("to_user_id", f"{to.display_name} already leads this case.")
    handover = Handover(person_id=person.id, from_user_id=person.lead_coordinator_id, to_user_id=to.id,
                        handed_by_id=actor.id, handed_at=now or utcnow())
    if note and note.strip():
        handover.note = note.strip()
    before = {"lead_coordinator_id": person.lead_coordinator_id}
    person.lead_coordinator_id = to.id
    touch(person)
    db.add(handover)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="people", row_id=person.id, person_id=person.id,
                     before=before, after={"lead_coordinator_id": to.id})
    return handover


@dataclass(frozen=True)
class HandoverRow:
    handover: Handover
    from_name: str | None
    to_name: str
    reference: str | None = None


def _rows(db: Session, condition: Any, limit: int) -> list[HandoverRow]:
    giver, taker = aliased(User), aliased(User)
    return [HandoverRow(h, from_name, to_name, reference) for h, from_name, to_name, reference in db.execute(
        select(Handover, giver.display_name, taker.display_name, Person.reference)
        .join(Person, Person.id == Handover.person_id)
        .outerjoin(giver, giver.id == Handover.from_user_id).join(taker, taker.id == Handover.to_user_id)
        .where(condition).order_by(Handover.handed_at.desc(), Handover.id.desc()).limit(limit))]


def of_person(db: Session, person_id: int, limit: int = 20) -> list[HandoverRow]:
    return _rows(db, Handover.person_id == person_id, limit)


def recent_for(db: Session, user: User, now: datetime | None = None, limit: int = 20) -> list[HandoverRow]:
    """Handovers to or from `user` in the last RECENT_DAYS, newest first: the home page shows both sides. Only
    references and names of staff are shown there; the note stays on the case."""
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    return _rows(db, (Handover.handed_at >= since)
                 & or_(Handover.to_user_id == user.id, Handover.from_user_id == user.id), limit)
