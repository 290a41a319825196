"""The person page, the subject access export, and the legal hold and erasure pages of a person's record."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts import triggers
from app.audit import revisions
from app.audit.deps import Audit
from app.audit.models import Outcome, Revision
from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission
from app.casefile import closing, erasure, sections, subject_access, timeline
from app.casefile.schemas import CloseCaseForm, ErasureForm, HandoverForm, LegalHoldForm, ReopenCaseForm
from app.config import get_settings, organisation_today
from app.contacts import service as contacts
from app.db import DbSession
from app.detention import clock
from app.detention.models import END_REASON_LABELS
from app.errors import FORM_ERROR, RuleBroken
from app.people import handover
from app.people import service as people_service
from app.people.dependencies import CaseInScope
from app.people.models import AAR_INDICATOR_LABELS, Person
from app.people.schemas import AAR_SOURCE_LABELS, nationality_name
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

# Included after the people router: "/people/new" must reach its own route before "/people/{reference}" here.
router = APIRouter(prefix="/people/{reference}")
ManageHolds = Depends(require(Permission.manage_legal_holds))
ErasePeople = Depends(require(Permission.erase_people))
ViewPerson = Depends(require(Permission.view_person))
ExportSubjectAccess = Depends(require(Permission.export_subject_access))
EditPerson = Depends(require(Permission.edit_person))


def _section(person: Person) -> str:
    return f"/people/{person.reference}#legal-hold"


# --- the person page -----------------------------------------------------------------------------

@router.get("")
def person_show(request: Request, person: CaseInScope, db: DbSession, audit: Audit,
                user: User = ViewPerson) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    details = people_service.load_details(db, person)
    episodes, placements = timeline.detention_history(db, person.id)
    reading = clock.read_clock([clock.Episode(e.start_date, e.end_date) for e in episodes], today)
    current = next((e for e in episodes if e.end_date is None), None)
    current_facility = next((f for p, f in reversed(placements)
                             if current is not None and p.episode_id == current.id and p.date_out is None), None)
    # From the kept flags, which any change to the case marks stale; worked out live only when they are.
    cutoffs = alerts.Cutoffs.for_day(today, settings)
    fired = alert_state.firing(db, cutoffs, [person.id]).get(person.id, [])
    # What triggered each alert and the link that resolves it: at most one more statement (app/alerts/triggers.py).
    fired_alerts = triggers.for_person(db, person, fired, cutoffs, settings, episode=current, placements=placements)
    history = db.execute(
        select(Revision, User.display_name).outerjoin(User, User.id == Revision.actor_user_id)
        .where(Revision.person_id == person.id).order_by(Revision.occurred_at.desc(), Revision.id.desc()).limit(50)
    ).all()
    extra_sections = sections.build_all(db, user, person)
    representative = contacts.current(db, person.id)
    audit.record("person.viewed", person)
    return render(request, "casefile/person.html", {
        "sections": extra_sections,
        "person": person, "details": details, "representative": representative, "reading": reading, "current": current,
        "current_facility": current_facility, "alerts": fired_alerts, "settings": settings, "today": today,
        "assignments": people_service.current_assignments(db, person.id),
        "clinicians": people_service.clinicians(db) if user.role in (Role.admin, Role.coordinator) else [],
        "can_edit": user.role in (Role.admin, Role.coordinator), "episodes": episodes, "placements": placements,
        "entries": timeline.build(db, person.id, episodes, placements), "history": history,
        "changed_fields": revisions.changed_fields, "nationality_name": nationality_name,
        "indicator_labels": {i.value: label for i, label in AAR_INDICATOR_LABELS.items()},
        "end_reason_labels": END_REASON_LABELS, "aar_source_labels": AAR_SOURCE_LABELS,
        "errors": {}, "values": {},
    })


# --- closing and reopening ----------------------------------------------------------------------

@router.post("/close")
@shown_on("/people/{reference}")
def case_close(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
               data: CloseCaseForm = Posted(CloseCaseForm)) -> Response:
    closing.close_case(db, user, person, data.version, data.closed_date, data.closing_reason,
                       organisation_today(get_settings()))
    audit.record("case.closed", person, closed_date=data.closed_date.isoformat(),
                 closing_reason=data.closing_reason.value)
    return done(f"/people/{person.reference}#case-section",
                "Case closed. It has left the caseload and the dashboard, and stays searchable.")


@router.post("/reopen")
@shown_on("/people/{reference}")
def case_reopen(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                data: ReopenCaseForm = Posted(ReopenCaseForm)) -> Response:
    closed_date, reason = closing.reopen_case(db, user, person, data.version)
    audit.record("case.reopened", person, closed_date=closed_date.isoformat(),
                 closing_reason=reason.value if reason else None)
    return done(f"/people/{person.reference}#case-section", "Case reopened. Its history is kept.")


@router.post("/handover")
@shown_on("/people/{reference}")
def case_hand_over(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                   data: HandoverForm = Posted(HandoverForm)) -> Response:
    given = handover.hand_over(db, user, person, data.version, data.to_user_id, data.note)
    audit.record("case.handed_over", person, from_user_id=given.from_user_id, to_user_id=given.to_user_id)
    return done(f"/people/{person.reference}#case-section", f"Case handed over. Both of you will see it on your "
                                                              f"home page for {handover.RECENT_DAYS} days.")


# --- subject access ------------------------------------------------------------------------------

@router.post("/subject-access")
def subject_access_export(person: CaseInScope, db: DbSession, audit: Audit,
                          user: User = ExportSubjectAccess) -> Response:
    """The person's whole record for them: person.json, their documents and summary.pdf in one ZIP.
    A POST (it writes an audit row) sent from the person page with the CSRF token."""
    limit = get_settings().subject_access_limit_mb * 1024 * 1024
    try:
        export = subject_access.build(db, person, user, limit_bytes=limit)
    except subject_access.ExportTooLarge as exc:
        audit.record("person.subject_access_refused", person, outcome=Outcome.failure,
                     reason="too_large", size_bytes=exc.size_bytes, limit_bytes=exc.limit_bytes)
        return done(f"/people/{person.reference}#subject-access", (
            f"This record's documents come to more than the {limit // (1024 * 1024)} MB a subject access export "
            "may hold, so nothing was made. An administrator can raise CASEWORK_SUBJECT_ACCESS_LIMIT_MB."),
            kind="warning")
    audit.record("person.subject_access_exported", person, documents=export.documents,
                 size_bytes=len(export.content), sha256=export.sha256)
    return Response(content=export.content, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        "Cache-Control": "no-store",
    })


# --- legal hold --------------------------------------------------------------------------------------------

@router.get("/legal-hold")
def legal_hold_form(request: Request, person: CaseInScope, db: DbSession, user: User = ManageHolds) -> Response:
    if erasure.current_hold(db, person.id) is not None:
        return done(_section(person), "This record is already under a legal hold.", kind="warning")
    return render(request, "casefile/legal_hold.html", {
        "person": person, "details": people_service.load_details(db, person), "values": {}, "errors": {},
    })


@router.post("/legal-hold")
def legal_hold_set(person: CaseInScope, db: DbSession, audit: Audit, user: User = ManageHolds,
                   data: LegalHoldForm = Posted(LegalHoldForm)) -> Response:
    hold = erasure.set_hold(db, user, person, data.reason)
    audit.record("person.legal_hold_set", person, hold_id=hold.id)
    return done(_section(person), "Legal hold set. The record cannot be erased until the hold is lifted.")


@router.post("/legal-hold/lift")
@shown_on("/people/{reference}")
def legal_hold_lift(person: CaseInScope, db: DbSession, audit: Audit, user: User = ManageHolds) -> Response:
    hold = erasure.lift_hold(db, user, person)
    audit.record("person.legal_hold_lifted", person, hold_id=hold.id)
    return done(_section(person), "Legal hold lifted.")


# --- erasure -----------------------------------------------------------------------------------------------

def _erase_page(request: Request, db: Session, person: Person, values: dict[str, Any], errors: dict[str, str],
                status_code: int = 200) -> Response:
    counts = erasure.row_counts(db, person.id)
    return render(request, "casefile/erase.html", {
        "person": person, "details": people_service.load_details(db, person),
        "hold": erasure.current_hold(db, person.id),
        "held_message": erasure.HELD_MESSAGE,
        "counts": [(erasure.kind_label(name), n) for name, n in erasure.in_reading_order(counts)],
        "total": sum(counts.values()), "shreds_key": "person_keys" in counts,
        "reasons": [(r.value, erasure.ERASURE_REASON_LABELS[r]) for r in erasure.MANUAL_REASONS],
        "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("/erase")
def erase_form(request: Request, person: CaseInScope, db: DbSession, audit: Audit,
               user: User = ErasePeople) -> Response:
    # Opening this page shows the record's names and what it holds: recorded like any other view of it.
    audit.record("person.erasure_viewed", person, held=erasure.current_hold(db, person.id) is not None)
    return _erase_page(request, db, person, {}, {})


@router.post("/erase")
def erase_submit(request: Request, person: CaseInScope, db: DbSession, audit: Audit, user: User = ErasePeople,
                 data: ErasureForm = Posted(ErasureForm)) -> Response:
    if people_service.normalise_reference(data.confirm_reference) != person.reference:
        raise RuleBroken.on("confirm_reference", f"That is not this record's reference. Type {person.reference} "
                                                 "exactly as shown to confirm.")
    try:
        erased = erasure.erase(db, person, data.reason, actor_id=user.id, ip_address=audit.ip_address,
                               correlation_id=audit.correlation_id)
    except erasure.ErasureRefused as refused:
        # A hold set since the page was opened. The refusal is kept, so this answer commits rather than raising.
        audit.record("person.erasure_refused", person, outcome=Outcome.denied, reason=refused.reason)
        return _erase_page(request, db, person, request.state.submitted.values, {FORM_ERROR: refused.message},
                           status_code=409)
    return done("/people", f"Record {erased.reference} erased: {sum(erased.rows.values())} rows deleted. The audit "
                           "log keeps a record that it was erased, with no personal data.")
