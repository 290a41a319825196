"""Visit pages: log a visit, read it, change the draft, sign it, add addenda; and the person page's section."""

from __future__ import annotations

from datetime import date
from typing import Any, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit import service as audit
from app.audit.models import Outcome
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.detention.schemas import typed_date
from app.detention.service import open_facilities
from app.people import sections
from app.people.models import AAR_INDICATOR_LABELS, AarIndicator, Person
from app.people.service import load_details
from app.people.views import person_or_refuse
from app.visits import service
from app.visits.models import Visit, VisitStatus
from app.visits.schemas import (
    FIELD_LABELS,
    MODE_LABELS,
    RISK_LABELS,
    STATUS_LABELS,
    AddendumForm,
    SignForm,
    VisitForm,
)
from app.web import flash
from app.web.forms import PostedForm, validate_form
from app.web.templating import format_date, render

router = APIRouter(prefix="/people/{reference}/visits")
ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
LIST_FIELDS = frozenset({"aar_indicators"})
INDICATOR_LABELS = {i.value: label for i, label in AAR_INDICATOR_LABELS.items()}


def _audit(db: Session, request: Request, action: str, user: User, person: Person, visit_id: int,
           **details: Any) -> None:
    audit.record(db, action, actor_id=user.id, person_id=person.id, object_type="visit", object_id=visit_id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, **details)


def _refuse_not_author(db: Session, request: Request, user: User) -> NoReturn:
    # Refused and recorded; the request's transaction rolls back, so commit the audit row first.
    audit.record(db, "security.permission_denied", actor_id=user.id, outcome=Outcome.denied,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id,
                 permission="visit_author", path=request.url.path)
    db.commit()
    raise HTTPException(status_code=403)


def _visit_or_404(db: Session, person: Person, visit_id: int, *, for_update: bool = False) -> Visit:
    visit = service.get_for_person(db, person.id, visit_id, for_update=for_update)
    if visit is None:
        raise HTTPException(status_code=404)
    return visit


def _base(reference: str, visit_id: int | None = None) -> str:
    path = f"/people/{reference}/visits"
    return path if visit_id is None else f"{path}/{visit_id}"


def _done(path: str, message: str) -> Response:
    response = RedirectResponse(path, status_code=303)
    flash.add(response, message)
    return response


def _names(db: Session, person: Person) -> dict[str, Any]:
    details = load_details(db, person)
    return {"given_names": details.get("given_names", ""), "family_name": details.get("family_name", "")}


# --- the form ------------------------------------------------------------------------------------

def _facility_choices(db: Session, page: service.VisitPage | None) -> list[tuple[int, str]]:
    choices = [(f.id, f.name) for f in open_facilities(db)]
    if page is not None and page.visit.facility_id is not None and page.visit.facility_id not in dict(choices):
        # A draft naming a facility that has closed since keeps it as a choice, so saving does not lose it.
        choices.append((page.visit.facility_id, f"{page.facility} (closed)"))
    return choices


