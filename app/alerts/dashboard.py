"""Caseload dashboard figures: one aggregate over the kept alert flags of open cases, whatever their number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from app.alerts import service as alerts
from app.alerts import state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES
from app.auth.models import User
from app.config import get_settings
from app.people import service as people_service
from app.people.models import Assignment, Person, PersonStatus


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
    """Counted from the kept alert flags (app/alerts/state.py), after recomputing the few that went stale."""
    settings = get_settings()
    stale = state.refresh(db, cutoffs, settings.zone, budget=settings.alert_refresh_budget)

    def count_if(condition):  # type: ignore[no-untyped-def]
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    columns = [
        func.count(Person.id),
        count_if(Person.status == PersonStatus.detained),
        *(count_if(state.has(rule_id)) for rule_id in RULES),
        count_if(state.has(alerts.UPCOMING)),
        count_if(~exists().where(Assignment.person_id == Person.id, Assignment.ended_at.is_(None))),
        count_if(state.has(alerts.NO_RECENT_VISIT)),
    ]
    statement = (
        select(*columns).select_from(Person)
        .join(PersonAlertState, PersonAlertState.person_id == Person.id)
        .where(Person.closed_date.is_(None))
    )
    visibility = people_service.visible_to(user)
    if visibility is not None:
        statement = statement.where(visibility)
    row = db.execute(statement).one()
    values = [int(v or 0) for v in row]
    rule_counts = dict(zip(RULES, values[2:2 + len(RULES)], strict=True))
    upcoming, unassigned, no_visit = values[2 + len(RULES):]
    return Figures(values[0], values[1], rule_counts, upcoming, unassigned, no_visit, stale)
