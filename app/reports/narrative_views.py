"""Case narrative pages: start from a person's record, preview and redact, approve, and export once released."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.errors import found
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.reports import exports, narratives, service
from app.reports.models import NARRATIVE_STATUS_LABELS, CaseNarrative
from app.reports.schemas import ExportForm, RedactionsForm, VersionForm
from app.web.forms import Posted, shown_on
from app.web.params import Id
from app.web.redirects import done
from app.web.templating import render, templates

router = APIRouter()
ViewSummaries = Depends(require(Permission.view_summaries))
Prepare = Depends(require(Permission.prepare_narratives))
# Every form of a narrative is on its page, which a broken rule or a stale form shows again.
NARRATIVE_PAGE = "/reports/narratives/{narrative_id}"


def _url(narrative: CaseNarrative) -> str:
    return f"/reports/narratives/{narrative.id}"


def visible_narrative(narrative_id: Id, db: DbSession, user: User = ViewSummaries) -> CaseNarrative:
    """The narrative in the path, if this user may read it: preparers every one, anyone else only a released one
    whose person's consent still stands (otherwise 404)."""
    return found(narratives.find(db, narrative_id, organisation_today(get_settings()),
                                drafts=has_permission(user.role, Permission.prepare_narratives)))


def narrative_to_prepare(narrative_id: Id, db: DbSession, user: User = Prepare) -> CaseNarrative:
    """The narrative in the path, for someone who prepares narratives (checked before it is looked up)."""
    return found(narratives.find(db, narrative_id, organisation_today(get_settings()), drafts=True))


VisibleNarrative = Annotated[CaseNarrative, Depends(visible_narrative)]
PreparedNarrative = Annotated[CaseNarrative, Depends(narrative_to_prepare)]


@router.post("/people/{reference}/narratives")
@shown_on("/people/{reference}")
def narrative_start(person: CaseInScope, db: DbSession, audit: Audit, user: User = Prepare) -> Response:
    narrative = narratives.start(db, user.id, person, organisation_today(get_settings()))
    # Every narrative's audit rows name its person (audit.record finds them from it), so that their record's
    # history shows the narrative; researchers never read the audit log.
    audit.record("narrative.created", narrative, narrative_id=narrative.id)
    return done(_url(narrative), "Draft narrative started. Check every replacement before submitting it.")


@router.get("/reports/narratives")
def narrative_list(request: Request, db: DbSession, user: User = ViewSummaries) -> Response:
    may_prepare = has_permission(user.role, Permission.prepare_narratives)
    today = organisation_today(get_settings())
    rows = narratives.all_narratives(db) if may_prepare else [(n, None) for n in
                                                               narratives.visible_to_researchers(db, today)]
    return render(request, "reports/narratives.html", {
        "rows": rows, "may_prepare": may_prepare, "status_labels": NARRATIVE_STATUS_LABELS,
    })


@router.get("/reports/narratives/{narrative_id}")
def narrative_show(request: Request, narrative: VisibleNarrative, db: DbSession, audit: Audit,
                   user: User = ViewSummaries) -> Response:
    audit.record("narrative.viewed", narrative, narrative_id=narrative.id, status=narrative.status.value)
    settings = get_settings()
    today = organisation_today(settings)
    may_prepare = has_permission(user.role, Permission.prepare_narratives)
    content = narrative.content
    if content is None:
        content = narratives.compose(db, narrative, today, settings.disclosure_k)
    reference = None
    if may_prepare:
        reference = db.scalar(select(Person.reference).where(Person.id == narrative.person_id))
    saved = {"extra_redactions": "\n".join(narrative.extra_redactions), "keep_facility": narrative.keep_facility,
             "version": narrative.version}
    return render(request, "reports/narrative.html", {
        "narrative": narrative, "content": content, "may_prepare": may_prepare, "reference": reference,
        "is_author": narrative.created_by_id == user.id,
        "consent": narratives.research_consent(db, narrative.person_id, today),
        "status_labels": NARRATIVE_STATUS_LABELS, "errors": {},
        "values": saved,
    })


