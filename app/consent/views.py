"""Consent pages on a person's record: record a consent, record its withdrawal, and the person-page section."""

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
from app.consent import service
from app.consent.dependencies import CaseConsent
from app.consent.models import Consent, ConsentPurpose
from app.consent.schemas import METHOD_LABELS, PURPOSE_LABELS, ConsentForm, WithdrawForm
from app.db import DbSession
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.web.forms import Posted
from app.web.params import query_id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/consents")
RecordClinical = Depends(require(Permission.record_clinical))
PURPOSE_CHOICES = [(p.value, label) for p, label in PURPOSE_LABELS.items()]
METHOD_CHOICES = [(m.value, label) for m, label in METHOD_LABELS.items()]


def _consent_section(person: Person) -> str:
    return f"/people/{person.reference}#consent"


def _audit_details(consent: Consent) -> dict[str, Any]:
    details: dict[str, Any] = {"consent_id": consent.id, "purpose": consent.purpose.value}
    if consent.organisation_id is not None:
        details["organisation_id"] = consent.organisation_id
    return details


# --- record a consent -------------------------------------------------------------------------------

@router.get("/new")
def consent_new(request: Request, person: CaseInScope, db: DbSession, user: User = RecordClinical) -> Response:
    values: dict[str, Any] = {"version": person.version}
    # The referral page links here to ask for the consent a referral is missing: preselect what it names.
    purpose = request.query_params.get("purpose", "")
    if purpose in ConsentPurpose.__members__:
        values["purpose"] = purpose
    organisation_id = query_id(request.query_params.get("organisation"))
    if organisation_id is not None:
        values["organisation_id"] = organisation_id
    return render(request, "consent/form.html", {
        "person": person, "details": load_details(db, person), "values": values, "errors": {},
        "purposes": PURPOSE_CHOICES, "methods": METHOD_CHOICES,
        "organisations": [(o.id, o.name) for o in service.active_organisations(db)],
    })


@router.post("/new")
def consent_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                   data: ConsentForm = Posted(ConsentForm)) -> Response:
    consent = service.record_consent(db, user.id, person, data, today=organisation_today(get_settings()))
    audit.record("consent.recorded", consent, **_audit_details(consent))
    return done(_consent_section(person), "Consent recorded.")


# --- withdraw a consent -----------------------------------------------------------------------------

@router.get("/{consent_id}/withdraw")
def consent_withdraw_form(request: Request, person: CaseInScope, consent: CaseConsent, db: DbSession,
                          user: User = RecordClinical) -> Response:
    if consent.withdrawn_date is not None:
        return done(_consent_section(person), "That consent has already been withdrawn.", kind="warning")
    return render(request, "consent/withdraw.html", {
        "person": person, "details": load_details(db, person), "consent": consent,
        "organisation": service.organisation_name(db, consent.organisation_id),
        "purpose_labels": PURPOSE_LABELS, "method_labels": METHOD_LABELS,
        "values": {"version": person.version}, "errors": {},
    })


@router.post("/{consent_id}/withdraw")
def consent_withdraw(person: CaseInScope, consent: CaseConsent, db: DbSession, audit: Audit,
                     user: User = RecordClinical, data: WithdrawForm = Posted(WithdrawForm)) -> Response:
    service.withdraw_consent(db, user.id, person, consent, data, today=organisation_today(get_settings()))
    audit.record("consent.withdrawn", consent, **_audit_details(consent))
    return done(_consent_section(person), "Withdrawal of consent recorded.")


# --- the person-page section ------------------------------------------------------------------------

def consent_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    rows = service.consents_of(db, person.id)
    return {
        "current": [r for r in rows if r.consent.withdrawn_date is None],
        "withdrawn": [r for r in rows if r.consent.withdrawn_date is not None],
        "purpose_labels": PURPOSE_LABELS, "method_labels": METHOD_LABELS,
        "can_record": has_permission(user.role, Permission.record_clinical),
    }
