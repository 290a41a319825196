"""Caseload dashboard figures: one aggregate query over open cases, whatever their number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.alerts import service as alerts
from app.alerts.rules import RULES
from app.auth.models import User
from app.detention.models import DetentionEpisode
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


def figures(db: Session, user: User, cutoffs: alerts.Cutoffs) -> Figures:
    current = aliased(DetentionEpisode)

    def count_if(condition):  # type: ignore[no-untyped-def]
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    columns = [
        func.count(Person.id),
        count_if(Person.status == PersonStatus.detained),
        *(count_if(alerts.sql_condition(rule_id, cutoffs, current)) for rule_id in RULES),
        count_if(alerts.sql_condition(alerts.UPCOMING, cutoffs, current)),
        count_if(~exists().where(Assignment.person_id == Person.id, Assignment.ended_at.is_(None))),
        count_if(alerts.sql_condition(alerts.NO_RECENT_VISIT, cutoffs, current)),
    ]
    statement = (
        select(*columns).select_from(Person)
        .outerjoin(current, and_(current.person_id == Person.id, current.end_date.is_(None)))
        .where(Person.closed_date.is_(None))
    )
    visibility = people_service.visible_to(user)
    if visibility is not None:
        statement = statement.where(visibility)
    row = db.execute(statement).one()
    values = [int(v or 0) for v in row]
    rule_counts = dict(zip(RULES, values[2:2 + len(RULES)], strict=True))
    upcoming, unassigned, no_visit = values[2 + len(RULES):]
    return Figures(values[0], values[1], rule_counts, upcoming, unassigned, no_visit)
