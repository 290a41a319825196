"""Legal hold and erasure pages on a person's record, and the legal-hold section of the person page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.audit.models import Outcome
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.db import DbSession
from app.errors import FORM_ERROR, RuleBroken
from app.people import erasure, sections
from app.people.dependencies import CaseInScope
from app.people.models import LegalHold, Person
from app.people.schemas import ErasureForm, LegalHoldForm
from app.people.service import load_details, normalise_reference
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}")
ManageHolds = Depends(require(Permission.manage_legal_holds))
ErasePeople = Depends(require(Permission.erase_people))


def _section(person: Person) -> str:
    return f"/people/{person.reference}#legal-hold"


# --- legal hold --------------------------------------------------------------------------------------------

@router.get("/legal-hold")
def legal_hold_form(request: Request, person: CaseInScope, db: DbSession, user: User = ManageHolds) -> Response:
    if erasure.current_hold(db, person.id) is not None:
        return done(_section(person), "This record is already under a legal hold.", kind="warning")
    return render(request, "people/legal_hold.html", {
        "person": person, "details": load_details(db, person), "values": {}, "errors": {},
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


def build_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    # One statement: the open hold, if any, with the name of whoever set it.
    row = db.execute(select(LegalHold, User.display_name).join(User, User.id == LegalHold.set_by_id)
                     .where(LegalHold.person_id == person.id, LegalHold.lifted_at.is_(None))).first()
    hold, set_by = (row[0], row[1]) if row else (None, None)
    return {"hold": hold, "set_by": set_by,
            "can_manage": has_permission(user.role, Permission.manage_legal_holds),
            "can_erase": has_permission(user.role, Permission.erase_people)}


sections.register("legal_hold", order=1, template="people/_legal_hold_section.html", build=build_section)


# --- erasure -----------------------------------------------------------------------------------------------

def _erase_page(request: Request, db: Session, person: Person, values: dict[str, Any], errors: dict[str, str],
                status_code: int = 200) -> Response:
    counts = erasure.row_counts(db, person.id)
    return render(request, "people/erase.html", {
        "person": person, "details": load_details(db, person), "hold": erasure.current_hold(db, person.id),
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
    if normalise_reference(data.confirm_reference) != person.reference:
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
