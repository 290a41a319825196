"""Organisations (the referral register) and referrals: drafting, sending only with a current consent to share,
recording the response, NRM details, and the history of each referral."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app.audit import revisions
from app.audit.models import Revision, RevisionAction
from app.auth.models import User
from app.consent import service as consent_service
from app.consent.models import Consent, ConsentPurpose
from app.dates import format_date as _day
from app.db import check_version
from app.errors import FORM_ERROR, NotFound, RuleBroken
from app.people.models import Person
from app.people.service import touch
from app.referrals.models import (
    NrmDecision,
    NrmReferral,
    Organisation,
    OrganisationType,
    Referral,
    ReferralStatus,
)
from app.referrals.schemas import (
    AWAITING_STATUSES,
    NEXT_STATUSES,
    NRM_DECISION_LABELS,
    STATUS_LABELS,
    NrmForm,
    ReferralForm,
    SendForm,
    StatusForm,
)

DUPLICATE_NAME = "An organisation with this name already exists."


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class ConsentMissing:
    """Why a referral was not sent: no consent to share with its organisation stood on the day it was made.
    Returned rather than raised, because the refusal is recorded in the audit log and a raised error rolls the
    request back, audit row and all; nothing was changed when it is returned."""

    organisation: Organisation
    on: date

    @property
    def message(self) -> str:
        return f"No current consent to share with {self.organisation.name}"


# --- organisations --------------------------------------------------------------------------------

def list_organisations(db: Session) -> list[Organisation]:
    """Every organisation, active ones first, each group by name."""
    return list(db.scalars(select(Organisation)
                           .order_by(Organisation.is_active.desc(), func.lower(Organisation.name))))


def active_organisations(db: Session) -> list[Organisation]:
    """Organisations that can be chosen for a new referral or consent, by name."""
    return list(db.scalars(select(Organisation).where(Organisation.is_active.is_(True))
                           .order_by(func.lower(Organisation.name))))


def first_responders(db: Session, *, keep_id: int | None = None) -> list[Organisation]:
    """Active NRM first responders, plus the one a referral already names even if since deactivated."""
    condition: ColumnElement[bool] = (
        (Organisation.type == OrganisationType.nrm_first_responder) & Organisation.is_active.is_(True))
    if keep_id is not None:
        condition = or_(condition, Organisation.id == keep_id)
    return list(db.scalars(select(Organisation).where(condition).order_by(func.lower(Organisation.name))))


def get_organisation(db: Session, organisation_id: int) -> Organisation | None:
    return db.get(Organisation, organisation_id)


def name_taken(db: Session, name: str, *, except_id: int | None = None) -> bool:
    """Whether another organisation already has this name, ignoring case and surrounding spaces."""
    query = select(Organisation.id).where(func.lower(Organisation.name) == name.strip().lower())
    if except_id is not None:
        query = query.where(Organisation.id != except_id)
    return db.scalar(query.limit(1)) is not None


@dataclass(frozen=True)
class OrganisationUsage:
    """How many records name an organisation: why organisations are deactivated, never deleted."""

    referrals: int
    consents: int
    nrm_referrals: int

    @property
    def total(self) -> int:
        return self.referrals + self.consents + self.nrm_referrals


def organisation_usage(db: Session, organisation_id: int) -> OrganisationUsage:
    return OrganisationUsage(
        referrals=db.scalar(select(func.count()).where(Referral.organisation_id == organisation_id)) or 0,
        consents=db.scalar(select(func.count()).where(Consent.organisation_id == organisation_id)) or 0,
        nrm_referrals=db.scalar(select(func.count()).where(NrmReferral.first_responder_id == organisation_id)) or 0,
    )


def _organisation_snapshot(organisation: Organisation) -> dict[str, Any]:
    return {"name": organisation.name, "type": organisation.type, "contact": organisation.contact,
            "is_active": organisation.is_active}


def _write_guarding_name(db: Session, organisation: Organisation, values: dict[str, Any], *, new: bool) -> None:
    """Write the values, turning a unique-name clash from a concurrent request into the same rule error."""
    try:
        with db.begin_nested():
            for key, value in values.items():
                setattr(organisation, key, value)
            if new:
                db.add(organisation)
    except IntegrityError:
        raise RuleBroken.on("name", DUPLICATE_NAME) from None


def create_organisation(db: Session, actor_id: int, *, name: str, type: OrganisationType,
                        contact: str | None) -> Organisation:
    name = name.strip()
    if name_taken(db, name):
        raise RuleBroken.on("name", DUPLICATE_NAME)
    organisation = Organisation()
    _write_guarding_name(db, organisation, {"name": name, "type": type, "contact": _clean(contact),
                                            "is_active": True}, new=True)
    revisions.record(db, actor_id=actor_id, table="organisations", row_id=organisation.id, person_id=None,
                     before=None, after=_organisation_snapshot(organisation))
    return organisation


def update_organisation(db: Session, actor_id: int, organisation: Organisation, *, name: str,
                        type: OrganisationType, contact: str | None) -> list[str]:
    """Change an organisation's details (renaming included); returns the names of the fields changed."""
    name = name.strip()
    if name_taken(db, name, except_id=organisation.id):
        raise RuleBroken.on("name", DUPLICATE_NAME)
    before = _organisation_snapshot(organisation)
    wanted: dict[str, Any] = {"name": name, "type": type, "contact": _clean(contact)}
    changed = {key: value for key, value in wanted.items() if getattr(organisation, key) != value}
    if not changed:
        return []
    _write_guarding_name(db, organisation, changed, new=False)
    revisions.record(db, actor_id=actor_id, table="organisations", row_id=organisation.id, person_id=None,
                     before=before, after=_organisation_snapshot(organisation))
    return sorted(changed)


