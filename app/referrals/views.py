"""The admin's organisations register, and referrals on a person's record: draft, send (only with a current
consent to share), record the response, NRM details, the referral page and the person-page section."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.consent import service as consent_service
from app.consent.models import ConsentPurpose
from app.db import DbSession
from app.errors import FORM_ERROR
from app.people.dependencies import CaseInScope, ViewPerson
from app.people.models import Person
from app.people.service import load_details
from app.referrals import service
from app.referrals.dependencies import CaseNrmReferral, CaseReferral, ManageReferenceData, RegisterOrganisation
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
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

# --- the organisations register (admin) -------------------------------------------------------------

organisations_router = APIRouter(prefix="/admin/organisations")
TYPE_CHOICES = [(t.value, label) for t, label in ORGANISATION_TYPE_LABELS.items()]
LIST_PATH = "/admin/organisations"


def _organisation_page(request: Request, db: DbSession, organisation: Organisation | None) -> Response:
    saved = ({"name": organisation.name, "type": organisation.type.value, "contact": organisation.contact or ""}
             if organisation is not None else {})
    return render(request, "referrals/organisation_form.html", {
        "organisation": organisation, "errors": {}, "values": saved, "types": TYPE_CHOICES,
        "type_labels": ORGANISATION_TYPE_LABELS,
        "usage": service.organisation_usage(db, organisation.id) if organisation is not None else None,
    })


@organisations_router.get("", dependencies=[ManageReferenceData])
def organisations_list(request: Request, db: DbSession) -> Response:
    organisations = service.list_organisations(db)
    return render(request, "referrals/organisations.html", {
        "active_organisations": [o for o in organisations if o.is_active],
        "inactive_organisations": [o for o in organisations if not o.is_active],
        "type_labels": ORGANISATION_TYPE_LABELS,
    })


@organisations_router.get("/new", dependencies=[ManageReferenceData])
def organisation_new(request: Request, db: DbSession) -> Response:
    return _organisation_page(request, db, None)


@organisations_router.post("/new")
def organisation_create(db: DbSession, audit: Audit, admin: User = ManageReferenceData,
                        data: OrganisationForm = Posted(OrganisationForm)) -> Response:
    organisation = service.create_organisation(db, admin.id, name=data.name, type=data.type, contact=data.contact)
    audit.record("admin.organisation_created", organisation, name=organisation.name, type=organisation.type.value)
    return done(LIST_PATH, f"{organisation.name} added.")


@organisations_router.get("/{organisation_id}", dependencies=[ManageReferenceData])
def organisation_edit(request: Request, organisation: RegisterOrganisation, db: DbSession) -> Response:
    return _organisation_page(request, db, organisation)


@organisations_router.post("/{organisation_id}")
def organisation_update(organisation: RegisterOrganisation, db: DbSession, audit: Audit,
                        admin: User = ManageReferenceData,
                        data: OrganisationForm = Posted(OrganisationForm)) -> Response:
    changed = service.update_organisation(db, admin.id, organisation, name=data.name, type=data.type,
                                          contact=data.contact)
    if changed:
        # Field names only: contact details may name a member of the organisation's staff; the revision
        # keeps the values.
        audit.record("admin.organisation_changed", organisation, fields=changed)
    return done(LIST_PATH, f"{organisation.name} updated." if changed else "Nothing was changed.")


@organisations_router.post("/{organisation_id}/deactivate")
@shown_on("/admin/organisations/{organisation_id}")
def organisation_deactivate(organisation: RegisterOrganisation, db: DbSession, audit: Audit,
                            admin: User = ManageReferenceData) -> Response:
    service.set_organisation_active(db, admin.id, organisation, False)
    audit.record("admin.organisation_deactivated", organisation, name=organisation.name)
    return done(LIST_PATH, f"{organisation.name} deactivated. It stays on the records that name it.")


@organisations_router.post("/{organisation_id}/reactivate")
@shown_on("/admin/organisations/{organisation_id}")
def organisation_reactivate(organisation: RegisterOrganisation, db: DbSession, audit: Audit,
                            admin: User = ManageReferenceData) -> Response:
    service.set_organisation_active(db, admin.id, organisation, True)
    audit.record("admin.organisation_reactivated", organisation, name=organisation.name)
    return done(LIST_PATH, f"{organisation.name} is active again.")


# --- referrals on a person's record -----------------------------------------------------------------

router = APIRouter(prefix="/people/{reference}/referrals")
RecordClinical = Depends(require(Permission.record_clinical))
NRM_CHOICES = [(d.value, label) for d, label in NRM_DECISION_LABELS.items()]
REFERRAL_PAGE = "/people/{reference}/referrals/{referral_id}"


def consent_link(reference: str, organisation_id: int) -> str:
    return f"/people/{reference}/consents/new?purpose=share_with_organisation&organisation={organisation_id}"


def referral_url(person: Person, referral: Referral) -> str:
    return f"/people/{person.reference}/referrals/{referral.id}"


def _organisation_label(organisation: Organisation) -> str:
    return f"{organisation.name} ({ORGANISATION_TYPE_LABELS[organisation.type]})"


# New referral

@router.get("/new")
def referral_new(request: Request, person: CaseInScope, db: DbSession, user: User = RecordClinical) -> Response:
    return render(request, "referrals/form.html", {
        "person": person, "details": load_details(db, person), "values": {"version": person.version},
        "errors": {},
        "organisations": [(o.id, _organisation_label(o)) for o in service.active_organisations(db)],
    })


@router.post("/new")
def referral_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                    data: ReferralForm = Posted(ReferralForm)) -> Response:
    referral = service.create_referral(db, user.id, person, data, today=organisation_today(get_settings()))
    is_nrm = db.get(NrmReferral, referral.id) is not None
    audit.record("referral.created", referral, referral_id=referral.id, organisation_id=referral.organisation_id,
                 nrm=is_nrm)
    return done(referral_url(person, referral), "Referral drafted. Record it as sent once it has gone.")


# The referral page

def _referral_page(request: Request, db: DbSession, user: User, person: Person, referral: Referral, *,
                   values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   consent_missing: date | None = None, status_code: int = 200) -> Response:
    today = organisation_today(get_settings())
    organisation = referral.organisation
    nrm = referral.nrm
    consent_ok = None
    if referral.status is ReferralStatus.draft:
        consent_ok = consent_service.has_current_consent(
            db, person.id, ConsentPurpose.share_with_organisation, organisation_id=organisation.id, on=today)
    # What is saved, which a stale form's conflict table compares with what was typed (the send form's date
    # made is not saved yet: the template offers today).
    saved: dict[str, Any] = {"version": person.version}
    if referral.status is ReferralStatus.draft:
        saved |= {"follow_up_date": referral.follow_up_date.isoformat() if referral.follow_up_date else ""}
    elif referral.status in NEXT_STATUSES:
        saved |= {"outcome": referral.outcome or ""}
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
        "values": saved | (values or {}), "errors": errors or {},
    }, status_code=status_code)


@router.get("/{referral_id}")
def referral_show(request: Request, person: CaseInScope, referral: CaseReferral, db: DbSession, audit: Audit,
                  user: User = ViewPerson) -> Response:
    audit.record("referral.viewed", referral, referral_id=referral.id)
    return _referral_page(request, db, user, person, referral)


@router.post("/{referral_id}/send")
@shown_on(REFERRAL_PAGE)
def referral_send(request: Request, person: CaseInScope, referral: CaseReferral, db: DbSession, audit: Audit,
                  user: User = RecordClinical, data: SendForm = Posted(SendForm)) -> Response:
    missing = service.send_referral(db, user.id, person, referral, data, today=organisation_today(get_settings()))
    if missing is not None:
        # Kept: a refusal for want of consent is something coordinators need to see, and it changes nothing.
        # So this page is answered here, in the request's own transaction, which keeps the audit row.
        audit.record("referral.send_refused", referral, referral_id=referral.id, reason="consent_missing",
                     organisation_id=missing.organisation.id)
        return _referral_page(request, db, user, person, referral, values=request.state.submitted.values,
                              errors={FORM_ERROR: missing.message}, consent_missing=missing.on, status_code=422)
    audit.record("referral.sent", referral, referral_id=referral.id, organisation_id=referral.organisation_id)
    return done(referral_url(person, referral), "Referral recorded as sent.")


@router.post("/{referral_id}/status")
@shown_on(REFERRAL_PAGE)
def referral_status(person: CaseInScope, referral: CaseReferral, db: DbSession, audit: Audit,
                    user: User = RecordClinical, data: StatusForm = Posted(StatusForm)) -> Response:
    previous = referral.status
    service.record_response(db, user.id, person, referral, data, today=organisation_today(get_settings()))
    audit.record("referral.status_changed", referral, referral_id=referral.id, status=data.status.value,
                 previous_status=previous.value)
    return done(referral_url(person, referral), f"Referral recorded as {STATUS_LABELS[data.status].lower()}.")


# NRM details

def _nrm_values(referral: Referral) -> dict[str, Any]:
    nrm = referral.nrm
    assert nrm is not None  # noqa: S101  (type narrowing: CaseNrmReferral guarantees it)

    def plain(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        return str(getattr(value, "value", value))

    return {name: plain(getattr(nrm, name)) for name in (
        "first_responder_id", "reasonable_grounds_date", "reasonable_grounds_outcome", "conclusive_grounds_date",
        "conclusive_grounds_outcome")}


@router.get("/{referral_id}/nrm")
def referral_nrm_form(request: Request, person: CaseInScope, referral: CaseNrmReferral, db: DbSession,
                      user: User = RecordClinical) -> Response:
    nrm = referral.nrm
    assert nrm is not None  # noqa: S101  (type narrowing: CaseNrmReferral guarantees it)
    responders = service.first_responders(db, keep_id=nrm.first_responder_id)
    return render(request, "referrals/nrm_form.html", {
        "person": person, "details": load_details(db, person), "referral": referral,
        "organisation": referral.organisation, "responders": [(o.id, o.name) for o in responders],
        "decisions": NRM_CHOICES, "values": {"version": person.version} | _nrm_values(referral), "errors": {},
    })


@router.post("/{referral_id}/nrm")
def referral_nrm_update(person: CaseInScope, referral: CaseNrmReferral, db: DbSession, audit: Audit,
                        user: User = RecordClinical, data: NrmForm = Posted(NrmForm)) -> Response:
    changed = service.update_nrm(db, user.id, person, referral, data, today=organisation_today(get_settings()))
    if changed:
        audit.record("referral.nrm_changed", referral, referral_id=referral.id, fields=changed)
    return done(referral_url(person, referral), "NRM details saved." if changed else "Nothing was changed.")


# --- the person-page section ------------------------------------------------------------------------

def referrals_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    today = organisation_today(get_settings())
    rows = service.referrals_of(db, person.id)
    return {
        "rows": [{"referral": row.referral, "organisation": row.organisation, "nrm": row.nrm,
                  "nrm_state": service.nrm_state(row.nrm),
                  "overdue": service.follow_up_overdue(row.referral, today)} for row in rows],
        "status_labels": STATUS_LABELS,
        "can_record": has_permission(user.role, Permission.record_clinical),
    }
