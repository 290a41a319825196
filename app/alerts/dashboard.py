"""Caseload dashboard figures: one aggregate over the kept alert flags of open cases, whatever their number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.alerts import service as alerts
from app.alerts import state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES
from app.auth.models import User
from app.config import get_settings
from app.people import service as people_service
from app.people.models import Person, PersonStatus


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
    """Counted from the kept alert flags (app/alerts/state.py), after recomputing the few that went stale: one
    row per combination of flags among the open cases (some hundreds, whatever the caseload), summed here.
    Summing a condition per flag per case in SQL cost twice as much at 100,000 people."""
    settings = get_settings()
    stale = state.refresh(db, cutoffs, settings.zone, budget=settings.alert_refresh_budget)
    statement = (
        select(PersonAlertState.flags, func.count(),
               func.coalesce(func.sum(case((Person.status == PersonStatus.detained, 1), else_=0)), 0))
        .select_from(Person)
        .join(PersonAlertState, PersonAlertState.person_id == Person.id)
        .where(Person.closed_date.is_(None))
        .group_by(PersonAlertState.flags)
    )
    visibility = people_service.visible_to(user)
    if visibility is not None:
        statement = statement.where(visibility)
    open_cases = detained = 0
    counts = dict.fromkeys(state.FLAGS, 0)
    for flags, cases, detained_cases in db.execute(statement):
        open_cases += cases
        detained += int(detained_cases)
        for flag in state.FLAGS:
            if flags & state.BIT[flag]:
                counts[flag] += cases
    return Figures(open_cases, detained, {rule_id: counts[rule_id] for rule_id in RULES}, counts[alerts.UPCOMING],
                   counts[state.UNASSIGNED], counts[alerts.NO_RECENT_VISIT], stale)
