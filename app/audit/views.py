"""The administrators' audit viewer: filtered pages of the audit trail and their CSV export, each use audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response, StreamingResponse

from app.audit import viewer
from app.audit.deps import Audit
from app.audit.models import Outcome
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import get_settings
from app.db import DbSession, get_sessionmaker, utcnow
from app.web.templating import render

router = APIRouter(prefix="/admin")
ViewAudit = Depends(require(Permission.view_audit))


def _page(request: Request, db: DbSession, parsed: viewer.Parsed, page: viewer.Page | None,
          status_code: int = 200) -> Response:
    users = db.execute(select(User.id, User.display_name, User.email).order_by(User.display_name)).all()
    query = {k: v for k, v in parsed.values.items() if v}

    def link(number: int) -> str:
        return "/admin/audit?" + urlencode(query | {"page": number})

    return render(request, "audit/log.html", {
        "errors": parsed.errors, "values": parsed.values, "page": page, "link": link,
        "csv_link": "/admin/audit.csv" + (f"?{urlencode(query)}" if query else ""),
        "users": users, "nobody": viewer.NOBODY, "actions": viewer.action_choices(),
        "outcomes": [(o.value, o.value.capitalize()) for o in Outcome],
    }, status_code=status_code)


@router.get("/audit", dependencies=[ViewAudit])
def audit_log(request: Request, db: DbSession, audit: Audit) -> Response:
    parsed = viewer.parse_filter(db, request.query_params)
    if parsed.errors:
        return _page(request, db, parsed, None, status_code=422)
    page = viewer.page_of_events(db, get_settings(), parsed.filter)
    audit.record("audit.viewed", filters=parsed.filter.summary(), page=page.page)
    return _page(request, db, parsed, page)


@router.get("/audit.csv", dependencies=[ViewAudit])
def audit_csv(request: Request, db: DbSession, audit: Audit) -> Response:
    parsed = viewer.parse_filter(db, request.query_params)
    if parsed.errors:
        return _page(request, db, parsed, None, status_code=422)
    # Recorded in the request's transaction, which commits before the first byte is sent: an export whose
    # record failed to save is never sent.
    audit.record("audit.exported", filters=parsed.filter.summary())
    settings, chosen = get_settings(), parsed.filter

    def body() -> Iterator[str]:
        # The request's session is closed once the response starts, so the rows stream through their own.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(viewer.CSV_HEADER)
        with get_sessionmaker()() as session:
            for count, row in enumerate(viewer.csv_rows(session, settings, chosen), start=1):
                writer.writerow(row)
                if count % 200 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    filename = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
