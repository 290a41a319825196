"""Consent: recording and withdrawing it, and the question sharing and research features ask at the moment
they act: does this person have a current consent for this purpose?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.audit import revisions
from app.auth.models import User
from app.consent.models import Consent, ConsentPurpose
from app.consent.schemas import ConsentForm, WithdrawForm
from app.dates import format_date as _day
from app.db import check_version
from app.errors import FORM_ERROR, RuleBroken
from app.people.models import Person
from app.people.service import touch
from app.referrals.models import Organisation

# --- the public question ----------------------------------------------------------------------------

def current_on(on: date) -> ColumnElement[bool]:
    """Given on or before `on` and not withdrawn on or before it: a withdrawal takes effect on its own day."""
    return and_(Consent.given_date <= on, or_(Consent.withdrawn_date.is_(None), Consent.withdrawn_date > on))


def people_consenting(purpose: ConsentPurpose, on: date) -> Select[int]:
    """The ids of people whose consent for `purpose` stands on the day `on`, as a subquery for IN."""
    return select(Consent.person_id).where(Consent.purpose == purpose, current_on(on))


def has_current_consent(db: Session, person_id: int, purpose: ConsentPurpose, *, organisation_id: int | None = None,
                        on: date) -> bool:
    """Whether the person's consent for `purpose` stands on the day `on`. A consent to share is specific to
    one organisation, so `organisation_id` is required for that purpose and refused for every other."""
    purpose = ConsentPurpose(purpose)
    if (purpose is ConsentPurpose.share_with_organisation) != (organisation_id is not None):
        raise ValueError("organisation_id is required for share_with_organisation and only for it")
    condition = [Consent.person_id == person_id, Consent.purpose == purpose, current_on(on)]
    if organisation_id is not None:
        condition.append(Consent.organisation_id == organisation_id)
    return bool(db.scalar(select(exists().where(*condition))))


def current_consents(db: Session, person_id: int, on: date) -> list[Consent]:
    """The person's consents that stand on the day `on`, oldest first."""
    return list(db.scalars(select(Consent).where(Consent.person_id == person_id, current_on(on))
                           .order_by(Consent.given_date, Consent.id)))


# --- reading ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsentRow:
    consent: Consent
    organisation: str | None
    recorded_by: str
    withdrawal_recorded_by: str | None


def consents_of(db: Session, person_id: int) -> list[ConsentRow]:
    """Every consent of one person with the names a page shows, newest first, in one statement."""
    recorder, withdrawer = aliased(User), aliased(User)
    rows = db.execute(
        select(Consent, Organisation.name, recorder.display_name, withdrawer.display_name)
        .outerjoin(Organisation, Organisation.id == Consent.organisation_id)
        .join(recorder, recorder.id == Consent.recorded_by_id)
        .outerjoin(withdrawer, withdrawer.id == Consent.withdrawal_recorded_by_id)
        .where(Consent.person_id == person_id)
        .order_by(Consent.given_date.desc(), Consent.id.desc())
    ).all()
    return [ConsentRow(*row) for row in rows]


def get_consent(db: Session, person_id: int, consent_id: int) -> Consent | None:
    consent = db.get(Consent, consent_id)
    return consent if consent is not None and consent.person_id == person_id else None


def organisation_name(db: Session, organisation_id: int | None) -> str | None:
    if organisation_id is None:
        return None
    return db.scalar(select(Organisation.name).where(Organisation.id == organisation_id))


def active_organisations(db: Session) -> list[Organisation]:
    """Organisations a new consent to share may name, by name."""
    return list(db.scalars(select(Organisation).where(Organisation.is_active.is_(True))
                           .order_by(func.lower(Organisation.name))))


# --- changes ----------------------------------------------------------------------------------------

def _snapshot(consent: Consent) -> dict[str, Any]:
    return {"purpose": consent.purpose, "organisation_id": consent.organisation_id, "given_date": consent.given_date,
            "method": consent.method, "interpreter_language": consent.interpreter_language, "notes": consent.notes,
            "withdrawn_date": consent.withdrawn_date, "withdrawal_recorded_by_id": consent.withdrawal_recorded_by_id}


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def record_consent(db: Session, actor_id: int, person: Person, data: ConsentForm, *, today: date) -> Consent:
    """Record a consent the person gave. RuleBroken for a date in the future or an organisation that is not
    active; StaleForm if the record changed since the form was loaded."""
    check_version(person, data.version)
    errors: dict[str, str] = {}
    if data.given_date > today:
        errors["given_date"] = "The date consent was given cannot be in the future."
    if data.organisation_id is not None:
        organisation = db.get(Organisation, data.organisation_id)
        if organisation is None or not organisation.is_active:
            errors["organisation_id"] = "Choose an active organisation from the list."
    if errors:
        raise RuleBroken(errors)
    consent = Consent(person_id=person.id, purpose=data.purpose, organisation_id=data.organisation_id,
                      given_date=data.given_date, method=data.method,
                      interpreter_language=_clean(data.interpreter_language), notes=_clean(data.notes),
                      recorded_by_id=actor_id)
    db.add(consent)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="consents", row_id=consent.id, person_id=person.id,
                     before=None, after=_snapshot(consent))
    return consent


def withdraw_consent(db: Session, actor_id: int, person: Person, consent: Consent, data: WithdrawForm, *,
                     today: date) -> None:
    """Record that the person withdrew a consent. From that day on, features that need it are refused."""
    check_version(person, data.version)
    if consent.withdrawn_date is not None:
        raise RuleBroken.on(FORM_ERROR, f"This consent was already withdrawn on {_day(consent.withdrawn_date)}.")
    if data.withdrawn_date > today:
        raise RuleBroken.on("withdrawn_date", "The date consent was withdrawn cannot be in the future.")
    if data.withdrawn_date < consent.given_date:
        raise RuleBroken.on("withdrawn_date", (
            f"The date consent was withdrawn must be on or after the date it was given, {_day(consent.given_date)}."))
    before = _snapshot(consent)
    consent.withdrawn_date = data.withdrawn_date
    consent.withdrawal_recorded_by_id = actor_id
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="consents", row_id=consent.id, person_id=person.id,
                     before=before, after=_snapshot(consent))
