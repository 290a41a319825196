"""The start page for each role (the caseload dashboard, a clinician's own caseload, the researchers' published
summaries) and the coordinators' review of break-glass access listed on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from starlette.responses import Response

from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts.rules import RULES
from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession, utcnow
from app.detention import clock
from app.errors import NotFound
from app.home import dashboard
from app.intake import service as intake
from app.people import emergency, handover
from app.people import service as people_service
from app.people.schemas import EmergencyReviewForm
from app.reports.models import CaseNarrative, NarrativeStatus, SummaryRelease
from app.web.forms import Posted
from app.web.params import Id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter()
ReviewEmergencyAccess = Depends(require(Permission.review_emergency_access))
REVIEWS = "/#emergency-access"
ALREADY_REVIEWED = "That emergency access has already been reviewed."


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
    # The counts this user's page shows, read in one statement.
    counted: dict[str, Any] = {}
    if user.role in (Role.admin, Role.coordinator, Role.researcher):
        counted["releases"] = select(func.count()).select_from(SummaryRelease).scalar_subquery()
    if has_permission(user.role, Permission.triage_requests):
        counted["requests_waiting"], counted["requests_overdue"] = intake.count_columns()
    if has_permission(user.role, Permission.prepare_narratives):
        counted["awaiting_approval"] = (select(func.count()).select_from(CaseNarrative)
                                        .where(CaseNarrative.status == NarrativeStatus.awaiting_approval)
                                        .scalar_subquery())
    values: dict[str, Any] = dict(zip(counted, db.execute(select(*counted.values())).one(), strict=True)) \
        if counted else {}
    context.update(values)
    if "requests_waiting" in values:
        context["request_counts"] = intake.QueueCounts(values["requests_waiting"], values["requests_overdue"])
    if user.role in (Role.admin, Role.coordinator):
        context["handovers"] = handover.recent_for(db, user)
        context["handover_days"] = handover.RECENT_DAYS
    if has_permission(user.role, Permission.review_emergency_access):
        context["emergency_accesses"] = emergency.awaiting_review(db)
        context["review_page"] = emergency.REVIEW_PAGE
        context["now"] = utcnow()
    return render(request, "home/index.html", context)


def access_awaiting_review(access_id: Id, db: DbSession,
                           _reviewer: User = ReviewEmergencyAccess) -> emergency.AwaitingReview | None:
    """The emergency access named in the path while it awaits review, None once someone has reviewed it."""
    pending = next(iter(emergency.awaiting_review(db, access_id=access_id, limit=1)), None)
    if pending is None and emergency.get(db, access_id) is None:
        raise NotFound
    return pending


AccessAwaitingReview = Annotated[emergency.AwaitingReview | None, Depends(access_awaiting_review)]


@router.get("/emergency-access/{access_id}/review")
def emergency_access_review_page(request: Request, pending: AccessAwaitingReview) -> Response:
    """One emergency access and its review form: the dashboard's form, shown alone when a review note is sent
    back with a problem."""
    if pending is None:
        return done(REVIEWS, ALREADY_REVIEWED, kind="info")
    return render(request, "home/emergency_review.html", {
        "access": pending, "now": utcnow(), "values": {}, "errors": {}})


@router.post("/emergency-access/{access_id}/review")
def emergency_access_review(pending: AccessAwaitingReview, db: DbSession, audit: Audit,
                            user: User = ReviewEmergencyAccess,
                            data: EmergencyReviewForm = Posted(EmergencyReviewForm)) -> Response:
    """A coordinator or administrator marks a clinician's emergency access reviewed, with an optional note."""
    if pending is None:
        return done(REVIEWS, ALREADY_REVIEWED, kind="info")
    try:
        emergency.review(db, user, pending, data.note)
    except emergency.AlreadyReviewed:
        # Another reviewer got there between the read and this write: theirs stands, and this one changed nothing.
        return done(REVIEWS, ALREADY_REVIEWED, kind="info")
    audit.record("emergency_access.reviewed", emergency.get(db, pending.id), access_id=pending.id,
                 clinician_id=pending.clinician_id, has_note=bool(data.note), was_live=pending.live(utcnow()))
    return done(REVIEWS, f"Emergency access by {pending.clinician_name} to {pending.reference} marked reviewed.")
