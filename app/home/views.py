"""The start page for each role (the caseload dashboard, a clinician's own caseload, the researchers' published
summaries) and the coordinators' review of break-glass access listed on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
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
from app.work import queue

router = APIRouter()
ReviewEmergencyAccess = Depends(require(Permission.review_emergency_access))
REVIEWS = "/#emergency-access"
ALREADY_REVIEWED = "That emergency access has already been reviewed."


@router.get("/")
def home(request: Request, db: DbSession, audit: Audit, user: User = Depends(require(Permission.view_home)),
         show: Annotated[str | None, Query(alias="queue")] = None) -> Response:
    """The start page. `?queue=all` lists the whole work queue, not only its first items."""
    settings = get_settings()
    today = organisation_today(settings)
    context: dict[str, object] = {"today": today, "settings": settings, "rules": RULES,
                                  "extra_filters": alerts.EXTRA_FILTERS}
    # The counts this user's page shows besides the caseload figures, read with them in one statement.
    counted: dict[str, Any] = {}
    if user.role in (Role.admin, Role.coordinator, Role.researcher):
        counted["releases"] = select(func.count()).select_from(SummaryRelease).scalar_subquery()
    if has_permission(user.role, Permission.triage_requests):
        counted["requests_waiting"], counted["requests_overdue"] = intake.count_columns()
    if has_permission(user.role, Permission.prepare_narratives):
        counted["awaiting_approval"] = (select(func.count()).select_from(CaseNarrative)
                                        .where(CaseNarrative.status == NarrativeStatus.awaiting_approval)
                                        .scalar_subquery())
    if user.role in (Role.admin, Role.coordinator, Role.clinician):
        cutoffs = alerts.Cutoffs.for_day(today, settings)
        figures = context["figures"] = dashboard.figures(db, user, cutoffs, counted)
        values = figures.also
    else:
        values = dashboard.read_counts(db, counted)
    context.update(values)
    if "requests_waiting" in values:
        context["request_counts"] = intake.QueueCounts(values["requests_waiting"], values["requests_overdue"])
    caseload = None
    if user.role is Role.clinician:
        # After the figures, which brought the kept alert flags up to date.
        caseload = people_service.list_people(db, user, people_service.PeopleQuery(), with_last_visit=True)
        badges = alert_state.firing(db, cutoffs, [row.id for row in caseload.rows],
                                    [row.kept_flags for row in caseload.rows])
        for row in caseload.rows:
            row.alerts = sorted(badges.get(row.id, []), key=lambda rule: rule.rank)
        context["caseload"] = caseload
        context["band_on"] = clock.band_on
    # A clinician's caseload on one page already holds every case of theirs with its alerts.
    whole = caseload.rows if caseload is not None and caseload.pages == 1 else None
    work = context["queue"] = queue.for_user(db, user, today, settings, caseload=whole)
    context["queue_all"], context["queue_first"] = show == "all", queue.FIRST_SHOWN
    if user.role in (Role.admin, Role.coordinator):
        context["handovers"] = handover.recent_for(db, user)
        context["handover_days"] = handover.RECENT_DAYS
    if has_permission(user.role, Permission.review_emergency_access):
        context["emergency_accesses"] = emergency.awaiting_review(db)
        context["review_page"] = emergency.REVIEW_PAGE
        context["now"] = utcnow()
    audit.record("work_queue.viewed", object_type="work_queue", tasks=sum(1 for i in work.items if i.task),
                 alerts=sum(1 for i in work.items if i.task is None),
                 caseload=len(caseload.rows) if caseload is not None else None)
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
