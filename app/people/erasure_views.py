"""Legal hold and erasure pages on a person's record, and the legal-hold section of the person page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.db import DbSession
from app.people import erasure, sections
from app.people.models import LegalHold, Person
from app.people.schemas import ErasureForm, LegalHoldForm
from app.people.service import load_details, normalise_reference
from app.people.views import person_or_refuse
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, validate_form
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}")
ManageHolds = Depends(require(Permission.manage_legal_holds))
ErasePeople = Depends(require(Permission.erase_people))


def _audit(db: Session, request: Request, action: str, user: User, person: Person, **details: Any) -> None:
    audit.record(db, action, actor_id=user.id, person_id=person.id, object_type="person", object_id=person.reference,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, **details)


def _to_person(reference: str, message: str, *, kind: str = "success") -> Response:
    response = RedirectResponse(f"/people/{reference}#legal-hold", status_code=303)
    flash.add(response, message, kind=kind)
    return response


# --- legal hold --------------------------------------------------------------------------------------------

def _hold_page(request: Request, db: Session, person: Person, values: dict[str, Any], errors: dict[str, str],
               status_code: int = 200) -> Response:
    return render(request, "people/legal_hold.html", {
        "person": person, "details": load_details(db, person), "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("/legal-hold")
def legal_hold_form(request: Request, reference: str, db: DbSession, user: User = ManageHolds) -> Response:
    person = person_or_refuse(db, request, user, reference)
    if erasure.current_hold(db, person.id) is not None:
        return _to_person(reference, "This record is already under a legal hold.", kind="warning")
    return _hold_page(request, db, person, {}, {})


@router.post("/legal-hold")
def legal_hold_set(request: Request, reference: str, db: DbSession, form: PostedForm,
                   user: User = ManageHolds) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, LegalHoldForm)
    if result.data is None:
        return _hold_page(request, db, person, result.values, result.errors, status_code=422)
    try:
        hold = erasure.set_hold(db, user, person, result.data.reason)
    except erasure.HoldError as exc:
        return _hold_page(request, db, person, result.values, {exc.field: exc.message}, status_code=422)
    _audit(db, request, "person.legal_hold_set", user, person, hold_id=hold.id)
    return _to_person(reference, "Legal hold set. The record cannot be erased until the hold is lifted.")


@router.post("/legal-hold/lift")
def legal_hold_lift(request: Request, reference: str, db: DbSession, user: User = ManageHolds) -> Response:
    person = person_or_refuse(db, request, user, reference)
    try:
        hold = erasure.lift_hold(db, user, person)
    except erasure.HoldError as exc:
        return _to_person(reference, exc.message, kind="warning")
    _audit(db, request, "person.legal_hold_lifted", user, person, hold_id=hold.id)
    return _to_person(reference, "Legal hold lifted.")


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
def erase_form(request: Request, reference: str, db: DbSession, user: User = ErasePeople) -> Response:
    person = person_or_refuse(db, request, user, reference)
    # Opening this page shows the record's names and what it holds: recorded like any other view of it.
    _audit(db, request, "person.erasure_viewed", user, person,
           held=erasure.current_hold(db, person.id) is not None)
    return _erase_page(request, db, person, {}, {})


@router.post("/erase")
def erase_submit(request: Request, reference: str, db: DbSession, form: PostedForm,
                 user: User = ErasePeople) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, ErasureForm)
    errors = dict(result.errors)
    typed = str(result.values.get("confirm_reference") or "")
    if typed and "confirm_reference" not in errors and normalise_reference(typed) != person.reference:
        errors["confirm_reference"] = (f"That is not this record's reference. Type {person.reference} exactly as "
                                       "shown to confirm.")
    if errors or result.data is None:
        return _erase_page(request, db, person, result.values, errors, status_code=422)
    try:
        erased = erasure.erase(db, person, result.data.reason, actor_id=user.id, ip_address=client_ip(request),
                               correlation_id=request.state.correlation_id)
    except erasure.ErasureRefused as refused:
        erasure.record_refusal(db, person, refused, actor_id=user.id, ip_address=client_ip(request),
                               correlation_id=request.state.correlation_id)
        return _erase_page(request, db, person, result.values, {FORM_ERROR: refused.message}, status_code=409)
    response = RedirectResponse("/people", status_code=303)
    flash.add(response, f"Record {erased.reference} erased: {sum(erased.rows.values())} rows deleted. The audit "
                        "log keeps a record that it was erased, with no personal data.")
    return response
