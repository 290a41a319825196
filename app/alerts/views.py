"""The start page: the caseload dashboard for coordinators and admins, a clinician's own caseload, and for
researchers the published summaries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from starlette.responses import Response

from app.alerts import dashboard
from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts.rules import RULES
from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import Role, User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession, utcnow
from app.detention import clock
from app.people import emergency
from app.people import service as people_service
from app.people.schemas import EmergencyReviewForm
from app.reports.models import CaseNarrative, NarrativeStatus, SummaryRelease
from app.web import flash
from app.web.forms import PostedForm, validate_form
from app.web.templating import render

router = APIRouter()
ReviewEmergencyAccess = Depends(require(Permission.review_emergency_access))


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
    if has_permission(user.role, Permission.review_emergency_access):
        context["emergency_accesses"] = emergency.awaiting_review(db)
        context["review_page"] = emergency.REVIEW_PAGE
        context["now"] = utcnow()
    if has_permission(user.role, Permission.prepare_narratives):
        context["awaiting_approval"] = db.scalar(select(func.count()).select_from(CaseNarrative)
                                                 .where(CaseNarrative.status == NarrativeStatus.awaiting_approval))
    return render(request, "home/index.html", context)


@router.post("/emergency-access/{access_id}/review")
def emergency_access_review(request: Request, access_id: int, db: DbSession, form: PostedForm,
                            user: User = ReviewEmergencyAccess) -> Response:
    """A coordinator or administrator marks a clinician's emergency access reviewed, with an optional note."""
    pending = next(iter(emergency.awaiting_review(db, access_id=access_id, limit=1)), None)
    if pending is None:
        if emergency.get(db, access_id) is None:
            raise HTTPException(status_code=404)
        return _back_to_dashboard("That emergency access has already been reviewed.", kind="info")
    result = validate_form(form, EmergencyReviewForm)
    if result.data is None:
        return render(request, "home/emergency_review.html", {
            "access": pending, "now": utcnow(), "values": result.values, "errors": result.errors,
        }, status_code=422)
    try:
        emergency.review(db, user, pending, result.data.note)
    except emergency.AlreadyReviewed:
        db.rollback()
        return _back_to_dashboard("That emergency access has already been reviewed.", kind="info")
    audit.record(db, "emergency_access.reviewed", actor_id=user.id, person_id=pending.person_id,
                 object_type="emergency_access", object_id=pending.id, ip_address=client_ip(request),
                 correlation_id=request.state.correlation_id, access_id=pending.id,
                 clinician_id=pending.clinician_id, note=result.data.note, was_live=pending.live(utcnow()))
    return _back_to_dashboard(f"Emergency access by {pending.clinician_name} to {pending.reference} marked reviewed.")


def _back_to_dashboard(message: str, kind: str = "success") -> Response:
    response = RedirectResponse("/#emergency-access", status_code=303)
    flash.add(response, message, kind=kind)
    return response