def set_organisation_active(db: Session, actor_id: int, organisation: Organisation, active: bool) -> None:
    """Deactivate (no longer offered for new referrals and consents; existing records keep it) or reactivate."""
    if organisation.is_active is active:
        raise RuleBroken.on(FORM_ERROR, f"{organisation.name} is already {'active' if active else 'deactivated'}.")
    before = _organisation_snapshot(organisation)
    organisation.is_active = active
    db.flush()
    revisions.record(db, actor_id=actor_id, table="organisations", row_id=organisation.id, person_id=None,
                     before=before, after=_organisation_snapshot(organisation))


# --- reading referrals ----------------------------------------------------------------------------

def nrm_state(nrm: NrmReferral | None) -> str:
    """Where an NRM referral has got to, in a few words."""
    if nrm is None:
        return ""

    def decision(stage: str, on: date, outcome: NrmDecision | None) -> str:
        said = NRM_DECISION_LABELS[outcome].lower() if outcome is not None else "outcome not recorded"
        return f"{stage}: {said} ({_day(on)})"

    if nrm.conclusive_grounds_date is not None:
        return decision("Conclusive grounds", nrm.conclusive_grounds_date, nrm.conclusive_grounds_outcome)
    if nrm.reasonable_grounds_date is not None:
        state = decision("Reasonable grounds", nrm.reasonable_grounds_date, nrm.reasonable_grounds_outcome)
        if nrm.reasonable_grounds_outcome is NrmDecision.positive:
            state += "; conclusive-grounds decision awaited"
        return state
    return "Reasonable-grounds decision awaited"


def follow_up_overdue(referral: Referral, today: date) -> bool:
    """A follow-up date has passed and the organisation has not answered yet."""
    return (referral.follow_up_date is not None and referral.follow_up_date < today
            and referral.status in AWAITING_STATUSES)


@dataclass(frozen=True)
class ReferralRow:
    referral: Referral
    organisation: str
    nrm: NrmReferral | None


def referrals_of(db: Session, person_id: int) -> list[ReferralRow]:
    """A person's referrals with organisation and NRM details, newest first, in one statement."""
    rows = db.execute(
        select(Referral, Organisation.name, NrmReferral)
        .join(Organisation, Organisation.id == Referral.organisation_id)
        .outerjoin(NrmReferral, NrmReferral.referral_id == Referral.id)
        .where(Referral.person_id == person_id)
        .order_by(Referral.made_date.desc().nulls_first(), Referral.created_at.desc(), Referral.id.desc())
    ).all()
    return [ReferralRow(*row) for row in rows]


def get_referral(db: Session, person_id: int, referral_id: int) -> Referral | None:
    """The referral with its organisation and NRM details loaded, if it is this person's."""
    referral = db.scalar(select(Referral).options(joinedload(Referral.organisation), joinedload(Referral.nrm))
                         .where(Referral.id == referral_id))
    return referral if referral is not None and referral.person_id == person_id else None


@dataclass(frozen=True)
class HistoryEntry:
    occurred_at: datetime
    actor: str
    text: str


_FIELD_LABELS = {
    "reason": "reason", "follow_up_date": "follow-up date", "outcome": "outcome", "organisation_id": "organisation",
    "made_date": "date made", "response_date": "response date", "first_responder_id": "first responder",
    "reasonable_grounds_date": "reasonable-grounds date", "reasonable_grounds_outcome": "reasonable-grounds decision",
    "conclusive_grounds_date": "conclusive-grounds date", "conclusive_grounds_outcome": "conclusive-grounds decision",
}


