"""Caseload dashboard figures: one aggregate over the kept alert flags of open cases, whatever their number."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from app.alerts import service as alerts
from app.alerts import state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES
from app.auth.models import User
from app.config import get_settings
from app.people import service as people_service
from app.people.models import Person


@dataclass
class Figures:
    open_cases: int
    detained: int
    by_alert: dict[str, int]
    crossing_soon: int
    unassigned: int
    no_recent_visit: int
    stale: int = 0  # cases whose flags are still to be re-checked (counted with their previous flags meanwhile)
    also: dict[str, Any] = field(default_factory=dict)  # the page's other counts, by name (see `figures`)


def figures(db: Session, user: User, cutoffs: alerts.Cutoffs,
            also: Mapping[str, ScalarSelect[Any]] | None = None) -> Figures:
    """Counted from the kept flags (app/alerts/state.py) after recomputing the few that went stale: one row per
    combination of flags among open cases (some hundreds, whatever the caseload), read from the index on the
    flags alone and summed here, rather than evaluating conditions per case or joining every case to people.

    `also` are the page's other counts (uncorrelated scalar subqueries): they ride on the same statement, each
    worked out once, and come back by name in `Figures.also`. Only with no open case at all (no row) are they
    read on their own."""
    settings = get_settings()
    stale = state.refresh(db, cutoffs, settings.zone, budget=settings.alert_refresh_budget)
    extra = dict(also or {})
    statement = (
        select(PersonAlertState.flags, func.count(), *extra.values())
        .where(state.has(state.OPEN_CASE))
        .group_by(PersonAlertState.flags)
    )
    visibility = people_service.visible_to(user)
    if visibility is not None:
        statement = statement.join(Person, Person.id == PersonAlertState.person_id).where(visibility)
    counts = dict.fromkeys(state.FLAGS, 0)
    values: dict[str, Any] = {}
    for flags, cases, *others in db.execute(statement):
        values = dict(zip(extra, others, strict=True))
        for flag in state.FLAGS:
            if flags & state.BIT[flag]:
                counts[flag] += cases
    if extra and not values:
        values = read_counts(db, extra)
    return Figures(counts[state.OPEN_CASE], counts[state.DETAINED], {rule_id: counts[rule_id] for rule_id in RULES},
                   counts[alerts.UPCOMING], counts[state.UNASSIGNED], counts[alerts.NO_RECENT_VISIT], stale, values)


def read_counts(db: Session, counted: Mapping[str, ScalarSelect[Any]]) -> dict[str, Any]:
    """These counts by name, in one statement."""
    if not counted:
        return {}
    return dict(zip(counted, db.execute(select(*counted.values())).one(), strict=True))
