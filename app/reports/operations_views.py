"""The operational figures page: a year's monthly counts over every case, for coordinators and administrators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.reports import operations
from app.web.templating import render

router = APIRouter(prefix="/reports")
ViewOperations = Depends(require(Permission.view_operations))


@router.get("/operations")
def operations_page(request: Request, db: DbSession, audit: Audit, user: User = ViewOperations) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    typed = request.query_params.get("year")
    try:
        year = operations.parse_year(typed, today)
    except operations.BadYear as problem:
        return render(request, "reports/operations.html", {
            "errors": {"year": str(problem)}, "values": {"year": (typed or "")[:20]}, "report": None,
            "today": today,
        }, status_code=422)
    report = operations.figures(db, year, settings.zone)
    audit.record("reports.operations_viewed", year=year)
    return render(request, "reports/operations.html", {
        "errors": {}, "values": {"year": str(year)}, "report": report, "today": today,
        "months": operations.month_headings(),
    })
