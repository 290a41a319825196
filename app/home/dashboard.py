"""Caseload dashboard figures: one aggregate over the kept alert flags of open cases, whatever their number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
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


def figures(db: Session, user: User, cutoffs: alerts.Cutoffs) -> Figures:
    """Counted from the kept flags (app/alerts/state.py) after recomputing the few that went stale: one row per
    combination of flags among open cases (some hundreds, whatever the caseload), read from the index on the
    flags alone and summed here, rather than evaluating conditions per case or joining every case to people."""
    settings = get_settings()
    stale = state.refresh(db, cutoffs, settings.zone, budget=settings.alert_refresh_budget)
    statement = (
        select(PersonAlertState.flags, func.count())
        .where(state.has(state.OPEN_CASE))
        .group_by(PersonAlertState.flags)
    )
    visibility = people_service.visible_to(user)
    if visibility is not None:
        statement = statement.join(Person, Person.id == PersonAlertState.person_id).where(visibility)
    counts = dict.fromkeys(state.FLAGS, 0)
    for flags, cases in db.execute(statement):
        for flag in state.FLAGS:
            if flags & state.BIT[flag]:
                counts[flag] += cases
    return Figures(counts[state.OPEN_CASE], counts[state.DETAINED], {rule_id: counts[rule_id] for rule_id in RULES},
                   counts[alerts.UPCOMING], counts[state.UNASSIGNED], counts[alerts.NO_RECENT_VISIT], stale)
