"""People pages: the list with search and filters, new and edit forms, the person page, assignments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from app.alerts import service as alerts
from app.alerts import state as alert_state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES
from app.audit import revisions
from app.audit import service as audit
from app.audit.models import Outcome, Revision
from app.auth.deps import client_ip, require
from app.auth.models import Role, User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.detention import clock
from app.detention.models import END_REASON_LABELS, Facility
from app.people import emergency, sections, service, subject_access, timeline
from app.people.models import AAR_INDICATOR_LABELS, AarIndicator, BirthPrecision, Person, PersonStatus, Sex
from app.people.schemas import (
    AssignForm,
    EmergencyAccessForm,
    PersonForm,
    nationality_choices,
    nationality_name,
)
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, validate_form
from app.web.templating import render

router = APIRouter(prefix="/people")
ViewCaseload = Depends(require(Permission.view_caseload))
ViewPerson = Depends(require(Permission.view_person))
EditPerson = Depends(require(Permission.edit_person))
BreakGlass = Depends(require(Permission.break_glass))
ExportSubjectAccess = Depends(require(Permission.export_subject_access))
LIST_FIELDS = frozenset({"aar_indicators"})
AAR_SOURCE_LABELS = {"self_declared": "Self-declared", "professional_evidence": "Professional evidence",
                     "home_office": "Home Office decision"}


def _audit(db: DbSession, request: Request, action: str, actor: User, person: Person | None = None,
           outcome: Outcome = Outcome.success, **details: Any) -> None:
    audit.record(db, action, actor_id=actor.id, outcome=outcome, person_id=person.id if person else None,
                 object_type="person" if person else None, object_id=person.reference if person else None,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, **details)


def person_or_refuse(db: DbSession, request: Request, user: User, reference: str) -> Person:
    try:
        person, access = service.find_visible(db, user, reference)
    except service.NotAllowed as refused:
        # Refused and recorded; the transaction rolls back, so commit the audit row first.
        audit.record(db, "security.permission_denied", actor_id=user.id, outcome=Outcome.denied,
                     ip_address=client_ip(request), correlation_id=request.state.correlation_id,
                     permission="assigned_clinician", path=request.url.path)
        db.commit()
        if has_permission(user.role, Permission.break_glass):
            # The refusal page offers break-glass, coming back to the page asked for (a GET) once it is open.
            wanted = request.url.path if request.method == "GET" else None
            request.state.emergency_offer = emergency.Offer(
                refused.person.reference, emergency.return_path(refused.person.reference, wanted))
        raise HTTPException(status_code=403) from None
    if person is None:
        raise HTTPException(status_code=404)
    if access is not None:
        # Every request served under break-glass is recorded as such, with the reason given.
        audit.record(db, "emergency_access.used", actor_id=user.id, person_id=person.id,
                     object_type="emergency_access", object_id=access.id, ip_address=client_ip(request),
                     correlation_id=request.state.correlation_id, access_id=access.id, reason=access.reason,
                     path=request.url.path)
        request.state.emergency_access = emergency.LiveAccess(access.id, access.reason, access.expires_at)
    return person


def stale_page(request: Request, db: DbSession, back: str) -> Response:
    """The answer to a change made on a form loaded before someone else's: nothing saved, go back and look.
    The transaction is rolled back, as a failed flush (the version column's own check) leaves it unusable."""
    db.rollback()
    return render(request, "components/stale.html", {"back": back}, status_code=409)


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
            if value.isdigit():
                setattr(query, attr, int(value))
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


@router.get("")
def people_list(request: Request, db: DbSession, user: User = ViewCaseload) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    query, problems = _parse_query(request)
    cutoffs = alerts.Cutoffs.for_day(today, settings)
    condition = None
    if query.alert:
        # The same kept flags the dashboard counts, so each of its numbers is the length of the list it links to.
        alert_state.refresh(db, cutoffs, settings.zone, budget=settings.alert_refresh_budget)
        flagged = select(PersonAlertState.person_id).where(alert_state.has(query.alert))
        condition = lambda _episode: Person.id.in_(flagged)  # noqa: E731
    page = service.list_people(db, user, query, alert_condition=condition)
    badges = alert_state.firing(db, cutoffs, [row.id for row in page.rows])
    for row in page.rows:
        row.alerts = badges.get(row.id, [])
    facilities = db.scalars(select(Facility).order_by(Facility.name)).all()
    clinicians = service.clinicians(db) if user.role is not Role.clinician else []
    _audit(db, request, "people.listed", user, filters=query.filters_used(), results=page.total)
    params = {k: v for k, v in request.query_params.items() if k != "page"}

    def page_link(number: int) -> str:
        return "/people?" + urlencode(params | {"page": number})

    return render(request, "people/list.html", {
        "page_link": page_link, "settings": settings,
        "page": page, "query": query, "problems": problems, "today": today, "facilities": facilities,
        "clinicians": clinicians, "statuses": list(PersonStatus), "rules": RULES, "extra_filters": alerts.EXTRA_FILTERS,
        "can_edit": user.role in (Role.admin, Role.coordinator), "nationality_name": nationality_name,
    })


# --- new and edit --------------------------------------------------------------------------------

def _form_context(values: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "values": values, "errors": errors,
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
def person_new(request: Request) -> Response:
    return render(request, "people/form.html", _form_context({}, {}, person=None))


@router.post("/new")
def person_create(request: Request, db: DbSession, form: PostedForm, user: User = EditPerson) -> Response:
    result = validate_form(form, PersonForm, lists=LIST_FIELDS)
    data = result.data
    if data is None:
        return render(request, "people/form.html", _form_context(result.values, result.errors, person=None),
                      status_code=422)
    if not data.confirm_new:
        candidates = service.find_duplicates(
            db, given_names=data.given_names, family_name=data.family_name, aliases=data.alias_list,
            birth_year=data.birth_year or (data.birth_date.year if data.birth_date else None),
            nationality=data.nationality)
        if candidates:
            return render(request, "people/form.html", _form_context(
                result.values, {}, person=None, duplicates=candidates, nationality_name=nationality_name),
                status_code=409)
    person = service.create_person(db, user, data, organisation_today(get_settings()))
    _audit(db, request, "person.created", user, person)
    response = RedirectResponse(f"/people/{person.reference}", status_code=303)
    flash.add(response, f"Record {person.reference} created.")
    return response


def _values_from(details: dict[str, Any], person: Person) -> dict[str, Any]:
    values = {k: ("" if v is None else getattr(v, "value", v)) for k, v in details.items()}
    values["aliases"] = "\n".join(details["aliases"])
    values["languages"] = ", ".join(details["languages"])
    values["aar_indicators"] = details["aar_indicators"]
    values["version"] = person.version
    for flag in ("stateless", "interpreter_needed"):
        values[flag] = bool(details[flag])
    return values


@router.get("/{reference}/edit")
def person_edit(request: Request, reference: str, db: DbSession, user: User = EditPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    values = _values_from(service.load_details(db, person), person)
    return render(request, "people/form.html", _form_context(values, {}, person=person))


@router.post("/{reference}/edit")
def person_update(request: Request, reference: str, db: DbSession, form: PostedForm,
                  user: User = EditPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, PersonForm, lists=LIST_FIELDS)
    data = result.data
    if data is None:
        return render(request, "people/form.html", _form_context(result.values, result.errors, person=person),
                      status_code=422)
    try:
        changed = service.update_person(db, user, person, data)
    except (service.VersionConflict, StaleDataError):
        db.rollback()
        person = db.scalars(select(Person).where(Person.reference == reference)).one()
        current = service.load_details(db, person)
        mine = service.snapshot_from_form(data)
        fields = [f for f in revisions.changed_fields(current, mine)]
        return render(request, "people/conflict.html", {
            "person": person, "current": current, "mine": mine, "fields": fields,
            "values": result.values | {"version": person.version},
            "labels": {name: info.title for name, info in PersonForm.model_fields.items()},
        }, status_code=409)
    if changed:
        _audit(db, request, "person.changed", user, person, fields=changed)
    response = RedirectResponse(f"/people/{person.reference}", status_code=303)
    flash.add(response, "Changes saved." if changed else "Nothing was changed.")
    return response


# --- the person page -----------------------------------------------------------------------------

@router.get("/{reference}")
def person_show(request: Request, reference: str, db: DbSession, user: User = ViewPerson) -> Response:
    settings = get_settings()
    today = organisation_today(settings)
    person = person_or_refuse(db, request, user, reference)
    details = service.load_details(db, person)
    episodes, placements = timeline.detention_history(db, person.id)
    reading = clock.read_clock([clock.Episode(e.start_date, e.end_date) for e in episodes], today)
    current = next((e for e in episodes if e.end_date is None), None)
    current_facility = next((f for p, f in reversed(placements)
                             if current is not None and p.episode_id == current.id and p.date_out is None), None)
    # From the kept flags, which any change to the case marks stale; worked out live only when they are.
    fired = alert_state.firing(db, alerts.Cutoffs.for_day(today, settings), [person.id]).get(person.id, [])
    history = db.execute(
        select(Revision, User.display_name).outerjoin(User, User.id == Revision.actor_user_id)
        .where(Revision.person_id == person.id).order_by(Revision.occurred_at.desc(), Revision.id.desc()).limit(50)
    ).all()
    extra_sections = sections.build_all(db, user, person)
    _audit(db, request, "person.viewed", user, person)
    return render(request, "people/show.html", {
        "sections": extra_sections,
        "person": person, "details": details, "reading": reading, "current": current,
        "current_facility": current_facility, "alerts": fired, "settings": settings, "today": today,
        "assignments": service.current_assignments(db, person.id),
        "clinicians": service.clinicians(db) if user.role in (Role.admin, Role.coordinator) else [],
        "can_edit": user.role in (Role.admin, Role.coordinator), "episodes": episodes, "placements": placements,
        "entries": timeline.build(db, person.id, episodes, placements), "history": history,
        "changed_fields": revisions.changed_fields, "nationality_name": nationality_name,
        "indicator_labels": {i.value: label for i, label in AAR_INDICATOR_LABELS.items()},
        "end_reason_labels": END_REASON_LABELS, "aar_source_labels": AAR_SOURCE_LABELS,
        "errors": {}, "values": {},
    })


# --- assignments ---------------------------------------------------------------------------------

@router.post("/{reference}/assignments")
def assignment_add(request: Request, reference: str, db: DbSession, form: PostedForm,
                   user: User = EditPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, AssignForm)
    error = result.errors.get("clinician_id") or result.errors.get(FORM_ERROR)
    if result.data is not None:
        try:
            service.assign(db, user, person, result.data.clinician_id)
        except service.RuleError as exc:
            error = exc.message
    if error:
        response = RedirectResponse(f"/people/{reference}#assignments", status_code=303)
        flash.add(response, error, kind="warning")
        return response
    assert result.data is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    _audit(db, request, "person.clinician_assigned", user, person, clinician_id=result.data.clinician_id)
    response = RedirectResponse(f"/people/{reference}#assignments", status_code=303)
    flash.add(response, "Clinician assigned.")
    return response


@router.post("/{reference}/assignments/{assignment_id}/end")
def assignment_end(request: Request, reference: str, assignment_id: int, db: DbSession,
                   user: User = EditPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    try:
        assignment = service.unassign(db, user, person, assignment_id)
    except service.RuleError as exc:
        response = RedirectResponse(f"/people/{reference}#assignments", status_code=303)
        flash.add(response, exc.message, kind="warning")
        return response
    _audit(db, request, "person.clinician_unassigned", user, person, clinician_id=assignment.clinician_id)
    response = RedirectResponse(f"/people/{reference}#assignments", status_code=303)
    flash.add(response, "Clinician unassigned.")
    return response


# --- break-glass ---------------------------------------------------------------------------------

@router.post("/{reference}/emergency-access")
def emergency_access_open(request: Request, reference: str, db: DbSession, form: PostedForm,
                          user: User = BreakGlass) -> Response:
    """A clinician opens a person not assigned to them, in an emergency, giving the reason."""
    person = db.scalar(select(Person).where(Person.reference == reference))
    if person is None:
        raise HTTPException(status_code=404)
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
        response = RedirectResponse(back, status_code=303)
        flash.add(response, "This person is assigned to you: no emergency access is needed.", kind="info")
        return response
    except emergency.AlreadyOpen as exc:
        response = RedirectResponse(back, status_code=303)
        flash.add(response, f"Your emergency access to this record is already open until "
                            f"{emergency.until_words(exc.access.expires_at)}.", kind="info")
        return response
    audit.record(db, "emergency_access.opened", actor_id=user.id, person_id=person.id,
                 object_type="emergency_access", object_id=access.id, ip_address=client_ip(request),
                 correlation_id=request.state.correlation_id, access_id=access.id, reason=access.reason,
                 expires_at=access.expires_at.isoformat())
    response = RedirectResponse(back, status_code=303)
    flash.add(response, "Emergency access opened.", kind="warning")
    return response


# --- subject access ------------------------------------------------------------------------------

@router.post("/{reference}/subject-access")
def subject_access_export(request: Request, reference: str, db: DbSession,
                          user: User = ExportSubjectAccess) -> Response:
    """The person's whole record for them: person.json, their documents and summary.pdf in one ZIP.
    A POST (it writes an audit row) sent from the person page with the CSRF token."""
    person = person_or_refuse(db, request, user, reference)
    limit = get_settings().subject_access_limit_mb * 1024 * 1024
    try:
        export = subject_access.build(db, person, user, limit_bytes=limit)
    except subject_access.ExportTooLarge as exc:
        _audit(db, request, "person.subject_access_refused", user, person, outcome=Outcome.failure,
               reason="too_large", size_bytes=exc.size_bytes, limit_bytes=exc.limit_bytes)
        response = RedirectResponse(f"/people/{reference}#subject-access", status_code=303)
        flash.add(response, (f"This record's documents come to more than the {limit // (1024 * 1024)} MB a subject "
                             "access export may hold, so nothing was made. An administrator can raise "
                             "CASEWORK_SUBJECT_ACCESS_LIMIT_MB."), kind="warning")
        return response
    _audit(db, request, "person.subject_access_exported", user, person, documents=export.documents,
           size_bytes=len(export.content), sha256=export.sha256)
    return Response(content=export.content, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        "Cache-Control": "no-store",
    })
