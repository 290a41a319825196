"""The admin's facility pages: list the estate, add a facility, change its details, close and reopen it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission
from app.db import DbSession
from app.detention import service
from app.detention.models import FACILITY_TYPE_LABELS, Facility
from app.detention.schemas import FacilityCloseForm, FacilityForm
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, validate_form
from app.web.templating import render

facilities_router = APIRouter(prefix="/admin/facilities")
ManageReferenceData = Depends(require(Permission.manage_reference_data))
TYPE_CHOICES = [(t.value, label) for t, label in FACILITY_TYPE_LABELS.items()]
LIST_PATH = "/admin/facilities"


def _facility_or_404(db: DbSession, facility_id: int) -> Facility:
    facility = service.get_facility(db, facility_id)
    if facility is None:
        raise HTTPException(status_code=404)
    return facility


def _values_of(facility: Facility) -> dict[str, object]:
    return {
        "name": facility.name, "type": facility.type.value, "operator": facility.operator or "",
        "region": facility.region or "",
        "opened_date": facility.opened_date.isoformat() if facility.opened_date else "",
    }


def _rule_errors(exc: service.FacilityRuleError, fields: set[str]) -> dict[str, str]:
    # A rule about the facility as a whole (e.g. already closed) has no field of its own on the page.
    return {(name if name in fields else FORM_ERROR): message for name, message in exc.errors.items()}


def _form_page(request: Request, *, facility: Facility | None, errors: dict[str, str],
               values: dict[str, object], usage: service.FacilityUsage | None = None,
               status_code: int = 200) -> Response:
    return render(request, "detention/facility_form.html", {
        "facility": facility, "errors": errors, "values": values, "types": TYPE_CHOICES,
        "type_labels": FACILITY_TYPE_LABELS, "usage": usage,
    }, status_code=status_code)


def _edit_page(request: Request, db: DbSession, facility: Facility, *, errors: dict[str, str] | None = None,
               values: dict[str, object] | None = None, status_code: int = 200) -> Response:
    return _form_page(request, facility=facility, errors=errors or {}, values=values or _values_of(facility),
                      usage=service.facility_usage(db, facility.id), status_code=status_code)


def _audit(request: Request, db: DbSession, action: str, admin: User, facility: Facility, **details: Any) -> None:
    audit.record(db, action, actor_id=admin.id, object_type="facility", object_id=facility.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, **details)


def _done(message: str) -> Response:
    response = RedirectResponse(LIST_PATH, status_code=303)
    flash.add(response, message)
    return response


@facilities_router.get("", dependencies=[ManageReferenceData])
def facilities_list(request: Request, db: DbSession) -> Response:
    facilities = service.list_facilities(db)
    return render(request, "detention/facilities.html", {
        "open_facilities": [f for f in facilities if f.is_active],
        "closed_facilities": [f for f in facilities if not f.is_active],
        "type_labels": FACILITY_TYPE_LABELS,
    })


@facilities_router.get("/new", dependencies=[ManageReferenceData])
def facility_new(request: Request) -> Response:
    return _form_page(request, facility=None, errors={}, values={})


@facilities_router.post("/new")
def facility_create(request: Request, db: DbSession, form: PostedForm,
                    admin: User = ManageReferenceData) -> Response:
    result = validate_form(form, FacilityForm)
    data = result.data
    if data is not None:
        try:
            facility = service.create_facility(db, name=data.name, type=data.type, operator=data.operator,
                                               region=data.region, opened_date=data.opened_date)
        except service.FacilityRuleError as exc:
            result.errors.update(_rule_errors(exc, set(FacilityForm.model_fields)))
    if not result.ok or data is None:
        return _form_page(request, facility=None, errors=result.errors, values=result.values, status_code=422)
    _audit(request, db, "admin.facility_created", admin, facility, name=facility.name, type=facility.type.value)
    return _done(f"{facility.name} added.")


@facilities_router.get("/{facility_id}", dependencies=[ManageReferenceData])
def facility_edit(request: Request, facility_id: int, db: DbSession) -> Response:
    return _edit_page(request, db, _facility_or_404(db, facility_id))


@facilities_router.post("/{facility_id}")
def facility_update(request: Request, facility_id: int, db: DbSession, form: PostedForm,
                    admin: User = ManageReferenceData) -> Response:
    facility = _facility_or_404(db, facility_id)
    result = validate_form(form, FacilityForm)
    data = result.data
    changes: dict[str, list[object]] = {}
    if data is not None:
        try:
            changes = service.update_facility(db, facility, name=data.name, type=data.type, operator=data.operator,
                                              region=data.region, opened_date=data.opened_date)
        except service.FacilityRuleError as exc:
            result.errors.update(_rule_errors(exc, set(FacilityForm.model_fields)))
    if not result.ok or data is None:
        return _edit_page(request, db, facility, errors=result.errors, values=result.values, status_code=422)
    if changes:
        _audit(request, db, "admin.facility_changed", admin, facility, changes=changes)
    return _done(f"{facility.name} updated." if changes else "Nothing was changed.")


@facilities_router.post("/{facility_id}/close")
def facility_close(request: Request, facility_id: int, db: DbSession, form: PostedForm,
                   admin: User = ManageReferenceData) -> Response:
    facility = _facility_or_404(db, facility_id)
    result = validate_form(form, FacilityCloseForm)
    data = result.data
    if data is not None:
        try:
            service.close_facility(db, facility, closed_date=data.closed_date)
        except service.FacilityRuleError as exc:
            result.errors.update(_rule_errors(exc, set(FacilityCloseForm.model_fields)))
    if not result.ok or data is None:
        values = _values_of(facility) | {"closed_date": result.values.get("closed_date", "")}
        return _edit_page(request, db, facility, errors=result.errors, values=values, status_code=422)
    _audit(request, db, "admin.facility_closed", admin, facility, closed_date=data.closed_date.isoformat())
    return _done(f"{facility.name} closed. It stays on the records that name it.")


@facilities_router.post("/{facility_id}/reopen")
def facility_reopen(request: Request, facility_id: int, db: DbSession,
                    admin: User = ManageReferenceData) -> Response:
    facility = _facility_or_404(db, facility_id)
    try:
        previous = service.reopen_facility(db, facility)
    except service.FacilityRuleError as exc:
        return _edit_page(request, db, facility, errors=_rule_errors(exc, set()), status_code=422)
    _audit(request, db, "admin.facility_reopened", admin, facility,
           previous_closed_date=previous.isoformat() if previous else None)
    return _done(f"{facility.name} is open again.")
