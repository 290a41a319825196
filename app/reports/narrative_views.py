"""Case narrative pages: start from a person's record, preview and redact, approve, and export once released."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit import service as audit
from app.audit.models import Outcome
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.people import sections
from app.people.models import Person
from app.people.views import person_or_refuse
from app.reports import exports, narratives, service
from app.reports.models import NARRATIVE_STATUS_LABELS, CaseNarrative, NarrativeStatus
from app.reports.schemas import ExportForm, RedactionsForm, VersionForm
from app.web import flash
from app.web.forms import PostedForm, validate_form
from app.web.templating import render, templates

router = APIRouter()
ViewSummaries = Depends(require(Permission.view_summaries))
Prepare = Depends(require(Permission.prepare_narratives))


def _today() -> date:
    return organisation_today(get_settings())


def _audit(db: DbSession, request: Request, action: str, user: User, narrative: CaseNarrative, *,
           outcome: Outcome = Outcome.success, **details: Any) -> None:
    # The person is named on the audit row so that their record's history shows the narrative; researchers
    # never read the audit log.
    audit.record(db, action, actor_id=user.id, outcome=outcome, person_id=narrative.person_id,
                 object_type="case_narrative", object_id=narrative.id, ip_address=client_ip(request),
                 correlation_id=request.state.correlation_id, narrative_id=narrative.id, **details)


def _redirect(narrative_id: int, message: str, kind: str = "success") -> Response:
    response = RedirectResponse(f"/reports/narratives/{narrative_id}", status_code=303)
    flash.add(response, message, kind=kind)
    return response


@router.post("/people/{reference}/narratives")
def narrative_start(request: Request, reference: str, db: DbSession, form: PostedForm,
                    user: User = Prepare) -> Response:
    person = person_or_refuse(db, request, user, reference)
    try:
        narrative = narratives.start(db, user.id, person, _today())
    except narratives.NarrativeRuleError as exc:
        response = RedirectResponse(f"/people/{reference}#narratives", status_code=303)
        flash.add(response, exc.message, kind="warning")
        return response
    _audit(db, request, "narrative.created", user, narrative)
    return _redirect(narrative.id, "Draft narrative started. Check every replacement before submitting it.")


@router.get("/reports/narratives")
def narrative_list(request: Request, db: DbSession, user: User = ViewSummaries) -> Response:
    may_prepare = has_permission(user.role, Permission.prepare_narratives)
    rows = narratives.all_narratives(db) if may_prepare else [(n, None) for n in
                                                               narratives.visible_to_researchers(db, _today())]
    return render(request, "reports/narratives.html", {
        "rows": rows, "may_prepare": may_prepare, "status_labels": NARRATIVE_STATUS_LABELS,
    })


def _narrative_for(db: Session, user: User, narrative_id: int) -> CaseNarrative:
    """Preparers see every narrative; anyone else only a released one whose person's consent still stands.
    Anything else is 404, so a researcher cannot even learn that a draft exists."""
    narrative = db.get(CaseNarrative, narrative_id)
    if narrative is None:
        raise HTTPException(status_code=404)
    if has_permission(user.role, Permission.prepare_narratives):
        return narrative
    if narrative.status is not NarrativeStatus.released or \
            not narratives.research_consent(db, narrative.person_id, _today()):
        raise HTTPException(status_code=404)
    return narrative


def _page(request: Request, db: DbSession, user: User, narrative: CaseNarrative, *,
          errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    may_prepare = has_permission(user.role, Permission.prepare_narratives)
    today = _today()
    content = narrative.content
    if content is None:
        content = narratives.compose(db, narrative, today, get_settings().disclosure_k)
    reference = None
    if may_prepare:
        reference = db.scalar(select(Person.reference).where(Person.id == narrative.person_id))
    consent = narratives.research_consent(db, narrative.person_id, today)
    return render(request, "reports/narrative.html", {
        "narrative": narrative, "content": content, "may_prepare": may_prepare, "reference": reference,
        "is_author": narrative.created_by_id == user.id, "consent": consent,
        "status_labels": NARRATIVE_STATUS_LABELS, "errors": errors or {},
        "values": values or {"extra_redactions": "\n".join(narrative.extra_redactions),
                             "keep_facility": narrative.keep_facility, "version": narrative.version},
    }, status_code=status_code)


@router.get("/reports/narratives/{narrative_id}")
def narrative_show(request: Request, narrative_id: int, db: DbSession, user: User = ViewSummaries) -> Response:
    narrative = _narrative_for(db, user, narrative_id)
    _audit(db, request, "narrative.viewed", user, narrative, status=narrative.status.value)
    return _page(request, db, user, narrative)


def _version_matches(narrative: CaseNarrative, version: int) -> bool:
    return narrative.version == version


def _stale(narrative_id: int) -> Response:
    return _redirect(narrative_id, "Someone else changed this narrative while you had it open. Nothing was "
                                   "saved: check it again below.", kind="warning")


@router.post("/reports/narratives/{narrative_id}/redactions")
def narrative_redactions(request: Request, narrative_id: int, db: DbSession, form: PostedForm,
                         user: User = Prepare) -> Response:
    narrative = _narrative_for(db, user, narrative_id)
    result = validate_form(form, RedactionsForm)
    data = result.data
    if data is None:
        return _page(request, db, user, narrative, errors=result.errors, values=result.values, status_code=422)
    if not _version_matches(narrative, data.version):
        return _stale(narrative_id)
    try:
        narratives.set_redactions(db, narrative, data.terms(), data.keep_facility)
    except narratives.NarrativeRuleError as exc:
        return _redirect(narrative_id, exc.message, kind="warning")
    _audit(db, request, "narrative.redactions_changed", user, narrative, terms=len(data.terms()),
           keep_facility=data.keep_facility)
    return _redirect(narrative_id, "Redactions saved. The preview below shows the result.")


def _versioned_action(request: Request, narrative_id: int, db: DbSession, form: Any,
                      user: User) -> tuple[CaseNarrative | None, Response | None]:
    narrative = _narrative_for(db, user, narrative_id)
    result = validate_form(form, VersionForm)
    if result.data is None or not _version_matches(narrative, result.data.version):
        return None, _stale(narrative_id)
    return narrative, None


@router.post("/reports/narratives/{narrative_id}/submit")
def narrative_submit(request: Request, narrative_id: int, db: DbSession, form: PostedForm,
                     user: User = Prepare) -> Response:
    narrative, refused = _versioned_action(request, narrative_id, db, form, user)
    if narrative is None:
        return refused  # type: ignore[return-value]
    content = narratives.compose(db, narrative, _today(), get_settings().disclosure_k)
    try:
        narratives.submit(db, narrative, content, datetime.now(UTC))
    except narratives.NarrativeRuleError as exc:
        return _redirect(narrative_id, exc.message, kind="warning")
    _audit(db, request, "narrative.submitted", user, narrative, replacements=content["replacements"])
    return _redirect(narrative_id, "Submitted. Another coordinator or an administrator must approve it before "
                                   "anyone else can see it.")


@router.post("/reports/narratives/{narrative_id}/return")
def narrative_return(request: Request, narrative_id: int, db: DbSession, form: PostedForm,
                     user: User = Prepare) -> Response:
    narrative, refused = _versioned_action(request, narrative_id, db, form, user)
    if narrative is None:
        return refused  # type: ignore[return-value]
    try:
        narratives.send_back(db, narrative)
    except narratives.NarrativeRuleError as exc:
        return _redirect(narrative_id, exc.message, kind="warning")
    _audit(db, request, "narrative.returned", user, narrative)
    return _redirect(narrative_id, "Sent back to draft.")


@router.post("/reports/narratives/{narrative_id}/approve")
def narrative_approve(request: Request, narrative_id: int, db: DbSession, form: PostedForm,
                      user: User = Prepare) -> Response:
    narrative, refused = _versioned_action(request, narrative_id, db, form, user)
    if narrative is None:
        return refused  # type: ignore[return-value]
    try:
        narratives.approve(db, narrative, user.id, _today())
    except narratives.NarrativeRuleError as exc:
        _audit(db, request, "narrative.refused", user, narrative, outcome=Outcome.denied, reason=exc.message)
        return _redirect(narrative_id, exc.message, kind="warning")
    _audit(db, request, "narrative.approved", user, narrative)
    return _redirect(narrative_id, "Approved and released. Researchers can now see and export it.")


def render_narrative_html(narrative: CaseNarrative) -> str:
    return templates.get_template("reports/narrative_print.html").render(content=narrative.content)


@router.post("/reports/narratives/{narrative_id}/export")
def narrative_export(request: Request, narrative_id: int, db: DbSession, form: PostedForm,
                     user: User = ViewSummaries) -> Response:
    narrative = _narrative_for(db, user, narrative_id)
    result = validate_form(form, ExportForm)
    if result.data is None:
        raise HTTPException(status_code=422)
    # Consent is checked at the moment of export, not only when the narrative was approved.
    if narrative.status is not NarrativeStatus.released or \
            not narratives.research_consent(db, narrative.person_id, _today()):
        _audit(db, request, "narrative.refused", user, narrative, outcome=Outcome.denied,
               reason="not released or consent withdrawn")
        return _redirect(narrative_id, "This narrative cannot be exported: it is not released, or the person's "
                                       "consent to research no longer stands.", kind="warning")
    html = render_narrative_html(narrative)
    output = html.encode() if result.data.output_format == "html" else exports.to_pdf(html)
    release = service.record_narrative_export(db, user, narrative.id, narrative.person_id,
                                              result.data.output_format, output, datetime.now(UTC))
    _audit(db, request, "narrative.exported", user, narrative, release_id=release.id,
           output_format=release.output_format, output_sha256=release.output_sha256)
    return RedirectResponse(f"/reports/releases/{release.id}/download", status_code=303)


# --- the person-page section ------------------------------------------------------------------------------

def build_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    may_prepare = has_permission(user.role, Permission.prepare_narratives)
    rows = list(db.scalars(select(CaseNarrative).where(CaseNarrative.person_id == person.id)
                           .order_by(CaseNarrative.created_at.desc()))) if may_prepare else []
    return {"may_prepare": may_prepare, "rows": rows, "status_labels": NARRATIVE_STATUS_LABELS,
            "consent": may_prepare and narratives.research_consent(db, person.id, _today())}


sections.register("narratives", order=45, template="reports/_person_section.html", build=build_section)
