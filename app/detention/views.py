"""The admin's facility pages: list the estate, add a facility, change its details, close and reopen it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission
from app.db import DbSession
from app.detention import service
from app.detention.models import END_REASON_LABELS, FACILITY_TYPE_LABELS, BailOutcome, DetentionEpisode, Facility
from app.detention.schemas import (
    BailForm,
    EpisodeEndForm,
    EpisodeStartForm,
    FacilityCloseForm,
    FacilityForm,
    GpExamForm,
    TransferForm,
)
from app.people.models import Person
from app.people.service import VersionConflict, load_details
from app.people.views import person_or_refuse, stale_page
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


# --- detention episodes, transfers, bail (on a person's record) ---------------------------------------

episodes_router = APIRouter(prefix="/people/{reference}/episodes")
EditPerson = Depends(require(Permission.edit_person))

EPISODE_FORMS: dict[str, tuple[str, type]] = {
    "new": ("Record a detention", EpisodeStartForm),
    "transfer": ("Record a transfer", TransferForm),
    "end": ("End this detention", EpisodeEndForm),
    "bail": ("Record a bail application", BailForm),
    "exam": ("Record the admission GP examination", GpExamForm),
}


EPISODE_ACTIONS = ("transfer", "end", "bail", "exam")


def _person(request: Request, db: DbSession, user: User, reference: str) -> Person:
    return person_or_refuse(db, request, user, reference)


def _episode_page(request: Request, db: DbSession, person: Person, kind: str, *, episode_id: int | None = None,
                  values: dict[str, object] | None = None, errors: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    title, _ = EPISODE_FORMS[kind]
    episode = db.get(DetentionEpisode, episode_id) if episode_id is not None else None
    current = service.open_placement(db, episode.id) if episode is not None else None
    return render(request, "detention/episode_form.html", {
        "kind": kind, "title": title, "person": person, "details": load_details(db, person), "episode": episode,
        "current_facility": db.get(Facility, current.facility_id) if current else None,
        "facilities": [(f.id, f.name) for f in service.open_facilities(db)],
        "end_reasons": [(r.value, label) for r, label in END_REASON_LABELS.items()],
        "outcomes": [(o.value, o.value.capitalize()) for o in BailOutcome],
        "values": {"version": person.version} | (values or {}), "errors": errors or {},
        "action": request.url.path,
    }, status_code=status_code)


@episodes_router.get("/new")
def episode_new(request: Request, reference: str, db: DbSession, user: User = EditPerson) -> Response:
    return _episode_page(request, db, _person(request, db, user, reference), "new")


@episodes_router.get("/{episode_id}/{kind}")
def episode_action_form(request: Request, reference: str, episode_id: int, kind: str, db: DbSession,
                        user: User = EditPerson) -> Response:
    person = _person(request, db, user, reference)
    episode = db.get(DetentionEpisode, episode_id)
    if kind not in EPISODE_ACTIONS or episode is None or episode.person_id != person.id:
        raise HTTPException(status_code=404)
    if episode.end_date is not None:
        response = RedirectResponse(f"/people/{reference}", status_code=303)
        flash.add(response, "That detention has already ended.", kind="warning")
        return response
    return _episode_page(request, db, person, kind, episode_id=episode_id)


def _submit(request: Request, db: DbSession, user: User, reference: str, kind: str, form: Any,
            episode_id: int | None) -> Response:
    person = _person(request, db, user, reference)
    _, schema = EPISODE_FORMS[kind]
    result = validate_form(form, schema)
    data = result.data
    if data is None:
        return _episode_page(request, db, person, kind, episode_id=episode_id, values=result.values,
                             errors=result.errors, status_code=422)
    today = service.organisation_today()
    fields = data.model_dump(exclude={"version"})
    try:
        if kind == "new":
            episode = service.start_episode(db, user.id, person, version=data.version, today=today, **fields)
            action, details, message = "detention.episode_started", {"episode_id": episode.id}, "Detention recorded."
        else:
            assert episode_id is not None  # noqa: S101  (type narrowing: the code above guarantees it)
            operation = {"transfer": service.record_transfer, "end": service.end_episode,
                         "bail": service.record_bail, "exam": service.record_gp_exam}[kind]
            outcome = operation(db, user.id, person, episode_id, version=data.version, today=today, **fields)
            if kind == "transfer":
                action, message = "detention.transferred", "Transfer recorded."
                details = {"episode_id": episode_id, "placement_id": outcome.id}
            elif kind == "end":
                action, message = "detention.episode_ended", "Detention ended."
                details = {"episode_id": episode_id, "reason": data.end_reason.value}
            elif kind == "bail":
                action, message = "detention.bail_recorded", "Bail application recorded."
                details = {"episode_id": episode_id, "bail_outcome": data.outcome.value}
            else:
                action, message = "detention.gp_exam_recorded", "Admission GP examination recorded."
                details = {"episode_id": episode_id, "placement_id": outcome.id}
    except VersionConflict:
        return stale_page(request, db, f"/people/{person.reference}")
    except service.EpisodeRuleError as exc:
        db.rollback()
        person = db.scalars(select(Person).where(Person.reference == reference)).one()
        return _episode_page(request, db, person, kind, episode_id=episode_id, values=result.values,
                             errors=exc.errors, status_code=422)
    except LookupError:
        raise HTTPException(status_code=404) from None
    audit.record(db, action, actor_id=user.id, person_id=person.id, object_type="person",
                 object_id=person.reference, ip_address=client_ip(request),
                 correlation_id=request.state.correlation_id, **details)
    response = RedirectResponse(f"/people/{reference}", status_code=303)
    flash.add(response, message)
    return response


@episodes_router.post("/new")
def episode_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                   user: User = EditPerson) -> Response:
    return _submit(request, db, user, reference, "new", form, None)


@episodes_router.post("/{episode_id}/{kind}")
def episode_action(request: Request, reference: str, episode_id: int, kind: str, db: DbSession, form: PostedForm,
                   user: User = EditPerson) -> Response:
    if kind not in EPISODE_ACTIONS:
        raise HTTPException(status_code=404)
    return _submit(request, db, user, reference, kind, form, episode_id)
