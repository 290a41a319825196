"""Medico-legal report pages: the instruction, the report page, starting and editing the draft, sending it for
peer review, the review, the sign-off (a check-your-answers page), the PDF of a signed report, recording its
service; and the person page's list of reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.contacts import service as contacts
from app.db import DbSession
from app.errors import NotFound, StaleForm, found
from app.evidence.storage import content_disposition
from app.medicolegal import pdf, seal, service
from app.medicolegal.models import PAPERS, SECTIONS, MedicoLegalReport, ReportState
from app.medicolegal.schemas import (
    DECISION_LABELS,
    PAPER_LABELS,
    SECTION_HINTS,
    SECTION_LABELS,
    STATE_LABELS,
    Decision,
    InstructionForm,
    ReportActionForm,
    ReviewForm,
    ReviewRequestForm,
    SectionsForm,
    ServedForm,
    SignForm,
)
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.web.forms import Posted, shown_on
from app.web.params import Id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/reports")
ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
LIST_FIELDS = frozenset({"papers"})
SHOW_PAGE = "/people/{reference}/reports/{report_id}"


def report_in_case(request: Request, person: CaseInScope, report_id: Id, db: DbSession) -> MedicoLegalReport:
    # A write locks the row (PostgreSQL), so two requests changing one report run one after the other.
    return found(service.get_for_person(db, person.id, report_id, for_update=request.method == "POST"))


CaseReport = Annotated[MedicoLegalReport, Depends(report_in_case)]


def _path(person: Person, report: MedicoLegalReport | None = None, suffix: str = "") -> str:
    base = f"/people/{person.reference}/reports"
    return base if report is None else f"{base}/{report.id}{suffix}"


def _closed(request: Request, person: Person, report: MedicoLegalReport, stale: StaleForm) -> Response:
    """A page this report's state no longer offers (a draft page of a signed report): said plainly, with 409."""
    return render(request, "medicolegal/report_closed.html", {"person": person, "report": report,
                                                             "message": stale.message}, status_code=409)


def _labels() -> dict[str, Any]:
    return {"section_labels": SECTION_LABELS, "section_hints": SECTION_HINTS, "paper_labels": PAPER_LABELS,
            "state_labels": STATE_LABELS, "sections": SECTIONS}


# --- the instruction ------------------------------------------------------------------------------

@router.get("/new")
def report_new(request: Request, person: CaseInScope, db: DbSession, user: User = RecordClinical) -> Response:
    today = organisation_today(get_settings())
    authors = service.author_choices(db, person.id) if service.coordinates(user) else []
    values: dict[str, Any] = {"received_date": today.isoformat(), "papers": [],
                              "legal_representative_id": contacts.current_id(db, person.id) or ""}
    if len(authors) == 1:
        values["author_id"] = authors[0][0]
    return render(request, "medicolegal/report_new.html", {
        "person": person, "details": load_details(db, person), "values": values, "errors": {},
        "consented": service.has_consent(db, person.id, today), "choose_author": service.coordinates(user),
        "authors": authors, "representatives": [(r.id, r.label) for r in contacts.choices(db)],
        "visits": service.visit_choices(db, person.id),
        "papers": [(name, PAPER_LABELS[name]) for name in PAPERS], "default_days": service.DEFAULT_DAYS,
        "action": request.url.path,
    })


@router.post("/new")
def report_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                  data: InstructionForm = Posted(InstructionForm, lists=LIST_FIELDS)) -> Response:
    report = service.instruct(db, user, person, data, organisation_today(get_settings()))
    audit.record("report.instructed", report, author_id=report.author_id, due_date=report.due_date.isoformat())
    return done(_path(person, report), "Instruction recorded. Start the draft when you are ready to write it.")


# --- the report page -----------------------------------------------------------------------------

def _seal_check(audit: Any, report: MedicoLegalReport) -> seal.SealCheck | None:
    if report.state not in (ReportState.signed, ReportState.served):
        return None
    checked = seal.check(report)
    if checked.state is seal.SealState.changed:
        audit.record("report.seal_broken", report, kept=checked.kept, now=checked.now)
    return checked


@router.get("/{report_id}.pdf")
def report_pdf(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit,
               user: User = ViewPerson) -> Response:
    """The signed report as a tagged PDF, named by the case reference and report number only."""
    if report.state not in (ReportState.signed, ReportState.served):
        raise NotFound
    page = service.load_page(db, report)
    checked = _seal_check(audit, report)
    content = pdf.render_pdf(person, page, checked)
    audit.record("report.pdf_downloaded", report, content_sha256=report.content_sha256)
    return Response(content=content, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(pdf.filename(person.reference, report)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })


@router.get("/{report_id}/versions/{number}")
def report_version(request: Request, person: CaseInScope, report: CaseReport, number: Id, db: DbSession,
                   audit: Audit, user: User = ViewPerson) -> Response:
    """The sections of one version kept, read only."""
    kept, saved_by = found(service.get_version(db, report, number))
    audit.record("report.version_viewed", report, number=number)
    return render(request, "medicolegal/report_version.html", {
        "person": person, "report": report, "number": number, "reason": kept.reason, "saved_by": saved_by,
        "saved_at": kept.saved_at, "sections": kept.sections, "section_names": SECTIONS,
        "section_labels": SECTION_LABELS,
    })