def _iso_day(value: str | None) -> str:
    return _day(date.fromisoformat(value)) if value else ""


def _describe(revision: Revision) -> str:
    before, after = revision.before or {}, revision.after or {}
    if revision.table_name == "nrm_referrals":
        if revision.action is RevisionAction.insert:
            return "Recorded as a National Referral Mechanism referral"
        changed = revisions.changed_fields(before, after)
        return "NRM details changed: " + ", ".join(_FIELD_LABELS.get(f, f) for f in changed)
    if revision.action is RevisionAction.insert:
        return "Drafted"
    status = after.get("status")
    changed = [f for f in revisions.changed_fields(before, after) if f not in ("status", "made_date",
                                                                                "response_date")]
    if status != before.get("status"):
        if status is None:  # never: every referral snapshot has a status (_snapshot), and ReferralStatus refuses None
            raise ValueError(f"revision {revision.id} of a referral has no status")
        label = STATUS_LABELS[ReferralStatus(status)]
        if status == ReferralStatus.sent:
            text = f"Sent (made {_iso_day(after.get('made_date'))})"
        else:
            text = f"{label} (response {_iso_day(after.get('response_date'))})"
        changed = [f for f in changed if f != "outcome"]
    else:
        text = "Changed"
    if changed:
        text += "; changed " + ", ".join(_FIELD_LABELS.get(f, f) for f in changed)
    return text


def history(db: Session, referral_id: int) -> list[HistoryEntry]:
    """The referral's status history and other changes, oldest first, from its revisions."""
    rows = db.execute(
        select(Revision, User.display_name).outerjoin(User, User.id == Revision.actor_user_id)
        .where(Revision.table_name.in_(("referrals", "nrm_referrals")), Revision.row_id == referral_id)
        .order_by(Revision.occurred_at, Revision.id)
    ).all()
    return [HistoryEntry(revision.occurred_at, actor or "System", _describe(revision)) for revision, actor in rows]


# --- changing referrals ---------------------------------------------------------------------------

def _snapshot(referral: Referral) -> dict[str, Any]:
    return {"organisation_id": referral.organisation_id, "reason": referral.reason, "status": referral.status,
            "made_date": referral.made_date, "response_date": referral.response_date, "outcome": referral.outcome,
            "follow_up_date": referral.follow_up_date}


def _nrm_snapshot(nrm: NrmReferral) -> dict[str, Any]:
    return {"first_responder_id": nrm.first_responder_id, "reasonable_grounds_date": nrm.reasonable_grounds_date,
            "reasonable_grounds_outcome": nrm.reasonable_grounds_outcome,
            "conclusive_grounds_date": nrm.conclusive_grounds_date,
            "conclusive_grounds_outcome": nrm.conclusive_grounds_outcome}


def create_referral(db: Session, actor_id: int, person: Person, data: ReferralForm, *, today: date) -> Referral:
    """Draft a referral. It is an NRM referral when the user says so or the organisation is a first responder."""
    check_version(person, data.version)
    errors: dict[str, str] = {}
    organisation = db.get(Organisation, data.organisation_id)
    if organisation is None or not organisation.is_active:
        errors["organisation_id"] = "Choose an active organisation from the list."
    if data.follow_up_date is not None and data.follow_up_date < today:
        errors["follow_up_date"] = "The follow-up date is when to chase the referral: choose today or a later date."
    if errors:
        raise RuleBroken(errors)
    assert organisation is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    referral = Referral(person_id=person.id, organisation_id=organisation.id, reason=_clean(data.reason),
                        made_by_id=actor_id, status=ReferralStatus.draft, follow_up_date=data.follow_up_date)
    db.add(referral)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="referrals", row_id=referral.id, person_id=person.id,
                     before=None, after=_snapshot(referral))
    if data.is_nrm or organisation.type is OrganisationType.nrm_first_responder:
        first_responder = organisation.id if organisation.type is OrganisationType.nrm_first_responder else None
        nrm = NrmReferral(referral_id=referral.id, first_responder_id=first_responder)
        db.add(nrm)
        db.flush()
        revisions.record(db, actor_id=actor_id, table="nrm_referrals", row_id=referral.id, person_id=person.id,
                         before=None, after=_nrm_snapshot(nrm))
    return referral


