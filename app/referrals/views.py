"""The admin's organisations register, and referrals on a person's record: draft, send (only with a current
consent to share), record the response, NRM details, the referral page and the person-page section."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.consent import service as consent_service
from app.consent.models import ConsentPurpose
from app.db import DbSession
from app.people import sections
from app.people.models import Person
from app.people.service import VersionConflict, load_details
from app.people.views import person_or_refuse, stale_page
from app.referrals import service
from app.referrals.models import NrmReferral, Organisation, Referral, ReferralStatus
from app.referrals.schemas import (
    NEXT_STATUSES,
    NRM_DECISION_LABELS,
    ORGANISATION_TYPE_LABELS,
    STATUS_LABELS,
    NrmForm,
    OrganisationForm,
    ReferralForm,
    SendForm,
    StatusForm,
)
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, validate_form
from app.web.templating import render


def _today() -> date:
    return organisation_today(get_settings())


def _only_known(errors: dict[str, str], fields: set[str]) -> dict[str, str]:
    # A rule about the record as a whole has no field of its own on the page.
    return {(name if name in fields else FORM_ERROR): message for name, message in errors.items()}


# --- the organisations register (admin) -------------------------------------------------------------

organisations_router = APIRouter(prefix="/admin/organisations")
ManageReferenceData = Depends(require(Permission.manage_reference_data))
TYPE_CHOICES = [(t.value, label) for t, label in ORGANISATION_TYPE_LABELS.items()]
LIST_PATH = "/admin/organisations"


def _organisation_or_404(db: DbSession, organisation_id: int) -> Organisation:
    organisation = service.get_organisation(db, organisation_id)
    if organisation is None:
        raise HTTPException(status_code=404)
    return organisation


def _organisation_values(organisation: Organisation) -> dict[str, object]:
    return {"name": organisation.name, "type": organisation.type.value, "contact": organisation.contact or ""}


def _organisation_page(request: Request, db: DbSession, *, organisation: Organisation | None,
                       errors: dict[str, str], values: dict[str, object] | None = None,
                       status_code: int = 200) -> Response:
    if values is None:
        values = _organisation_values(organisation) if organisation is not None else {}
    return render(request, "admin/organisations_form.html", {
        "organisation": organisation, "errors": errors, "values": values, "types": TYPE_CHOICES,
        "type_labels": ORGANISATION_TYPE_LABELS,
        "usage": service.organisation_usage(db, organisation.id) if organisation is not None else None,
    }, status_code=status_code)


def _audit_organisation(request: Request, db: DbSession, action: str, admin: User, organisation: Organisation,
                        **details: Any) -> None:
    audit.record(db, action, actor_id=admin.id, object_type="organisation", object_id=organisation.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, **details)


def _to_register(message: str) -> Response:
    response = RedirectResponse(LIST_PATH, status_code=303)
    flash.add(response, message)
    return response


@organisations_router.get("", dependencies=[ManageReferenceData])
def organisations_list(request: Request, db: DbSession) -> Response:
    organisations = service.list_organisations(db)
    return render(request, "admin/organisations.html", {
        "active_organisations": [o for o in organisations if o.is_active],
        "inactive_organisations": [o for o in organisations if not o.is_active],
        "type_labels": ORGANISATION_TYPE_LABELS,
    })


@organisations_router.get("/new", dependencies=[ManageReferenceData])
def organisation_new(request: Request, db: DbSession) -> Response:
    return _organisation_page(request, db, organisation=None, errors={})


@organisations_router.post("/new")
def organisation_create(request: Request, db: DbSession, form: PostedForm,
                        admin: User = ManageReferenceData) -> Response:
    result = validate_form(form, OrganisationForm)
    data = result.data
    if data is not None:
        try:
            organisation = service.create_organisation(db, admin.id, name=data.name, type=data.type,
                                                       contact=data.contact)
        except service.RuleError as exc:
            result.errors.update(_only_known(exc.errors, set(OrganisationForm.model_fields)))
    if not result.ok or data is None:
        return _organisation_page(request, db, organisation=None, errors=result.errors, values=result.values,
                                  status_code=422)
    _audit_organisation(request, db, "admin.organisation_created", admin, organisation, name=organisation.name,
                        type=organisation.type.value)
    return _to_register(f"{organisation.name} added.")


@organisations_router.get("/{organisation_id}", dependencies=[ManageReferenceData])
def organisation_edit(request: Request, organisation_id: int, db: DbSession) -> Response:
    return _organisation_page(request, db, organisation=_organisation_or_404(db, organisation_id), errors={})


@organisations_router.post("/{organisation_id}")
def organisation_update(request: Request, organisation_id: int, db: DbSession, form: PostedForm,
                        admin: User = ManageReferenceData) -> Response:
    organisation = _organisation_or_404(db, organisation_id)
    result = validate_form(form, OrganisationForm)
    data = result.data
    changed: list[str] = []
    if data is not None:
        try:
            changed = service.update_organisation(db, admin.id, organisation, name=data.name, type=data.type,
                                                  contact=data.contact)
        except service.RuleError as exc:
            result.errors.update(_only_known(exc.errors, set(OrganisationForm.model_fields)))
    if not result.ok or data is None:
        return _organisation_page(request, db, organisation=organisation, errors=result.errors,
                                  values=result.values, status_code=422)
    if changed:
        # Field names only: contact details may name a member of the organisation's staff; the revision
        # keeps the values.
        _audit_organisation(request, db, "admin.organisation_changed", admin, organisation, fields=changed)
    return _to_register(f"{organisation.name} updated." if changed else "Nothing was changed.")


def _set_active(request: Request, db: DbSession, admin: User, organisation_id: int, active: bool) -> Response:
    organisation = _organisation_or_404(db, organisation_id)
    try:
        service.set_organisation_active(db, admin.id, organisation, active)
    except service.RuleError as exc:
        return _organisation_page(request, db, organisation=organisation, errors=_only_known(exc.errors, set()),
                                  status_code=422)
    action = "admin.organisation_reactivated" if active else "admin.organisation_deactivated"
    _audit_organisation(request, db, action, admin, organisation, name=organisation.name)
    if active:
        return _to_register(f"{organisation.name} is active again.")
    return _to_register(f"{organisation.name} deactivated. It stays on the records that name it.")


@organisations_router.post("/{organisation_id}/deactivate")
def organisation_deactivate(request: Request, organisation_id: int, db: DbSession,
                            admin: User = ManageReferenceData) -> Response:
    return _set_active(request, db, admin, organisation_id, False)


@organisations_router.post("/{organisation_id}/reactivate")
def organisation_reactivate(request: Request, organisation_id: int, db: DbSession,
                            admin: User = ManageReferenceData) -> Response:
    return _set_active(request, db, admin, organisation_id, True)


# --- referrals on a person's record -----------------------------------------------------------------

router = APIRouter(prefix="/people/{reference}/referrals")
ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
NRM_CHOICES = [(d.value, label) for d, label in NRM_DECISION_LABELS.items()]


def consent_link(reference: str, organisation_id: int) -> str:
    return f"/people/{reference}/consents/new?purpose=share_with_organisation&organisation={organisation_id}"


def _audit_referral(request: Request, db: DbSession, action: str, user: User, person: Person,
                    referral: Referral, **details: Any) -> None:
    audit.record(db, action, actor_id=user.id, person_id=person.id, object_type="referral", object_id=referral.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id,
                 referral_id=referral.id, **details)


def _referral_or_404(db: DbSession, person: Person, referral_id: int) -> Referral:
    referral = service.get_referral(db, person.id, referral_id)
    if referral is None:
        raise HTTPException(status_code=404)
    return referral


def _organisation_label(organisation: Organisation) -> str:
    return f"{organisation.name} ({ORGANISATION_TYPE_LABELS[organisation.type]})"


# New referral

def _new_page(request: Request, db: DbSession, person: Person, *, values: dict[str, Any], errors: dict[str, str],
              status_code: int = 200) -> Response:
    return render(request, "referrals/form.html", {
        "person": person, "details": load_details(db, person), "values": {"version": person.version} | values,
        "errors": errors,
        "organisations": [(o.id, _organisation_label(o)) for o in service.active_organisations(db)],
    }, status_code=status_code)


@router.get("/new")
def referral_new(request: Request, reference: str, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _new_page(request, db, person, values={}, errors={})


@router.post("/new")
def referral_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                    user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, ReferralForm)
    data = result.data
    if data is None:
        return _new_page(request, db, person, values=result.values, errors=result.errors, status_code=422)
    try:
        referral = service.create_referral(db, user.id, person, data, today=_today())
    except (VersionConflict, StaleDataError):
        return stale_page(request, db, f"/people/{reference}")
    except service.RuleError as exc:
        return _new_page(request, db, person, values=result.values,
                         errors=_only_known(exc.errors, set(ReferralForm.model_fields)), status_code=422)
    is_nrm = db.get(NrmReferral, referral.id) is not None
    _audit_referral(request, db, "referral.created", user, person, referral,
                    organisation_id=referral.organisation_id, nrm=is_nrm)
    response = RedirectResponse(f"/people/{reference}/referrals/{referral.id}", status_code=303)
    flash.add(response, "Referral drafted. Record it as sent once it has gone.")
    return response


# The referral page

def _referral_page(request: Request, db: DbSession, user: User, person: Person, referral: Referral, *,
                   values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   consent_missing: date | None = None, status_code: int = 200) -> Response:
    today = _today()
    organisation = referral.organisation
    nrm = referral.nrm
    consent_ok = None
    if referral.status is ReferralStatus.draft:
        consent_ok = consent_service.has_current_consent(
            db, person.id, ConsentPurpose.share_with_organisation, organisation_id=organisation.id, on=today)
    defaults: dict[str, Any] = {"version": person.version}
    if referral.status is ReferralStatus.draft:
        defaults |= {"made_date": today.isoformat(),
                     "follow_up_date": referral.follow_up_date.isoformat() if referral.follow_up_date else ""}
    elif referral.status in NEXT_STATUSES:
        defaults |= {"outcome": referral.outcome or ""}
    first_responder = (db.get(Organisation, nrm.first_responder_id)
                       if nrm is not None and nrm.first_responder_id is not None else None)
    return render(request, "referrals/show.html", {
        "person": person, "details": load_details(db, person), "referral": referral, "organisation": organisation,
        "nrm": nrm, "nrm_state": service.nrm_state(nrm), "first_responder": first_responder,
        "made_by": db.scalar(select(User.display_name).where(User.id == referral.made_by_id)),
        "history": service.history(db, referral.id), "today": today,
        "overdue": service.follow_up_overdue(referral, today),
        "status_labels": STATUS_LABELS, "type_labels": ORGANISATION_TYPE_LABELS, "nrm_labels": NRM_DECISION_LABELS,
        "next_statuses": [(s.value, STATUS_LABELS[s]) for s in NEXT_STATUSES.get(referral.status, ())],
        "consent_ok": consent_ok, "consent_missing": consent_missing,
        "consent_link": consent_link(person.reference, organisation.id),
        "can_record": has_permission(user.role, Permission.record_clinical),
        "values": defaults | (values or {}), "errors": errors or {},
    }, status_code=status_code)


@router.get("/{referral_id}")
def referral_show(request: Request, reference: str, referral_id: int, db: DbSession,
                  user: User = ViewPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    referral = _referral_or_404(db, person, referral_id)
    _audit_referral(request, db, "referral.viewed", user, person, referral)
    return _referral_page(request, db, user, person, referral)


def _reload(db: DbSession, reference: str, referral_id: int) -> tuple[Person, Referral]:
    """After a refused change: forget anything half-done and read the record again."""
    db.rollback()
    person = db.scalars(select(Person).where(Person.reference == reference)).one()
    return person, _referral_or_404(db, person, referral_id)


@router.post("/{referral_id}/send")
def referral_send(request: Request, reference: str, referral_id: int, db: DbSession, form: PostedForm,
                  user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    referral = _referral_or_404(db, person, referral_id)
    result = validate_form(form, SendForm)
    data = result.data
    if data is None:
        return _referral_page(request, db, user, person, referral, values=result.values, errors=result.errors,
                              status_code=422)
    try:
        service.send_referral(db, user.id, person, referral_id, made_date=data.made_date,
                              follow_up_date=data.follow_up_date, version=data.version, today=_today())
    except (VersionConflict, StaleDataError):
        return stale_page(request, db, f"/people/{reference}")
    except service.ConsentMissing as exc:
        person, referral = _reload(db, reference, referral_id)
        # Kept: a refusal for want of consent is something coordinators need to see, and it changes nothing.
        _audit_referral(request, db, "referral.send_refused", user, person, referral, reason="consent_missing",
                        organisation_id=exc.organisation.id)
        return _referral_page(request, db, user, person, referral, values=result.values, errors=exc.errors,
                              consent_missing=exc.on, status_code=422)
    except service.RuleError as exc:
        person, referral = _reload(db, reference, referral_id)
        return _referral_page(request, db, user, person, referral, values=result.values,
                              errors=_only_known(exc.errors, set(SendForm.model_fields)), status_code=422)
    _audit_referral(request, db, "referral.sent", user, person, referral, organisation_id=referral.organisation_id)
    response = RedirectResponse(f"/people/{reference}/referrals/{referral_id}", status_code=303)
    flash.add(response, "Referral recorded as sent.")
    return response


@router.post("/{referral_id}/status")
def referral_status(request: Request, reference: str, referral_id: int, db: DbSession, form: PostedForm,
                    user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    referral = _referral_or_404(db, person, referral_id)
    result = validate_form(form, StatusForm)
    data = result.data
    if data is None:
        return _referral_page(request, db, user, person, referral, values=result.values, errors=result.errors,
                              status_code=422)
    previous = referral.status
    try:
        service.record_response(db, user.id, person, referral_id, status=data.status,
                                response_date=data.response_date, outcome=data.outcome, version=data.version,
                                today=_today())
    except (VersionConflict, StaleDataError):
        return stale_page(request, db, f"/people/{reference}")
    except service.RuleError as exc:
        person, referral = _reload(db, reference, referral_id)
        return _referral_page(request, db, user, person, referral, values=result.values,
                              errors=_only_known(exc.errors, set(StatusForm.model_fields)), status_code=422)
    _audit_referral(request, db, "referral.status_changed", user, person, referral, status=data.status.value,
                    previous_status=previous.value)
    response = RedirectResponse(f"/people/{reference}/referrals/{referral_id}", status_code=303)
    flash.add(response, f"Referral recorded as {STATUS_LABELS[data.status].lower()}.")
    return response


# NRM details

def _nrm_values(referral: Referral) -> dict[str, Any]:
    nrm = referral.nrm
    assert nrm is not None  # noqa: S101  (type narrowing: the code above guarantees it)

    def plain(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        return str(getattr(value, "value", value))

    return {name: plain(getattr(nrm, name)) for name in (
        "first_responder_id", "reasonable_grounds_date", "reasonable_grounds_outcome", "conclusive_grounds_date",
        "conclusive_grounds_outcome")}


def _nrm_page(request: Request, db: DbSession, person: Person, referral: Referral, *,
              values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
              status_code: int = 200) -> Response:
    nrm = referral.nrm
    assert nrm is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    responders = service.first_responders(db, keep_id=nrm.first_responder_id)
    return render(request, "referrals/nrm_form.html", {
        "person": person, "details": load_details(db, person), "referral": referral,
        "organisation": referral.organisation, "responders": [(o.id, o.name) for o in responders],
        "decisions": NRM_CHOICES,
        "values": {"version": person.version} | (values if values is not None else _nrm_values(referral)),
        "errors": errors or {},
    }, status_code=status_code)


def _nrm_referral_or_404(db: DbSession, person: Person, referral_id: int) -> Referral:
    referral = _referral_or_404(db, person, referral_id)
    if referral.nrm is None:
        raise HTTPException(status_code=404)
    return referral


@router.get("/{referral_id}/nrm")
def referral_nrm_form(request: Request, reference: str, referral_id: int, db: DbSession,
                      user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _nrm_page(request, db, person, _nrm_referral_or_404(db, person, referral_id))


@router.post("/{referral_id}/nrm")
def referral_nrm_update(request: Request, reference: str, referral_id: int, db: DbSession, form: PostedForm,
                        user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    referral = _nrm_referral_or_404(db, person, referral_id)
    result = validate_form(form, NrmForm)
    data = result.data
    if data is None:
        return _nrm_page(request, db, person, referral, values=result.values, errors=result.errors, status_code=422)
    try:
        changed = service.update_nrm(db, user.id, person, referral_id, data, today=_today())
    except (VersionConflict, StaleDataError):
        return stale_page(request, db, f"/people/{reference}")
    except service.RuleError as exc:
        person, referral = _reload(db, reference, referral_id)
        return _nrm_page(request, db, person, referral, values=result.values,
                         errors=_only_known(exc.errors, set(NrmForm.model_fields)), status_code=422)
    if changed:
        _audit_referral(request, db, "referral.nrm_changed", user, person, referral, fields=changed)
    response = RedirectResponse(f"/people/{reference}/referrals/{referral_id}", status_code=303)
    flash.add(response, "NRM details saved." if changed else "Nothing was changed.")
    return response


# --- the person-page section ------------------------------------------------------------------------

def build_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    today = _today()
    rows = service.referrals_of(db, person.id)
    return {
        "rows": [{"referral": row.referral, "organisation": row.organisation, "nrm": row.nrm,
                  "nrm_state": service.nrm_state(row.nrm),
                  "overdue": service.follow_up_overdue(row.referral, today)} for row in rows],
        "status_labels": STATUS_LABELS,
        "can_record": has_permission(user.role, Permission.record_clinical),
    }


sections.register("referrals", order=35, template="referrals/_section.html", build=build_section)
