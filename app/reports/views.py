"""Reports pages: the aggregate summary form, releases and their downloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.audit.deps import Audit
from app.audit.models import Outcome
from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.detention.models import FACILITY_TYPE_LABELS
from app.errors import FORM_ERROR, found
from app.reports import exports, periods, service
from app.reports.models import ReleaseKind
from app.reports.schemas import SummaryForm
from app.reports.summaries import SummaryParams
from app.web.forms import Posted
from app.web.params import Id, query_id
from app.web.redirects import done
from app.web.templating import render, templates

router = APIRouter(prefix="/reports")
ViewSummaries = Depends(require(Permission.view_summaries))
PER_PAGE = 50


@router.get("")
def reports_index(request: Request, user: User = ViewSummaries) -> Response:
    return render(request, "reports/index.html", {"k": get_settings().disclosure_k})


# --- the aggregate summary --------------------------------------------------------------------------------

_PERIOD_GROUPS = (("year", "Years"), ("quarter", "Quarters"), ("month", "Months"))


def _form_page(request: Request, db: DbSession, user: User, *, values: dict[str, Any], errors: dict[str, str],
               status_code: int = 200, may_override: bool = False) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    offered = periods.offered(today)
    types, regions = service.filter_choices(db, today, settings.disclosure_k)
    return render(request, "reports/summary_form.html", {
        "values": values, "errors": errors, "k": settings.disclosure_k,
        "minimum": service.minimum_population(settings.disclosure_k),
        "period_groups": [(title, [(p.value, p.label) for p in offered if p.kind == kind])
                          for kind, title in _PERIOD_GROUPS],
        "facility_types": [(t.value, FACILITY_TYPE_LABELS[t]) for t in types],
        "regions": [(r, r) for r in regions],
        "formats": list(service.FORMATS.items()),
        "may_override": may_override and user.role is Role.admin,
    }, status_code=status_code)


@router.get("/summary")
def summary_form(request: Request, db: DbSession, user: User = ViewSummaries) -> Response:
    # The form starts on the last quarter that has ended: the period charities report on.
    last_quarter = next(p for p in periods.offered(organisation_today(get_settings())) if p.kind == "quarter")
    return _form_page(request, db, user, values={"period": last_quarter.value, "output_format": "html"}, errors={})


def render_summary_html(document: dict[str, Any]) -> str:
    """The standalone document a PDF is made from: the same tables and charts as the page, with print styles."""
    return templates.get_template("reports/summary_print.html").render(
        document=document, charts=exports.summary_charts(document))


@router.post("/summary")
def summary_release(request: Request, db: DbSession, audit: Audit, user: User = ViewSummaries,
                    data: SummaryForm = Posted(SummaryForm)) -> Response:
    settings = get_settings()
    override = data.override_reason if user.role is Role.admin and data.override_reason else None
    params = SummaryParams(start_date=data.period.start, end_date=data.period.end, facility_type=data.facility_type,
                           region=data.region, rounding=data.rounding)
    try:
        produced = service.release_summary(
            db, user, params, data.output_format, today=organisation_today(settings), zone=settings.zone,
            k=settings.disclosure_k, now=datetime.now(UTC), render_html=render_summary_html,
            override_reason=override)
    except service.ReleaseRefused as refused:
        # Every refused release is kept in the audit log, so this page is an answer that commits, not an error;
        # it offers an administrator the override when the differencing guard refused.
        audit.record("summary.refused", outcome=Outcome.denied, reason=refused.reason, parameters=params.as_dict())
        return _form_page(request, db, user, values=request.state.submitted.values,
                          errors={FORM_ERROR: refused.reason}, status_code=422, may_override=refused.differencing)
    release = produced.release
    audit.record("summary.released", release, release_id=release.id, output_format=release.output_format,
                 output_sha256=release.output_sha256, parameters=release.parameters,
                 overridden=release.override_reason is not None, override_reason=release.override_reason)
    if release.output_format == "html":
        return done(f"/reports/releases/{release.id}", f"Release {release.id} recorded.")
    # Straight to the file: a flash would wait for whichever page is opened next.
    return RedirectResponse(f"/reports/releases/{release.id}/download", status_code=303)


# --- the release log --------------------------------------------------------------------------------------

@router.get("/releases")
def releases(request: Request, db: DbSession, user: User = ViewSummaries) -> Response:
    page = query_id(request.query_params.get("page")) or 1
    rows, total = service.list_releases(db, page=page, per_page=PER_PAGE,
                                        today=organisation_today(get_settings()))
    return render(request, "reports/releases.html", {
        "rows": rows, "page": page, "pages": max(1, -(-total // PER_PAGE)), "total": total,
        "formats": service.FORMATS,
    })


def logged_release(release_id: Id, db: DbSession, user: User = ViewSummaries) -> service.ReleaseRow:
    """The release in the path, with its output: anyone who may see summaries may read every release."""
    return found(service.get_release(db, release_id, organisation_today(get_settings()), with_output=True))


LoggedRelease = Annotated[service.ReleaseRow, Depends(logged_release)]


@router.get("/releases/{release_id}")
def release_show(request: Request, row: LoggedRelease, audit: Audit, user: User = ViewSummaries) -> Response:
    release = row.release
    document = None
    charts = {}
    if release.kind is ReleaseKind.aggregate and release.output_format == "html":
        document = json.loads(release.output)
        charts = exports.summary_charts(document)
    audit.record("summary.viewed", release, release_id=release.id, withdrawn=row.withdrawn)
    return render(request, "reports/release.html", {
        "row": row, "release": release, "document": document, "charts": charts, "formats": service.FORMATS,
        "extension": service.media_type(release)[1], "may_download": not row.withdrawn or user.role is Role.admin,
    })


@router.get("/releases/{release_id}/download")
def release_download(request: Request, row: LoggedRelease, audit: Audit, user: User = ViewSummaries) -> Response:
    release = row.release
    if row.withdrawn and user.role is not Role.admin:
        # The person withdrew their consent to research: what was published stays in the log, but only an
        # administrator may open the copy kept as the record of it.
        audit.record("summary.download_refused", release, outcome=Outcome.denied, release_id=release.id,
                     reason="consent withdrawn")
        return render(request, "reports/withdrawn.html", {"release": release}, status_code=410)
    media_type, extension = service.media_type(release)
    stem = "summary" if release.kind is ReleaseKind.aggregate else "narrative"
    audit.record("summary.downloaded", release, release_id=release.id, withdrawn=row.withdrawn)
    return Response(release.output, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{stem}-release-{release.id}.{extension}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
