"""The page each role lands on after signing in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from starlette.responses import Response

from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission
from app.db import DbSession
from app.people.models import Assignment, Person, PersonStatus
from app.reports.models import SummaryRelease

router = APIRouter()


@router.get("/")
def home(request: Request, db: DbSession, user: User = Depends(require(Permission.view_home))) -> Response:
    from app.web.templating import render

    context: dict[str, object] = {}
    if user.role in (Role.admin, Role.coordinator):
        rows = db.execute(
            select(Person.status, func.count()).where(Person.closed_date.is_(None)).group_by(Person.status)
        ).all()
        by_status = {status: count for status, count in rows}
        context["open_by_status"] = [(s, by_status.get(s, 0)) for s in PersonStatus]
        context["open_total"] = sum(by_status.values())
        context["unassigned"] = db.scalar(
            select(func.count()).select_from(Person).where(
                Person.closed_date.is_(None),
                ~select(Assignment.id).where(Assignment.person_id == Person.id,
                                             Assignment.ended_at.is_(None)).exists(),
            )
        )
    elif user.role is Role.clinician:
        context["my_caseload"] = db.scalar(
            select(func.count()).select_from(Assignment).join(Person, Person.id == Assignment.person_id).where(
                Assignment.clinician_id == user.id, Assignment.ended_at.is_(None), Person.closed_date.is_(None)
            )
        )
    if user.role in (Role.admin, Role.coordinator, Role.researcher):
        context["releases"] = db.scalar(select(func.count()).select_from(SummaryRelease))
    return render(request, "home/index.html", context)
