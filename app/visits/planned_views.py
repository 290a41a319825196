"""Planned visit pages: plan one, read and change it, cancel it, download its calendar file, log it as a draft
visit; the week calendar of every planned visit (coordinators) or of a clinician's own; the person page's list."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession, utcnow
from app.detention.models import Facility
from app.detention.service import open_facilities
from app.errors import NotFound, found
from app.evidence.storage import content_disposition
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import clinicians, load_details
from app.visits import planned, planned_ics
from app.visits.models import PlannedVisit
from app.visits.planned_schemas import FIELD_LABELS, STATUS_LABELS, PlannedVisitActionForm, PlannedVisitForm
from app.web.forms import Posted, shown_on
from app.web.params import Id, query_id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/planned-visits")
calendar_router = APIRouter(prefix="/calendar")
ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
ViewCaseload = Depends(require(Permission.view_caseload))
# "2026-W49" as the calendar's own links write it; a clinician's id. Anything longer names nothing.
WeekParam = Annotated[str | None, Query(max_length=8)]
ClinicianParam = Annotated[str | None, Query(max_length=10)]
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input holds


def planned_in_case(request: Request, person: CaseInScope, planned_id: Id, db: DbSession) -> PlannedVisit:
    # A write locks the row (PostgreSQL), so two requests changing, cancelling or logging it run one after the other.
    return found(planned.get_for_person(db, person.id, planned_id, for_update=request.method == "POST"))


CasePlanned = Annotated[PlannedVisit, Depends(planned_in_case)]


def _path(person: Person, planned_visit: PlannedVisit | None = None) -> str:
    base = f"/people/{person.reference}/planned-visits"
    return base if planned_visit is None else f"{base}/{planned_visit.id}"


# --- the form ------------------------------------------------------------------------------------

def _facility_choices(db: Session, keep: PlannedVisit | None) -> list[tuple[int, str]]:
    choices = [(f.id, f.name) for f in open_facilities(db)]
    if keep is not None and keep.facility_id not in dict(choices):
        # A planned visit at a centre that has closed since keeps it as a choice, so saving does not lose it.
        closed = db.get(Facility, keep.facility_id)
        choices.append((keep.facility_id, f"{closed.name if closed else 'Unknown centre'} (closed)"))
    return choices


def _form_context(db: Session, user: User, person: Person, keep: PlannedVisit | None) -> dict[str, Any]:
    return {
        "clinicians": planned.clinician_choices(db, person.id) if planned.coordinates(user) else [],
        "choose_clinician": planned.coordinates(user),
        "facilities": _facility_choices(db, keep),
        "labels": FIELD_LABELS,
    }


def _saved_values(visit: PlannedVisit) -> dict[str, Any]:
    zone = get_settings().zone
    values: dict[str, Any] = {name: getattr(visit, name) for name in planned.FIELDS}
    values["starts_at"] = visit.starts_at.astimezone(zone).strftime(LOCAL_INPUT)
    values = {name: "" if value is None else value for name, value in values.items()}
    values["interpreter_booked"] = bool(visit.interpreter_booked)
    values["version"] = visit.version
    return values


@router.get("/new")
def planned_new(request: Request, person: CaseInScope, db: DbSession, user: User = RecordClinical) -> Response:
    details = load_details(db, person)
    context = _form_context(db, user, person, None)
    values: dict[str, Any] = {"duration_minutes": 60, "facility_id": planned.current_facility_id(db, person.id) or "",
                              "interpreter_language": planned.suggested_language(details["languages"]) or ""}
    if len(context["clinicians"]) == 1:
        values["clinician_id"] = context["clinicians"][0][0]
    return render(request, "visits/planned_form.html", {
        "person": person, "details": details, "values": values, "errors": {},
        "interpreter_needed": person.interpreter_needed, "action": request.url.path, **context,
    })


@router.post("/new")
def planned_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                   data: PlannedVisitForm = Posted(PlannedVisitForm)) -> Response:
    visit = planned.create(db, user, person, data, utcnow())
    audit.record("planned_visit.created", visit)
    return done(_path(person, visit), "Visit planned. Download the calendar file to add it to your calendar.")


# --- the planned visit page (with its change form) ----------------------------------------------------

@router.get("/{planned_id}")
def planned_show(request: Request, person: CaseInScope, visit: CasePlanned, db: DbSession, audit: Audit,
                 user: User = ViewPerson) -> Response:
    audit.record("planned_visit.viewed", visit)
    row = planned.get_row(db, visit.id)
    settings = get_settings()
    may_change = planned.may_change(user, visit) and has_permission(user.role, Permission.record_clinical)
    context = _form_context(db, user, person, visit) if may_change else {"labels": FIELD_LABELS}
    return render(request, "visits/planned_show.html", {
        "person": person, "details": load_details(db, person), "visit": visit, "row": row,
        "status_labels": STATUS_LABELS, "may_change": may_change,
        "may_log": planned.may_log(user, visit) and has_permission(user.role, Permission.record_clinical),
        "due": planned.local_day(visit.starts_at, settings.zone) <= organisation_today(settings),
        "values": _saved_values(visit), "errors": {}, "action": request.url.path, **context,
    })


@router.post("/{planned_id}")
def planned_update(person: CaseInScope, visit: CasePlanned, db: DbSession, audit: Audit, user: User = RecordClinical,
                   data: PlannedVisitForm = Posted(PlannedVisitForm)) -> Response:
    changed = planned.update(db, user, person, visit, data, utcnow())
    if changed:
        audit.record("planned_visit.changed", visit, fields=changed)
    return done(_path(person, visit), "Changes saved." if changed else "Nothing was changed.")


@router.post("/{planned_id}/cancel")
@shown_on("/people/{reference}/planned-visits/{planned_id}")
def planned_cancel(person: CaseInScope, visit: CasePlanned, db: DbSession, audit: Audit, user: User = RecordClinical,
                   data: PlannedVisitActionForm = Posted(PlannedVisitActionForm)) -> Response:
    planned.cancel(db, user, person, visit, data.version)
    audit.record("planned_visit.cancelled", visit)
    return done(f"/people/{person.reference}#planned-visits-section", "Planned visit cancelled.")


@router.post("/{planned_id}/log")
@shown_on("/people/{reference}/planned-visits/{planned_id}")
def planned_log(person: CaseInScope, visit: CasePlanned, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: PlannedVisitActionForm = Posted(PlannedVisitActionForm)) -> Response:
    settings = get_settings()
    draft = planned.log(db, user, person, visit, data.version, today=organisation_today(settings),
                        zone=settings.zone)
    audit.record("visit.created", draft)
    audit.record("planned_visit.logged", visit, visit_id=draft.id)
    return done(f"/people/{person.reference}/visits/{draft.id}/edit",
                "Draft visit made from the planned visit. Add what happened, then save it.")


@router.get("/{planned_id}/calendar.ics")
def planned_ics_file(person: CaseInScope, visit: CasePlanned, db: DbSession, audit: Audit,
                     user: User = ViewPerson) -> Response:
    facility = db.get(Facility, visit.facility_id)
    content = planned_ics.calendar_file(visit, reference=person.reference, facility=facility.name if facility else "",
                                        base_url=get_settings().base_url)
    audit.record("planned_visit.ics_downloaded", visit)
    return Response(content=content, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": content_disposition(planned_ics.filename(person.reference, visit)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })


# --- the week calendar ---------------------------------------------------------------------------

@calendar_router.get("")
def calendar_week(request: Request, db: DbSession, audit: Audit, user: User = ViewCaseload,
                  week: WeekParam = None, clinician: ClinicianParam = None) -> Response:
    """A week of planned visits, Monday to Sunday in the organisation's time zone. A week the links could not
    have written is a missing page."""
    settings = get_settings()
    today = organisation_today(settings)
    monday = planned.week_of(today) if week is None else planned.parse_week(week)
    if monday is None:
        raise NotFound
    everyone = user.role is not Role.clinician
    chosen = query_id(clinician) if everyone else None
    rows = planned.week(db, user, monday, settings.zone, chosen)
    days: dict[date, list[planned.PlannedRow]] = defaultdict(list)
    for row in rows:
        days[planned.local_day(row.starts_at, settings.zone)].append(row)
    label = planned.week_label(monday)
    audit.record("calendar.viewed", object_type="calendar", object_id=label, week=label, shown=len(rows))
    choices = [(c.id, c.display_name) for c in clinicians(db)] if everyone else []

    def link(day: date) -> str:
        query = f"?week={planned.week_label(day)}"
        return query + (f"&clinician={chosen}" if chosen is not None else "")

    return render(request, "calendar/week.html", {
        "monday": monday, "sunday": monday + timedelta(days=6), "today": today,
        "days": [(monday + timedelta(days=n), days.get(monday + timedelta(days=n), [])) for n in range(7)],
        "shown": len(rows), "everyone": everyone, "clinicians": choices, "chosen": chosen,
        "chosen_name": dict(choices).get(chosen) if chosen is not None else None,
        "previous": link(monday - timedelta(days=7)), "next": link(monday + timedelta(days=7)),
        "this_week": None if monday == planned.week_of(today) else link(today),
        "week": label, "clock": lambda moment: moment.astimezone(settings.zone).strftime("%H:%M"),
        "values": {"clinician": chosen or ""}, "errors": {},
    })


# --- the person page's section -------------------------------------------------------------------

def planned_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The visits still planned for the person, soonest first, in one statement."""
    return {"rows": planned.for_person(db, person.id), "now": utcnow(),
            "may_plan": has_permission(user.role, Permission.record_clinical)}
