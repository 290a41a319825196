"""The start page: the caseload dashboard for coordinators and admins, a clinician's own caseload, and for
researchers the published summaries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from starlette.responses import Response

from app.alerts import dashboard
from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts.rules import RULES
from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.detention import clock
from app.people import service as people_service
from app.reports.models import CaseNarrative, NarrativeStatus, SummaryRelease
from app.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, db: DbSession, user: User = Depends(require(Permission.view_home))) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    context: dict[str, object] = {"today": today, "settings": settings, "rules": RULES,
                                  "extra_filters": alerts.EXTRA_FILTERS}
    if user.role in (Role.admin, Role.coordinator, Role.clinician):
        cutoffs = alerts.Cutoffs.for_day(today, settings)
        context["figures"] = dashboard.figures(db, user, cutoffs)
    if user.role is Role.clinician:
        page = people_service.list_people(db, user, people_service.PeopleQuery())
        badges = alert_state.firing(db, cutoffs, [row.id for row in page.rows])
        for row in page.rows:
            row.alerts = badges.get(row.id, [])
        context["caseload"] = page
        context["band_on"] = clock.band_on
    if user.role in (Role.admin, Role.coordinator, Role.researcher):
        context["releases"] = db.scalar(select(func.count()).select_from(SummaryRelease))
    if has_permission(user.role, Permission.prepare_narratives):
        context["awaiting_approval"] = db.scalar(select(func.count()).select_from(CaseNarrative)
                                                 .where(CaseNarrative.status == NarrativeStatus.awaiting_approval))
    return render(request, "home/index.html", context)