@router.get("/{report_id}")
def report_show(request: Request, person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit,
                user: User = ViewPerson) -> Response:
    audit.record("report.viewed", report)
    page = service.load_page(db, report)
    clinical = has_permission(user.role, Permission.record_clinical)
    today = organisation_today(get_settings())
    return render(request, "medicolegal/report_show.html", {
        "person": person, "details": load_details(db, person), "page": page, "report": report,
        "seal": _seal_check(audit, report), "today": today,
        "may_edit": clinical and service.may_edit(user, report),
        "may_review": clinical and service.may_review(user, report),
        "may_sign": clinical and service.may_sign(user, report),
        "may_serve": clinical and service.may_serve(user, report),
        "reviewers": service.reviewer_choices(db, person.id, report.author_id),
        "values": {"version": report.version, "reviewer_id": report.reviewer_id or "",
                   "served_date": today.isoformat(), "outcome": ""},
        "errors": {}, **_labels(),
    })


@router.post("/{report_id}/start")
@shown_on(SHOW_PAGE)
def report_start(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit, user: User = RecordClinical,
                 data: ReportActionForm = Posted(ReportActionForm)) -> Response:
    service.start_draft(db, user, person, report, data.version)
    audit.record("report.draft_started", report)
    return done(_path(person, report, "/edit"), "Draft started from the record. Check and edit every section.")


# --- the draft ------------------------------------------------------------------------------------

@router.get("/{report_id}/edit")
def report_edit(request: Request, person: CaseInScope, report: CaseReport, db: DbSession,
                user: User = RecordClinical) -> Response:
    try:
        service.check_may_edit(user, report)
    except StaleForm as stale:
        return _closed(request, person, report, stale)
    if report.state is ReportState.instructed:
        return done(_path(person, report), "Start the draft first.", kind="info")
    page = service.load_page(db, report)
    values: dict[str, Any] = {name: getattr(report, name) or "" for name in SECTIONS}
    values["version"] = report.version
    return render(request, "medicolegal/report_edit.html", {
        "person": person, "details": load_details(db, person), "page": page, "report": report,
        "returned": page.comments_of_round(report.review_round) if report.review_round else {},
        "values": values, "errors": {}, "action": request.url.path, **_labels(),
    })


@router.post("/{report_id}/edit")
def report_save(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: SectionsForm = Posted(SectionsForm)) -> Response:
    changed = service.save_sections(db, user, person, report, data)
    if changed:
        audit.record("report.draft_saved", report, sections=changed)
    return done(_path(person, report), "Draft saved. A copy of this version is kept." if changed
                else "Nothing was changed.")


@router.post("/{report_id}/send-for-review")
@shown_on(SHOW_PAGE)
def report_send(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: ReviewRequestForm = Posted(ReviewRequestForm)) -> Response:
    reviewer = service.send_for_review(db, user, person, report, data)
    audit.record("report.sent_for_review", report, reviewer_id=reviewer.id, round=report.review_round)
    return done(_path(person, report), f"Sent to {reviewer.display_name} for peer review.")


# --- the review -----------------------------------------------------------------------------------

@router.get("/{report_id}/review")
def report_review_page(request: Request, person: CaseInScope, report: CaseReport, db: DbSession,
                       user: User = RecordClinical) -> Response:
    try:
        service.check_may_review(user, report)
    except StaleForm as stale:
        return _closed(request, person, report, stale)
    return render(request, "medicolegal/report_review.html", {
        "person": person, "details": load_details(db, person), "page": service.load_page(db, report),
        "report": report, "decisions": [(d.value, label) for d, label in DECISION_LABELS.items()],
        "values": {"version": report.version}, "errors": {}, "action": request.url.path, **_labels(),
    })


@router.post("/{report_id}/review")
def report_review(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit, user: User = RecordClinical,
                  data: ReviewForm = Posted(ReviewForm)) -> Response:
    decision = service.review(db, user, person, report, data)
    comments = len(data.comments())
    if decision is Decision.approve:
        audit.record("report.approved", report, comments=comments, round=report.review_round)
        return done(_path(person, report), "Report approved. Its author can now sign it off.")
    audit.record("report.returned", report, comments=comments, round=report.review_round)
    return done(_path(person, report), "Report returned to its author with your comments.")


# --- the sign-off ---------------------------------------------------------------------------------

@router.get("/{report_id}/sign")
def report_sign_page(request: Request, person: CaseInScope, report: CaseReport, db: DbSession,
                     user: User = RecordClinical) -> Response:
    """The whole report as it will be signed, the declaration, then sign."""
    try:
        service.check_may_sign(user, report)
    except StaleForm as stale:
        return _closed(request, person, report, stale)
    return render(request, "medicolegal/report_sign.html", {
        "person": person, "details": load_details(db, person), "page": service.load_page(db, report),
        "report": report, "declaration": service.DECLARATION,
        "consented": service.has_consent(db, person.id, organisation_today(get_settings())),
        "values": {"version": report.version}, "errors": {}, "action": request.url.path, **_labels(),
    })


@router.post("/{report_id}/sign")
def report_sign(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: SignForm = Posted(SignForm)) -> Response:
    service.sign(db, user, person, report, data.version, data.declaration, organisation_today(get_settings()))
    audit.record("report.signed", report, content_sha256=report.content_sha256)
    return done(_path(person, report), "Report signed off and sealed. It can no longer be changed.")


@router.post("/{report_id}/served")
@shown_on(SHOW_PAGE)
def report_served(person: CaseInScope, report: CaseReport, db: DbSession, audit: Audit, user: User = RecordClinical,
                  data: ServedForm = Posted(ServedForm)) -> Response:
    service.record_served(db, user, person, report, data, organisation_today(get_settings()))
    audit.record("report.served", report, served_date=data.served_date.isoformat())
    return done(_path(person, report), "Service of the report recorded.")


# --- the person page's section ---------------------------------------------------------------------

def reports_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person's medico-legal reports with state and due date, in one statement."""
    return {"rows": service.for_person(db, person.id), "today": organisation_today(get_settings()),
            "state_labels": STATE_LABELS, "may_instruct": has_permission(user.role, Permission.record_clinical)}