@router.post("/reports/narratives/{narrative_id}/redactions")
@shown_on(NARRATIVE_PAGE)
def narrative_redactions(narrative: PreparedNarrative, db: DbSession, audit: Audit, user: User = Prepare,
                         data: RedactionsForm = Posted(RedactionsForm)) -> Response:
    narratives.set_redactions(db, narrative, data.version, data.terms(), data.keep_facility)
    audit.record("narrative.redactions_changed", narrative, narrative_id=narrative.id, terms=len(data.terms()),
                 keep_facility=data.keep_facility)
    return done(_url(narrative), "Redactions saved. The preview below shows the result.")


@router.post("/reports/narratives/{narrative_id}/submit")
@shown_on(NARRATIVE_PAGE)
def narrative_submit(narrative: PreparedNarrative, db: DbSession, audit: Audit, user: User = Prepare,
                     data: VersionForm = Posted(VersionForm)) -> Response:
    settings = get_settings()
    content = narratives.submit(db, narrative, data.version, organisation_today(settings), settings.disclosure_k,
                                datetime.now(UTC))
    audit.record("narrative.submitted", narrative, narrative_id=narrative.id, replacements=content["replacements"])
    return done(_url(narrative), "Submitted. Another coordinator or an administrator must approve it before "
                                 "anyone else can see it.")


@router.post("/reports/narratives/{narrative_id}/return")
@shown_on(NARRATIVE_PAGE)
def narrative_return(narrative: PreparedNarrative, db: DbSession, audit: Audit, user: User = Prepare,
                     data: VersionForm = Posted(VersionForm)) -> Response:
    narratives.send_back(db, narrative, data.version)
    audit.record("narrative.returned", narrative, narrative_id=narrative.id)
    return done(_url(narrative), "Sent back to draft.")


@router.post("/reports/narratives/{narrative_id}/approve")
@shown_on(NARRATIVE_PAGE)
def narrative_approve(narrative: PreparedNarrative, db: DbSession, audit: Audit, user: User = Prepare,
                      data: VersionForm = Posted(VersionForm)) -> Response:
    narratives.approve(db, narrative, data.version, user.id, organisation_today(get_settings()))
    audit.record("narrative.approved", narrative, narrative_id=narrative.id)
    return done(_url(narrative), "Approved and released. Researchers can now see and export it.")


def render_narrative_html(narrative: CaseNarrative) -> str:
    return templates.get_template("reports/narrative_print.html").render(content=narrative.content)


@router.post("/reports/narratives/{narrative_id}/export")
@shown_on(NARRATIVE_PAGE)
def narrative_export(narrative: VisibleNarrative, db: DbSession, audit: Audit, user: User = ViewSummaries,
                     data: ExportForm = Posted(ExportForm)) -> Response:
    narratives.check_exportable(db, narrative, user.id, organisation_today(get_settings()))
    html = render_narrative_html(narrative)
    output = html.encode() if data.output_format == "html" else exports.to_pdf(html)
    release = service.record_narrative_export(db, user, narrative.id, narrative.person_id, data.output_format,
                                              output, datetime.now(UTC))
    audit.record("narrative.exported", narrative, narrative_id=narrative.id, release_id=release.id,
                 output_format=release.output_format, output_sha256=release.output_sha256)
    # Straight to the file: a flash would wait for whichever page is opened next.
    return RedirectResponse(f"/reports/releases/{release.id}/download", status_code=303)


# --- the person-page section ------------------------------------------------------------------------------

def narratives_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    may_prepare = has_permission(user.role, Permission.prepare_narratives)
    rows = list(db.scalars(select(CaseNarrative).where(CaseNarrative.person_id == person.id)
                           .order_by(CaseNarrative.created_at.desc()))) if may_prepare else []
    return {"may_prepare": may_prepare, "rows": rows, "status_labels": NARRATIVE_STATUS_LABELS,
            "consent": may_prepare and narratives.research_consent(db, person.id, organisation_today(get_settings()))}
