"""Consent pages on a person's record: record a consent, record its withdrawal, and the person-page section."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from app.audit import service as audit
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.consent import service
from app.consent.models import Consent, ConsentPurpose
from app.consent.schemas import METHOD_LABELS, PURPOSE_LABELS, ConsentForm, WithdrawForm
from app.db import DbSession
from app.people import sections
from app.people.models import Person
from app.people.service import VersionConflict, load_details
from app.people.views import person_or_refuse, stale_page
from app.web import flash
from app.web.forms import FORM_ERROR, PostedForm, validate_form
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/consents")
RecordClinical = Depends(require(Permission.record_clinical))
PURPOSE_CHOICES = [(p.value, label) for p, label in PURPOSE_LABELS.items()]
METHOD_CHOICES = [(m.value, label) for m, label in METHOD_LABELS.items()]


def _today() -> Any:
    return organisation_today(get_settings())


def _audit(db: DbSession, request: Request, action: str, user: User, person: Person, consent: Consent) -> None:
    details: dict[str, Any] = {"consent_id": consent.id, "purpose": consent.purpose.value}
    if consent.organisation_id is not None:
        details["organisation_id"] = consent.organisation_id
    audit.record(db, action, actor_id=user.id, person_id=person.id, object_type="consent", object_id=consent.id,
                 ip_address=client_ip(request), correlation_id=request.state.correlation_id, **details)


def _back_to_person(reference: str, message: str, kind: str = "success") -> Response:
    response = RedirectResponse(f"/people/{reference}#consent", status_code=303)
    flash.add(response, message, kind=kind)
    return response


# --- record a consent -------------------------------------------------------------------------------

def _new_page(request: Request, db: DbSession, person: Person, *, values: dict[str, Any],
              errors: dict[str, str], status_code: int = 200) -> Response:
    organisations = [(o.id, o.name) for o in service.active_organisations(db)]
    return render(request, "consent/form.html", {
        "person": person, "details": load_details(db, person), "values": {"version": person.version} | values,
        "errors": errors, "purposes": PURPOSE_CHOICES, "methods": METHOD_CHOICES, "organisations": organisations,
    }, status_code=status_code)


@router.get("/new")
def consent_new(request: Request, reference: str, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    # The referral page links here to ask for the consent a referral is missing: preselect what it names.
    values: dict[str, Any] = {}
    purpose = request.query_params.get("purpose", "")
    if purpose in ConsentPurpose.__members__:
        values["purpose"] = purpose
    organisation = request.query_params.get("organisation", "")
    if organisation.isdigit():
        values["organisation_id"] = organisation
    return _new_page(request, db, person, values=values, errors={})


@router.post("/new")
def consent_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                   user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, ConsentForm)
    data = result.data
    if data is None:
        return _new_page(request, db, person, values=result.values, errors=result.errors, status_code=422)
    try:
        consent = service.record_consent(db, user.id, person, data, today=_today())
    except (VersionConflict, StaleDataError):
        return stale_page(request, db, f"/people/{reference}")
    except service.ConsentRuleError as exc:
        return _new_page(request, db, person, values=result.values, errors=exc.errors, status_code=422)
    _audit(db, request, "consent.recorded", user, person, consent)
    return _back_to_person(reference, "Consent recorded.")


# --- withdraw a consent -----------------------------------------------------------------------------

def _withdraw_page(request: Request, db: DbSession, person: Person, consent: Consent, *, values: dict[str, Any],
                   errors: dict[str, str], status_code: int = 200) -> Response:
    return render(request, "consent/withdraw.html", {
        "person": person, "details": load_details(db, person), "consent": consent,
        "organisation": service.organisation_name(db, consent.organisation_id),
        "purpose_labels": PURPOSE_LABELS, "method_labels": METHOD_LABELS,
        "values": {"version": person.version} | values, "errors": errors,
    }, status_code=status_code)


def _consent_or_404(db: DbSession, person: Person, consent_id: int) -> Consent:
    consent = service.get_consent(db, person.id, consent_id)
    if consent is None:
        raise HTTPException(status_code=404)
    return consent


@router.get("/{consent_id}/withdraw")
def consent_withdraw_form(request: Request, reference: str, consent_id: int, db: DbSession,
                          user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    consent = _consent_or_404(db, person, consent_id)
    if consent.withdrawn_date is not None:
        return _back_to_person(reference, "That consent has already been withdrawn.", kind="warning")
    return _withdraw_page(request, db, person, consent, values={}, errors={})


@router.post("/{consent_id}/withdraw")
def consent_withdraw(request: Request, reference: str, consent_id: int, db: DbSession, form: PostedForm,
                     user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    consent = _consent_or_404(db, person, consent_id)
    result = validate_form(form, WithdrawForm)
    data = result.data
    if data is None:
        return _withdraw_page(request, db, person, consent, values=result.values, errors=result.errors,
                              status_code=422)
    try:
        service.withdraw_consent(db, user.id, person, consent_id, withdrawn_date=data.withdrawn_date,
                                 version=data.version, today=_today())
    except (VersionConflict, StaleDataError):
        return stale_page(request, db, f"/people/{reference}")
    except service.ConsentRuleError as exc:
        errors = {(k if k in WithdrawForm.model_fields else FORM_ERROR): v for k, v in exc.errors.items()}
        return _withdraw_page(request, db, person, consent, values=result.values, errors=errors, status_code=422)
    _audit(db, request, "consent.withdrawn", user, person, consent)
    return _back_to_person(reference, "Withdrawal of consent recorded.")


# --- the person-page section ------------------------------------------------------------------------

def build_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    rows = service.consents_of(db, person.id)
    return {
        "current": [r for r in rows if r.consent.withdrawn_date is None],
        "withdrawn": [r for r in rows if r.consent.withdrawn_date is not None],
        "purpose_labels": PURPOSE_LABELS, "method_labels": METHOD_LABELS,
        "can_record": has_permission(user.role, Permission.record_clinical),
    }


sections.register("consent", order=40, template="consent/_section.html", build=build_section)
