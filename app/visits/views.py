"""Visit pages: log a visit, read it, change the draft, sign it, add addenda; and the person page's section."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.detention.service import open_facilities
from app.people.dependencies import CaseInScope
from app.people.models import AAR_INDICATOR_LABELS, AarIndicator, Person
from app.people.service import load_details
from app.visits import seal, service
from app.visits.dependencies import CaseVisit
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
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/visits")
ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
LIST_FIELDS = frozenset({"aar_indicators"})
INDICATOR_LABELS = {i.value: label for i, label in AAR_INDICATOR_LABELS.items()}


def _base(reference: str, visit_id: int | None = None) -> str:
    path = f"/people/{reference}/visits"
    return path if visit_id is None else f"{path}/{visit_id}"


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
    values["version"] = visit.version
    return values


def _form_page(request: Request, db: Session, user: User, person: Person, *, visit: Visit | None,
               values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    page = service.load_page(db, visit) if visit is not None else None
    return render(request, "visits/form.html", {
        "person": person, "details": load_details(db, person), "visit": visit, "values": values, "errors": errors,
        "clinician_name": page.clinician if page is not None else user.display_name,
        "facilities": _facility_choices(db, page),
        "modes": [(m.value, label) for m, label in MODE_LABELS.items()],
        "risks": [(r.value, label) for r, label in RISK_LABELS.items()],
        "indicators": [(i.value, AAR_INDICATOR_LABELS[i]) for i in AarIndicator],
        "labels": FIELD_LABELS,
        "action": request.url.path,
    }, status_code=status_code)


# --- the visit page -------------------------------------------------------------------------------

def _signed_page(request: Request, person: Person, visit: Visit) -> Response:
    return render(request, "visits/signed.html", {"person": person, "visit": visit}, status_code=409)


# --- routes ---------------------------------------------------------------------------------------

@router.get("/new")
def visit_new(request: Request, person: CaseInScope, db: DbSession, user: User = RecordClinical) -> Response:
    return _form_page(request, db, user, person, visit=None, values={}, errors={})


@router.post("/new")
def visit_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                 data: VisitForm = Posted(VisitForm, lists=LIST_FIELDS)) -> Response:
    visit = service.create_visit(db, user, person, data, organisation_today(get_settings()))
    audit.record("visit.created", visit)
    return done(_base(person.reference, visit.id), "Visit saved as a draft. Sign it when it is complete.")


@router.get("/{visit_id}")
def visit_show(request: Request, person: CaseInScope, visit: CaseVisit, db: DbSession, audit: Audit,
               user: User = ViewPerson) -> Response:
    audit.record("visit.viewed", visit)
    page = service.load_page(db, visit)
    sealed = seal.check(visit, page.indicators) if visit.status is VisitStatus.signed else None
    if sealed is not None and sealed.state is seal.SealState.changed:
        audit.record("visit.seal_broken", visit, kept=sealed.kept, now=sealed.now)
    return render(request, "visits/show.html", {
        "person": person, "details": load_details(db, person), "page": page, "visit": visit, "seal": sealed,
        "labels": FIELD_LABELS, "mode_labels": MODE_LABELS, "risk_labels": RISK_LABELS,
        "status_labels": STATUS_LABELS, "indicator_labels": INDICATOR_LABELS,
        "may_change": service.may_change(user, visit), "may_sign": service.may_sign(user, visit),
        "may_add": has_permission(user.role, Permission.record_clinical), "values": {}, "errors": {},
    })


@router.get("/{visit_id}/edit")
def visit_edit(request: Request, person: CaseInScope, visit: CaseVisit, db: DbSession,
               user: User = RecordClinical) -> Response:
    if visit.status is VisitStatus.signed:
        return _signed_page(request, person, visit)
    service.check_may_change(user, visit)
    values = _form_values(visit, service.indicators_of(db, visit.id))
    return _form_page(request, db, user, person, visit=visit, values=values, errors={})


@router.post("/{visit_id}/edit")
def visit_update(person: CaseInScope, visit: CaseVisit, db: DbSession, audit: Audit, user: User = RecordClinical,
                 data: VisitForm = Posted(VisitForm, lists=LIST_FIELDS)) -> Response:
    changed = service.update_visit(db, user, person, visit, data, organisation_today(get_settings()))
    if changed:
        audit.record("visit.changed", visit, fields=changed)
    return done(_base(person.reference, visit.id), "Changes saved." if changed else "Nothing was changed.")


@router.get("/{visit_id}/sign")
def visit_sign_page(request: Request, person: CaseInScope, visit: CaseVisit, db: DbSession,
                    user: User = RecordClinical) -> Response:
    """What will be signed, as a check-your-answers page, with the declaration and a warning for empty clinical
    fields; only the draft's author may sign."""
    if visit.status is VisitStatus.signed:
        return _signed_page(request, person, visit)
    service.check_may_sign(user, visit)
    return render(request, "visits/sign.html", {
        "person": person, "details": load_details(db, person), "page": service.load_page(db, visit), "visit": visit,
        "labels": FIELD_LABELS, "mode_labels": MODE_LABELS, "risk_labels": RISK_LABELS,
        "indicator_labels": INDICATOR_LABELS, "empty": service.empty_clinical_fields(visit),
        "declaration": service.DECLARATION, "values": {}, "errors": {},
    })


@router.post("/{visit_id}/sign")
def visit_sign(person: CaseInScope, visit: CaseVisit, db: DbSession, audit: Audit, user: User = RecordClinical,
               data: SignForm = Posted(SignForm)) -> Response:
    service.sign_visit(db, user, person, visit, data.version, data.declaration)
    audit.record("visit.signed", visit, content_sha256=visit.content_sha256)
    return done(_base(person.reference, visit.id),
                "Visit signed. It can no longer be changed: add an addendum for any correction.")


@router.post("/{visit_id}/addenda")
@shown_on("/people/{reference}/visits/{visit_id}")
def addendum_add(person: CaseInScope, visit: CaseVisit, db: DbSession, audit: Audit, user: User = RecordClinical,
                 data: AddendumForm = Posted(AddendumForm)) -> Response:
    addendum = service.add_addendum(db, user, person, visit, data.text)
    audit.record("visit.addendum_added", visit, addendum_id=addendum.id)
    return done(_base(person.reference, visit.id) + "#addenda", "Addendum added.")


# --- the person page's section ---------------------------------------------------------------------

def visits_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    data = service.section(db, person, organisation_today(get_settings()))
    data.update(may_record=has_permission(user.role, Permission.record_clinical), mode_labels=MODE_LABELS,
                risk_labels=RISK_LABELS, status_labels=STATUS_LABELS)
    return data
