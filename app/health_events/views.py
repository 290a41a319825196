"""Health event pages: record an event, record the end of an ongoing one; and the person page's section."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings
from app.db import DbSession
from app.errors import FORM_ERROR
from app.health_events import service
from app.health_events.dependencies import CaseHealthEvent
from app.health_events.models import HealthEvent
from app.health_events.schemas import KIND_LABELS, HealthEventEndForm, HealthEventForm
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.web.forms import Posted
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/health-events")
RecordClinical = Depends(require(Permission.record_clinical))


def _section_url(person: Person) -> str:
    return f"/people/{person.reference}#health-events-section"


def _now() -> datetime:
    return datetime.now(UTC)


def _page(request: Request, db: Session, person: Person, event: HealthEvent | None,
          errors: dict[str, str]) -> Response:
    return render(request, "health_events/form.html", {
        "person": person, "details": load_details(db, person), "event": event, "values": {}, "errors": errors,
        "kinds": [(k.value, label) for k, label in KIND_LABELS.items()],
        "kind_labels": KIND_LABELS, "zone": get_settings().time_zone, "action": request.url.path,
    })


@router.get("/new", dependencies=[RecordClinical])
def event_new(request: Request, person: CaseInScope, db: DbSession) -> Response:
    return _page(request, db, person, None, {})


@router.post("/new")
def event_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                 data: HealthEventForm = Posted(HealthEventForm)) -> Response:
    event = service.record_event(db, user, person, data, _now())
    audit.record("health_event.recorded", event, kind=event.kind.value)
    return done(_section_url(person), f"{KIND_LABELS[event.kind]} recorded.")


@router.get("/{event_id}/end", dependencies=[RecordClinical])
def event_end_form(request: Request, person: CaseInScope, event: CaseHealthEvent, db: DbSession) -> Response:
    errors = {FORM_ERROR: "This has already been recorded as ended."} if event.ended_at is not None else {}
    return _page(request, db, person, event, errors)


@router.post("/{event_id}/end")
def event_end(person: CaseInScope, event: CaseHealthEvent, db: DbSession, audit: Audit,
              user: User = RecordClinical, data: HealthEventEndForm = Posted(HealthEventEndForm)) -> Response:
    service.end_event(db, user, person, event, data.ended_at, _now())
    audit.record("health_event.ended", event, kind=event.kind.value)
    return done(_section_url(person), f"End recorded: {KIND_LABELS[event.kind]}.")


# --- the person page's section ---------------------------------------------------------------------

def health_events_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    data = service.section(db, person, _now())
    data.update(may_record=has_permission(user.role, Permission.record_clinical), kind_labels=KIND_LABELS)
    return data
