"""People pages: the list with search and filters, new and edit forms, assignments, and break-glass."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response, StreamingResponse

from app.alerts import rules as alert_rules
from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES
from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import Role, User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.contacts import service as contacts
from app.db import DbSession
from app.detention.models import Facility
from app.errors import NotFound, found
from app.people import emergency, export, service
from app.people.dependencies import CaseAssignment, CaseInScope, Reference
from app.people.models import AAR_INDICATOR_LABELS, AarIndicator, BirthPrecision, Person, PersonStatus, Sex
from app.people.schemas import (
    AAR_SOURCE_LABELS,
    AssignForm,
    EmergencyAccessForm,
    PersonForm,
    nationality_choices,
    nationality_name,
)
from app.web.forms import Posted, PostedForm, shown_on, validate_form
from app.web.params import query_id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people")
ViewCaseload = Depends(require(Permission.view_caseload))
EditPerson = Depends(require(Permission.edit_person))
BreakGlass = Depends(require(Permission.break_glass))
ExportCaseload = Depends(require(Permission.export_caseload))
LIST_FIELDS = frozenset({"aar_indicators"})


# --- list ----------------------------------------------------------------------------------------

def _parse_query(request: Request) -> tuple[service.PeopleQuery, list[str]]:
    params = request.query_params
    query = service.PeopleQuery(q=params.get("q", "")[:200], sort=params.get("sort", "days"))
    problems = []
    if query.sort not in ("days", "recent"):
        problems.append("The sort order was not recognised; showing longest detention first.")
        query.sort = "days"
    if value := params.get("status"):
        try:
            query.status = PersonStatus(value)
        except ValueError:
            problems.append("The status filter was not recognised and has been ignored.")
    for name, attr in (("facility", "facility_id"), ("clinician", "clinician_id"), ("page", "page")):
        if value := params.get(name):
            number = 0 if value == "0" and name == "clinician" else query_id(value)  # clinician 0: nobody assigned
            if number is not None:
                setattr(query, attr, number)
            else:
                problems.append(f"The {name} filter was not recognised and has been ignored.")
    if value := params.get("alert"):
        if value in RULES or value in alerts.EXTRA_FILTERS:
            query.alert = value
        else:
            problems.append("The alert filter was not recognised and has been ignored.")
    # A search looks through closed cases too: someone re-detained years later must be found.
    query.include_closed = params.get("closed") == "1" or bool(query.q.strip())
    return query, problems


def _alert_condition(db: Session, query: service.PeopleQuery, cutoffs: alerts.Cutoffs) -> Any:
    if not query.alert:
        return None
    settings = get_settings()
    # The same kept flags the dashboard counts, so each of its numbers is the length of the list it links to.
    alert_state.refresh(db, cutoffs, settings.zone, budget=settings.alert_refresh_budget)
    flagged = select(PersonAlertState.person_id).where(alert_state.has(query.alert))
    return lambda _episode: Person.id.in_(flagged)


@router.get("")
def people_list(request: Request, db: DbSession, audit: Audit, user: User = ViewCaseload) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    query, problems = _parse_query(request)
    cutoffs = alerts.Cutoffs.for_day(today, settings)
    condition = _alert_condition(db, query, cutoffs)
    page = service.list_people(db, user, query, alert_condition=condition)
    badges = alert_state.firing(db, cutoffs, [row.id for row in page.rows], [row.kept_flags for row in page.rows])
    for row in page.rows:
        row.alerts = alert_rules.ordered(badges.get(row.id, []))  # urgent first, as on the dashboard
    facilities = db.scalars(select(Facility).order_by(Facility.name)).all()
    clinicians = service.clinicians(db) if user.role is not Role.clinician else []
    audit.record("people.listed", filters=query.filters_used(), results=page.total)
    params = {k: v for k, v in request.query_params.items() if k != "page"}

    def page_link(number: int) -> str:
        return "/people?" + urlencode(params | {"page": number})

    return render(request, "people/list.html", {
        "page_link": page_link, "settings": settings,
        # The download form sends the list's filters again, with the format chosen by its button.
        "export_params": params if may_export(user) else None,
        "page": page, "query": query, "problems": problems, "today": today, "facilities": facilities,
        "clinicians": clinicians, "statuses": list(PersonStatus), "rules": RULES, "extra_filters": alerts.EXTRA_FILTERS,
        "can_edit": user.role in (Role.admin, Role.coordinator), "nationality_name": nationality_name,
    })


def may_export(user: User) -> bool:
    return has_permission(user.role, Permission.export_caseload)


@router.get("/export")
def people_export(request: Request, db: DbSession, audit: Audit, user: User = ExportCaseload) -> Response:
    """Every person the list's filters match (not one page), as CSV or XLSX: the list's own query string with
    `format`. Filters the list would ignore send the user back to it, to see what was not recognised."""
    chosen = request.query_params.get("format", "")
    if chosen not in export.FORMATS:
        raise NotFound
    query, problems = _parse_query(request)
    if problems:
        params = {k: v for k, v in request.query_params.items() if k not in ("format", "page")}
        return RedirectResponse("/people?" + urlencode(params), status_code=303)
    settings = get_settings()
    today = organisation_today(settings)
    condition = _alert_condition(db, query, alerts.Cutoffs.for_day(today, settings))
    made = export.build(db, user, query, chosen, today=today, settings=settings, alert_condition=condition)
    audit.record("people.exported", format=chosen, filters=query.filters_used(), rows=made.rows)
    # The audit row is in the request's transaction, which commits before the first byte is sent.
    return StreamingResponse(made.chunks(), media_type=made.media_type, headers={
        "Content-Disposition": f'attachment; filename="{made.filename}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
    })


# --- new and edit --------------------------------------------------------------------------------

def _form_context(db: Session, values: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    keep = str(values.get("legal_representative_id") or "")
    return {
        "values": values, "errors": errors,
        "representatives": [(r.id, r.label) for r in contacts.choices(
            db, keep_id=int(keep) if keep.isdigit() else None)],
        "nationalities": nationality_choices(), "statuses": [(s.value, s.value.capitalize()) for s in PersonStatus],
        "sexes": [(s.value, s.value.replace("_", " ").capitalize()) for s in Sex],
        "precisions": [(p.value, label) for p, label in (
            (BirthPrecision.exact, "Exact date known"), (BirthPrecision.year, "Year known"),
            (BirthPrecision.approximate, "Estimated year"), (BirthPrecision.disputed, "Age disputed"),
            (BirthPrecision.unknown, "Not known"))],
        "indicators": [(i.value, AAR_INDICATOR_LABELS[i]) for i in AarIndicator],
        "aar_sources": list(AAR_SOURCE_LABELS.items()),
        **extra,
    }


@router.get("/new", dependencies=[EditPerson])
def person_new(request: Request, db: DbSession) -> Response:
    return render(request, "people/form.html", _form_context(db, {}, {}, person=None))


@router.post("/new")
def person_create(request: Request, db: DbSession, audit: Audit, user: User = EditPerson,
                  data: PersonForm = Posted(PersonForm, lists=LIST_FIELDS)) -> Response:
    if not data.confirm_new:
        candidates = service.find_duplicates(
            db, given_names=data.given_names, family_name=data.family_name, aliases=data.alias_list,
            birth_year=data.birth_year or (data.birth_date.year if data.birth_date else None),
            nationality=data.nationality)
        if candidates:
            return render(request, "people/form.html", _form_context(
                db, request.state.submitted.values, {}, person=None, duplicates=candidates,
                nationality_name=nationality_name), status_code=409)
    person = service.create_person(db, user, data, organisation_today(get_settings()))
    audit.record("person.created", person)
    return done(f"/people/{person.reference}", f"Record {person.reference} created.")


def _values_from(details: dict[str, Any], person: Person) -> dict[str, Any]:
    values = {k: ("" if v is None else getattr(v, "value", v)) for k, v in details.items()}
    values["aliases"] = "\n".join(details["aliases"])
    values["languages"] = ", ".join(details["languages"])
    values["aar_indicators"] = details["aar_indicators"]
    values["version"] = person.version
    for flag in ("stateless", "interpreter_needed"):
        values[flag] = bool(details[flag])
    return values


@router.get("/{reference}/edit", dependencies=[EditPerson])
def person_edit(request: Request, person: CaseInScope, db: DbSession) -> Response:
    values = _values_from(service.load_details(db, person), person)
    return render(request, "people/form.html", _form_context(db, values, {}, person=person))


@router.post("/{reference}/edit")
def person_update(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                  data: PersonForm = Posted(PersonForm, lists=LIST_FIELDS)) -> Response:
    changed = service.update_person(db, user, person, data)  # StaleForm: the conflict page
    if changed:
        audit.record("person.changed", person, fields=changed)
    if "legal_representative_id" in changed:
        audit.record("person.representative_changed", person, legal_representative_id=data.legal_representative_id)
    return done(f"/people/{person.reference}", "Changes saved." if changed else "Nothing was changed.")


# --- assignments ---------------------------------------------------------------------------------

@router.post("/{reference}/assignments")
@shown_on("/people/{reference}")
def assignment_add(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                   data: AssignForm = Posted(AssignForm)) -> Response:
    service.assign(db, user, person, data.clinician_id)
    audit.record("person.clinician_assigned", person, clinician_id=data.clinician_id)
    return done(f"/people/{person.reference}#assignments", "Clinician assigned.")


@router.post("/{reference}/assignments/{assignment_id}/end")
@shown_on("/people/{reference}")
def assignment_end(person: CaseInScope, assignment: CaseAssignment, db: DbSession, audit: Audit,
                   user: User = EditPerson) -> Response:
    service.unassign(db, user, person, assignment)
    audit.record("person.clinician_unassigned", person, clinician_id=assignment.clinician_id)
    return done(f"/people/{person.reference}#assignments", "Clinician unassigned.")


# --- break-glass ---------------------------------------------------------------------------------

@router.post("/{reference}/emergency-access")
def emergency_access_open(request: Request, reference: Reference, db: DbSession, form: PostedForm,
                          audit: Audit, user: User = BreakGlass) -> Response:
    """A clinician opens a person not assigned to them, in an emergency, giving the reason. The one person
    route without CaseInScope: it is how a person out of scope comes into it."""
    person = found(db.scalar(select(Person).where(Person.reference == reference)))
    result = validate_form(form, EmergencyAccessForm)
    wanted = form.get("next")
    back = emergency.return_path(reference, wanted if isinstance(wanted, str) else None)
    try:
        if result.data is None:
            # Checked before the reason, so an assigned clinician is not asked for one they do not need.
            if service.is_assigned(db, user.id, person.id):
                raise emergency.NotNeeded
            live = service.live_emergency_access(db, user.id, person.id)
            if live is not None:
                raise emergency.AlreadyOpen(live)
            return render(request, "people/emergency_access.html", {
                "offer": emergency.Offer(reference, back), "values": result.values, "errors": result.errors,
            }, status_code=422)
        access = emergency.open_access(db, user, person, result.data.reason)
    except emergency.NotNeeded:
        return done(back, "This person is assigned to you: no emergency access is needed.", kind="info")
    except emergency.AlreadyOpen as exc:
        return done(back, f"Your emergency access to this record is already open until "
                          f"{emergency.until_words(exc.access.expires_at)}.", kind="info")
    audit.record("emergency_access.opened", access, access_id=access.id, expires_at=access.expires_at.isoformat())
    return done(back, "Emergency access opened.", kind="warning")
