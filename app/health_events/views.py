"""Health event pages: record an event, record the end of an ongoing one; and the person page's section."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings
from app.db import DbSession
from app.health_events import service
from app.health_events.models import HealthEvent
from app.health_events.schemas import KIND_LABELS, HealthEventEndForm, HealthEventForm
from app.people import sections
from app.people.models import Person
from app.people.service import load_details
from app.people.views import person_or_refuse
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, validate_form
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/health-events")
RecordClinical = Depends(require(Permission.record_clinical))


def _audit(db: Session, request: Request, action: str, user: User, person: Person, event: HealthEvent) -> None:
    audit.record(db, action, actor_id=user.id, person_id=person.id, object_type="health_event", object_id=event.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, kind=event.kind.value)


def _done(reference: str, message: str) -> Response:
    response = RedirectResponse(f"/people/{reference}#health-events-section", status_code=303)
    flash.add(response, message)
    return response


def _now() -> datetime:
    return datetime.now(UTC)


def _page(request: Request, db: Session, person: Person, *, event: HealthEvent | None, values: dict[str, Any],
          errors: dict[str, str], status_code: int = 200) -> Response:
    details = load_details(db, person)
    return render(request, "health_events/form.html", {
        "person": person, "names": {"given_names": details.get("given_names", ""),
                                    "family_name": details.get("family_name", "")},
        "event": event, "values": values, "errors": errors,
        "kinds": [(k.value, label) for k, label in KIND_LABELS.items()],
        "kind_labels": KIND_LABELS, "zone": get_settings().time_zone, "action": request.url.path,
    }, status_code=status_code)


def _event_or_404(db: Session, person: Person, event_id: int, *, for_update: bool = False) -> HealthEvent:
    event = service.get_for_person(db, person.id, event_id, for_update=for_update)
    if event is None:
        raise HTTPException(status_code=404)
    return event


@router.get("/new")
def event_new(request: Request, reference: str, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _page(request, db, person, event=None, values={}, errors={})


@router.post("/new")
def event_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                 user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, HealthEventForm)
    data = result.data
    if data is not None:
        try:
            event = service.record_event(db, user, person, data, _now())
        except service.HealthEventRuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _page(request, db, person, event=None, values=result.values, errors=result.errors, status_code=422)
    _audit(db, request, "health_event.recorded", user, person, event)
    return _done(reference, f"{KIND_LABELS[event.kind]} recorded.")


@router.get("/{event_id}/end")
def event_end_form(request: Request, reference: str, event_id: int, db: DbSession,
                   user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    event = _event_or_404(db, person, event_id)
    errors = {}
    if event.ended_at is not None:
        errors[FORM_ERROR] = "This has already been recorded as ended."
    return _page(request, db, person, event=event, values={}, errors=errors)


@router.post("/{event_id}/end")
def event_end(request: Request, reference: str, event_id: int, db: DbSession, form: PostedForm,
              user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    event = _event_or_404(db, person, event_id, for_update=True)
    result = validate_form(form, HealthEventEndForm)
    data = result.data
    if data is not None:
        try:
            service.end_event(db, user, person, event, data.ended_at, _now())
        except service.HealthEventRuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _page(request, db, person, event=event, values=result.values, errors=result.errors, status_code=422)
    _audit(db, request, "health_event.ended", user, person, event)
    return _done(reference, f"End recorded: {KIND_LABELS[event.kind]}.")


# --- the person page's section ---------------------------------------------------------------------

def health_events_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    data = service.section(db, person, _now())
    data.update(may_record=has_permission(user.role, Permission.record_clinical), kind_labels=KIND_LABELS)
    return data


sections.register("health_events", order=30, template="health_events/_section.html", build=health_events_section)