def _form_values(visit: Visit, indicators: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in service.FIELDS:
        value = getattr(visit, name)
        values[name] = "" if value is None else getattr(value, "value", value)
    for name in ("visit_date", "follow_up_date"):
        values[name] = values[name].isoformat() if values[name] else ""
    values["interpreter_used"] = bool(visit.interpreter_used)
    values["aar_indicators"] = indicators
    values["version"] = service.version_of(visit)
    return values


def _form_page(request: Request, db: Session, user: User, person: Person, *, visit: Visit | None,
               values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    page = service.load_page(db, visit) if visit is not None else None
    return render(request, "visits/form.html", {
        "person": person, "names": _names(db, person), "visit": visit, "values": values, "errors": errors,
        "clinician_name": page.clinician if page is not None else user.display_name,
        "facilities": _facility_choices(db, page),
        "modes": [(m.value, label) for m, label in MODE_LABELS.items()],
        "risks": [(r.value, label) for r, label in RISK_LABELS.items()],
        "indicators": [(i.value, AAR_INDICATOR_LABELS[i]) for i in AarIndicator],
        "labels": FIELD_LABELS,
        "action": request.url.path,
    }, status_code=status_code)


def _display(name: str, value: object, facilities: dict[str, str]) -> str:
    """A form value (as posted or as loaded) in the words the page uses, for the conflict page."""
    if isinstance(value, list):
        return "; ".join(INDICATOR_LABELS.get(str(v), str(v)) for v in value)
    text = "" if value is None else str(value).strip()
    if name == "mode":
        return {m.value: label for m, label in MODE_LABELS.items()}.get(text, text)
    if name == "risk":
        return {r.value: label for r, label in RISK_LABELS.items()}.get(text, text)
    if name == "facility_id":
        return facilities.get(text, text)
    if name == "interpreter_used":
        return "Yes" if text in ("True", "true", "on") else "No"
    if name in ("visit_date", "follow_up_date") and text:
        # Compare dates, not spellings: "3 March 2026" typed matches 2026-03-03 saved.
        day = typed_date(text)
        try:
            return format_date(day if isinstance(day, date) else date.fromisoformat(text))
        except ValueError:
            return text
    return text


def _conflict_page(request: Request, db: Session, person: Person, visit: Visit, typed: dict[str, Any]) -> Response:
    saved = _form_values(visit, service.indicators_of(db, visit.id))
    facilities = {str(k): v for k, v in _facility_choices(db, service.load_page(db, visit))}
    rows = []
    for name in (*service.FIELDS, "aar_indicators"):
        mine = typed.get(name, [] if name == "aar_indicators" else "")
        now, then = _display(name, saved[name], facilities), _display(name, mine, facilities)
        if now != then:
            rows.append((FIELD_LABELS[name], now, then))
    return render(request, "visits/conflict.html", {"person": person, "visit": visit, "rows": rows},
                  status_code=409)


# --- the visit page -------------------------------------------------------------------------------

def _visit_page(request: Request, db: Session, user: User, person: Person, visit: Visit, *,
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    page = service.load_page(db, visit)
    _audit(db, request, "visit.viewed", user, person, visit.id)
    return render(request, "visits/show.html", {
        "person": person, "names": _names(db, person), "page": page, "visit": visit, "labels": FIELD_LABELS,
        "mode_labels": MODE_LABELS, "risk_labels": RISK_LABELS, "status_labels": STATUS_LABELS,
        "indicator_labels": INDICATOR_LABELS, "version": service.version_of(visit),
        "may_change": service.may_change(user, visit), "may_sign": service.may_sign(user, visit),
        "may_add": has_permission(user.role, Permission.record_clinical),
        "values": values or {}, "errors": errors or {},
    }, status_code=status_code)


def _signed_page(request: Request, person: Person, visit: Visit) -> Response:
    return render(request, "visits/signed.html", {"person": person, "visit": visit}, status_code=409)


def _refused_page(request: Request, person: Person, visit: Visit, title: str, message: str) -> Response:
    return render(request, "visits/refused.html", {"person": person, "visit": visit, "title": title,
                                                    "message": message}, status_code=409)


# --- routes ---------------------------------------------------------------------------------------

@router.get("/new")
def visit_new(request: Request, reference: str, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _form_page(request, db, user, person, visit=None, values={}, errors={})


@router.post("/new")
def visit_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                 user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, VisitForm, lists=LIST_FIELDS)
    data = result.data
    if data is not None:
        try:
            visit = service.create_visit(db, user, person, data, organisation_today(get_settings()))
        except service.VisitRuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _form_page(request, db, user, person, visit=None, values=result.values, errors=result.errors,
                          status_code=422)
    _audit(db, request, "visit.created", user, person, visit.id)
    return _done(_base(reference, visit.id), "Visit saved as a draft. Sign it when it is complete.")


@router.get("/{visit_id}")
def visit_show(request: Request, reference: str, visit_id: int, db: DbSession,
               user: User = ViewPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _visit_page(request, db, user, person, _visit_or_404(db, person, visit_id))


@router.get("/{visit_id}/edit")
def visit_edit(request: Request, reference: str, visit_id: int, db: DbSession,
               user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    visit = _visit_or_404(db, person, visit_id)
    if visit.status is VisitStatus.signed:
        return _signed_page(request, person, visit)
    if not service.may_change(user, visit):
        _refuse_not_author(db, request, user)
    values = _form_values(visit, service.indicators_of(db, visit.id))
    return _form_page(request, db, user, person, visit=visit, values=values, errors={})


@router.post("/{visit_id}/edit")
def visit_update(request: Request, reference: str, visit_id: int, db: DbSession, form: PostedForm,
                 user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    visit = _visit_or_404(db, person, visit_id, for_update=True)
    if visit.status is VisitStatus.signed:
        return _signed_page(request, person, visit)
    if not service.may_change(user, visit):
        _refuse_not_author(db, request, user)
    result = validate_form(form, VisitForm, lists=LIST_FIELDS)
    token = result.values.get("version")
    try:
        service.check_version(visit, token if isinstance(token, str) else None)
    except service.VisitConflict:
        return _conflict_page(request, db, person, visit, result.values)
    data = result.data
    changed: list[str] = []
    if data is not None:
        try:
            changed = service.update_visit(db, user, person, visit, data, organisation_today(get_settings()))
        except service.VisitRuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _form_page(request, db, user, person, visit=visit, values=result.values, errors=result.errors,
                          status_code=422)
    if changed:
        _audit(db, request, "visit.changed", user, person, visit.id, fields=changed)
    return _done(_base(reference, visit.id), "Changes saved." if changed else "Nothing was changed.")


@router.post("/{visit_id}/sign")
def visit_sign(request: Request, reference: str, visit_id: int, db: DbSession, form: PostedForm,
               user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    visit = _visit_or_404(db, person, visit_id, for_update=True)
    if visit.status is VisitStatus.signed:
        return _refused_page(request, person, visit, "This visit is already signed",
                             "It was signed before; nothing was changed.")
    if not service.may_sign(user, visit):
        _refuse_not_author(db, request, user)
    result = validate_form(form, SignForm)
    try:
        service.sign_visit(db, user, person, visit, result.data.version if result.data else None)
    except service.VisitConflict:
        return _refused_page(request, person, visit, "This visit changed after you opened it",
                             "Nothing was signed. Read the visit again as it is now, then sign it if it is right.")
    _audit(db, request, "visit.signed", user, person, visit.id)
    return _done(_base(reference, visit.id),
                 "Visit signed. It can no longer be changed: add an addendum for any correction.")


@router.post("/{visit_id}/addenda")
def addendum_add(request: Request, reference: str, visit_id: int, db: DbSession, form: PostedForm,
                 user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    visit = _visit_or_404(db, person, visit_id)
    if visit.status is not VisitStatus.signed:
        return _refused_page(request, person, visit, "Addenda are added to signed visits",
                             "This visit is still a draft: change the draft instead. Nothing was saved.")
    result = validate_form(form, AddendumForm)
    if result.data is None:
        return _visit_page(request, db, user, person, visit, values=result.values, errors=result.errors,
                           status_code=422)
    addendum = service.add_addendum(db, user, person, visit, result.data.text)
    _audit(db, request, "visit.addendum_added", user, person, visit.id, addendum_id=addendum.id)
    return _done(_base(reference, visit.id) + "#addenda", "Addendum added.")


# --- the person page's section ---------------------------------------------------------------------

def visits_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    data = service.section(db, person, organisation_today(get_settings()))
    data.update(may_record=has_permission(user.role, Permission.record_clinical), mode_labels=MODE_LABELS,
                risk_labels=RISK_LABELS, status_labels=STATUS_LABELS)
    return data


sections.register("visits", order=10, template="visits/_section.html", build=visits_section)
