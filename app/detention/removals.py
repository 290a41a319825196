"""Removal directions: recording one, and what became of it. A removal carried out can end the detention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.auth.models import Role, User
from app.config import get_settings, organisation_today
from app.dates import format_date, format_datetime
from app.db import check_version, utcnow
from app.detention import service as detention
from app.detention.models import REMOVAL_STATUS_LABELS, EndReason, RemovalDirection, RemovalStatus
from app.detention.schemas import EpisodeEndForm, RemovalForm
from app.errors import RuleBroken
from app.people.models import Person
from app.people.service import touch

_FIELDS = ("removal_at", "carrier", "destination", "status", "source")


def _snapshot(direction: RemovalDirection) -> dict[str, Any]:
    return {name: getattr(direction, name) for name in _FIELDS}


def record(db: Session, actor: User, person: Person, data: RemovalForm) -> RemovalDirection:
    """A new removal direction, set. It cannot fall before the current detention began."""
    check_version(person, data.version)
    episode = detention.current_episode(db, person.id)
    zone = get_settings().zone
    if episode is not None and data.removal_at.astimezone(zone).date() < episode.start_date:
        raise RuleBroken.on("removal_at", f"The removal must be on or after the day the detention began "
                                          f"({format_date(episode.start_date)}).")
    direction = RemovalDirection(person_id=person.id, removal_at=data.removal_at, carrier=data.carrier.strip(),
                                 destination=data.destination.strip(),
                                 source=(data.source or "").strip() or None, recorded_by_id=actor.id)
    db.add(direction)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="removal_directions", row_id=direction.id, person_id=person.id,
                     before=None, after=_snapshot(direction))
    return direction


def change_status(db: Session, actor: User, person: Person, direction: RemovalDirection, version: int | None,
                  status: RemovalStatus | None, *, end_detention: bool, now: datetime | None = None) -> bool:
    """Record what became of the direction; returns whether the detention was ended with it."""
    check_version(person, version)
    if status is None:
        raise RuleBroken.on("status", "Choose what happened to the removal.")
    now = now or utcnow()
    if status is direction.status:
        raise RuleBroken.on("status", f"The removal is already {REMOVAL_STATUS_LABELS[status].lower()}.")
    if direction.status is RemovalStatus.carried_out:
        raise RuleBroken.on("status", "A removal carried out stays carried out; record a new detention if the "
                                      "person returns.")
    if status is RemovalStatus.carried_out and direction.removal_at > now:
        raise RuleBroken.on("status", f"A removal set for {format_datetime(direction.removal_at)} cannot have "
                                      "been carried out yet.")
    if end_detention and status is not RemovalStatus.carried_out:
        raise RuleBroken.on("end_detention", "Only a removal carried out ends the detention.")
    before = _snapshot(direction)
    direction.status = status
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="removal_directions", row_id=direction.id, person_id=person.id,
                     before=before, after=_snapshot(direction))
    if not end_detention:
        return False
    episode = detention.current_episode(db, person.id)
    if episode is None:
        raise RuleBroken.on("end_detention", "No detention is open to end.")
    day = direction.removal_at.astimezone(get_settings().zone).date()
    detention.end_episode(db, actor.id, person, episode, EpisodeEndForm(
        end_date=day, end_reason=EndReason.removed, version=person.version), organisation_today())
    return True


def get(db: Session, person_id: int, direction_id: int) -> RemovalDirection | None:
    return db.scalar(select(RemovalDirection).where(RemovalDirection.id == direction_id,
                                                    RemovalDirection.person_id == person_id))


def removal_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person page's removal directions, newest first, each with how soon it is while still set."""
    settings = get_settings()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    directions: list[RemovalDirection] = []
    for direction in db.scalars(select(RemovalDirection).where(RemovalDirection.person_id == person.id)
                                .order_by(RemovalDirection.removal_at.desc(), RemovalDirection.id.desc())):
        left = direction.removal_at - now
        soon = None
        if direction.status is RemovalStatus.set and timedelta(0) < left:
            if left <= timedelta(hours=settings.alert_removal_urgent_hours):
                soon = "urgent"
            elif left <= timedelta(hours=settings.alert_removal_hours):
                soon = "soon"
        directions.append(direction)
        rows.append({"direction": direction, "soon": soon, "hours_left": int(left.total_seconds() // 3600)})
    # Only the latest direction not yet carried out can be changed from the page (an earlier one was replaced).
    current = next((d for d in directions if d.status is not RemovalStatus.carried_out), None)
    return {"rows": rows, "current": current, "can_edit": user.role in (Role.admin, Role.coordinator),
            "statuses": [(s.value, label) for s, label in REMOVAL_STATUS_LABELS.items() if s is not RemovalStatus.set],
            "status_labels": REMOVAL_STATUS_LABELS, "urgent_hours": settings.alert_removal_urgent_hours}