def send_referral(db: Session, actor_id: int, person: Person, referral: Referral, data: SendForm, *,
                  today: date) -> ConsentMissing | None:
    """Record that a drafted referral was made, and return None. If the person's consent to share with the
    organisation did not stand on the day it was made, change nothing and return what is missing instead."""
    check_version(person, data.version)
    if referral.status is not ReferralStatus.draft:
        made = f" on {_day(referral.made_date)}" if referral.made_date else ""
        raise RuleBroken.on(FORM_ERROR, f"This referral has already been sent{made}.")
    errors: dict[str, str] = {}
    if data.made_date > today:
        errors["made_date"] = "The date the referral was made cannot be in the future."
    if data.follow_up_date is not None and data.follow_up_date < data.made_date:
        errors["follow_up_date"] = "The follow-up date must be on or after the date the referral was made."
    if errors:
        raise RuleBroken(errors)
    organisation = referral.organisation
    if not organisation.is_active:
        raise RuleBroken.on(FORM_ERROR, (f"{organisation.name} has been deactivated in the organisations register, "
                                         "so referrals cannot be sent to it."))
    if not consent_service.has_current_consent(db, person.id, ConsentPurpose.share_with_organisation,
                                               organisation_id=organisation.id, on=data.made_date):
        return ConsentMissing(organisation, data.made_date)
    before = _snapshot(referral)
    referral.status = ReferralStatus.sent
    referral.made_date = data.made_date
    referral.follow_up_date = data.follow_up_date
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="referrals", row_id=referral.id, person_id=person.id,
                     before=before, after=_snapshot(referral))
    return None


def record_response(db: Session, actor_id: int, person: Person, referral: Referral, data: StatusForm, *,
                    today: date) -> None:
    """Record the organisation's answer: accepted, declined, completed or no response (from sent), or
    completed (from accepted)."""
    check_version(person, data.version)
    allowed = NEXT_STATUSES.get(referral.status, ())
    if data.status not in allowed:
        if not allowed:
            message = ("Send the referral before recording a response." if referral.status is ReferralStatus.draft
                       else f"This referral is already {STATUS_LABELS[referral.status].lower()}.")
            raise RuleBroken.on(FORM_ERROR, message)
        raise RuleBroken.on("status", "An accepted referral can only be recorded as completed.")
    assert referral.made_date is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    if data.response_date > today:
        raise RuleBroken.on("response_date", "The date of the response cannot be in the future.")
    earliest, what = referral.made_date, "the date the referral was made"
    if referral.status is ReferralStatus.accepted and referral.response_date is not None:
        earliest, what = referral.response_date, "the date it was accepted"
    if data.response_date < earliest:
        raise RuleBroken.on("response_date",
                            f"The date of the response must be on or after {what}, {_day(earliest)}.")
    before = _snapshot(referral)
    referral.status = data.status
    referral.response_date = data.response_date
    referral.outcome = _clean(data.outcome)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="referrals", row_id=referral.id, person_id=person.id,
                     before=before, after=_snapshot(referral))


def update_nrm(db: Session, actor_id: int, person: Person, referral: Referral, data: NrmForm, *,
               today: date) -> list[str]:
    """Change an NRM referral's first responder and decisions; returns the fields changed."""
    check_version(person, data.version)
    nrm = referral.nrm
    if nrm is None:
        raise NotFound
    errors: dict[str, str] = {}
    if data.first_responder_id is not None and data.first_responder_id != nrm.first_responder_id:
        responder = db.get(Organisation, data.first_responder_id)
        if (responder is None or not responder.is_active
                or responder.type is not OrganisationType.nrm_first_responder):
            errors["first_responder_id"] = "Choose an active first responder from the list."
    for name, label in (("reasonable_grounds_date", "reasonable-grounds"),
                        ("conclusive_grounds_date", "conclusive-grounds")):
        value: date | None = getattr(data, name)
        if value is None:
            continue
        if referral.made_date is None:
            errors[name] = "Record NRM decisions once the referral has been sent."
        elif value > today:
            errors[name] = f"The date of the {label} decision cannot be in the future."
        elif value < referral.made_date:
            errors[name] = (f"The date of the {label} decision must be on or after the date the referral was "
                            f"made, {_day(referral.made_date)}.")
    if errors:
        raise RuleBroken(errors)
    before = _nrm_snapshot(nrm)
    for name in before:
        setattr(nrm, name, getattr(data, name))
    after = _nrm_snapshot(nrm)
    changed = revisions.changed_fields(before, after)
    if not changed:
        return []
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="nrm_referrals", row_id=referral.id, person_id=person.id,
                     before=before, after=after)
    return changed
