"""Requests for help: taking one in (from a coordinator or the public form), the triage queue, who may see
which request, and the triage decision, which on acceptance opens or attaches to a person's record."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import Settings, get_settings
from app.contacts import service as contacts
from app.contacts.models import LegalRepresentative
from app.crypto.keyring import index_key
from app.db import check_version, utcnow
from app.detention.models import Facility
from app.errors import FORM_ERROR, RuleBroken
from app.intake.models import (
    DECISION_LABELS,
    FINAL_DECISIONS,
    Channel,
    Decision,
    HelpRequest,
    Need,
    RequesterKind,
    Urgency,
)
from app.intake.schemas import DecisionForm, RequestForm
from app.people import service as people_service
from app.people.models import BirthPrecision, Person, PersonStatus
from app.people.names import reference_digest
from app.people.schemas import PersonForm, nationality_choices
from app.referrals.models import Organisation

_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference(db: Session) -> str:
    """"R" and eight random characters, e.g. R-7KQ2-M9XD: random like a person's reference, never the same."""
    while True:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        reference = f"R-{raw[:4]}-{raw[4:]}"
        if not db.scalar(select(exists().where(HelpRequest.reference == reference))):
            return reference


@dataclass(frozen=True)
class Attachment:
    """A document sent with a request, already checked against the upload rules."""

    name: str
    media_type: str
    content: bytes
    sha256: str


@dataclass(frozen=True)
class NewRequest:
    received_at: datetime
    channel: Channel
    requester_kind: RequesterKind
    urgency: Urgency
    needs: list[Need]
    details: dict[str, str]  # keys from intake.schemas.DETAIL_LABELS
    facility_id: int | None = None
    legal_representative_id: int | None = None
    document: Attachment | None = None


def create(db: Session, recorded_by_id: int | None, new: NewRequest, now: datetime | None = None) -> HelpRequest:
    """Write a request. `recorded_by_id` None: it came through the public form. Sealed fields are sealed at the
    flush, with a key made for this request."""
    now = now or utcnow()
    if new.received_at > now + timedelta(minutes=5):
        raise RuleBroken.on("received_at", "A request cannot have come in later than now.")
    ordered = [n.value for n in Need if n in set(new.needs)]
    request = HelpRequest(reference=new_reference(db), received_at=new.received_at, channel=new.channel,
                          requester_kind=new.requester_kind, urgency=new.urgency, needs=",".join(ordered),
                          facility_id=new.facility_id, legal_representative_id=new.legal_representative_id,
                          recorded_by_id=recorded_by_id, recorded_at=now)
    request.details = new.details
    document = new.document
    if document is not None:
        request.document_name = document.name[:255]
        request.document_type = document.media_type
        request.document_size = len(document.content)
        request.document_sha256 = document.sha256
        request.document_content = document.content
    db.add(request)
    db.flush()
    return request


def waiting_limit(urgency: Urgency, settings: Settings | None = None) -> timedelta:
    """How long a request may wait for a decision before request_untriaged fires."""
    settings = settings or get_settings()
    return {Urgency.immediate: timedelta(hours=settings.alert_request_immediate_hours),
            Urgency.this_week: timedelta(days=settings.alert_request_this_week_days),
            Urgency.routine: timedelta(days=settings.alert_request_routine_days)}[urgency]


# --- the triage queue ---------------------------------------------------------------------------------

URGENCY_ORDER = (Urgency.immediate, Urgency.this_week, Urgency.routine)
QUEUE_LIMIT = 200


def _open() -> ColumnElement[bool]:
    """Requests still waiting for a decision: none yet, or more information asked for. Written as the partial
    index ix_requests_open_received_at is (decided_at is NULL exactly when decision is), so that counting and
    listing them read that index rather than every request."""
    return or_(HelpRequest.decided_at.is_(None), HelpRequest.decision == Decision.more_information)


def _urgency_rank() -> Any:
    return case({u.value: i for i, u in enumerate(URGENCY_ORDER)}, value=HelpRequest.urgency)


def _overdue(now: datetime, settings: Settings) -> ColumnElement[bool]:
    """request_untriaged: waiting longer than its urgency allows (counted from when it came in)."""
    return or_(*[(HelpRequest.urgency == u) & (HelpRequest.received_at < now - waiting_limit(u, settings))
                 for u in Urgency])


@dataclass
class QueueRow:
    request: HelpRequest
    facility: str | None
    overdue: bool
    waiting: timedelta


def queue(db: Session, now: datetime | None = None) -> list[QueueRow]:
    """The requests waiting for a decision, most urgent first and, within an urgency, the oldest first."""
    now = now or utcnow()
    settings = get_settings()
    rows = db.execute(select(HelpRequest, Facility.name).outerjoin(Facility, Facility.id == HelpRequest.facility_id)
                      .where(_open()).order_by(_urgency_rank(), HelpRequest.received_at, HelpRequest.id)
                      .limit(QUEUE_LIMIT)).all()
    return [QueueRow(r, facility, now - r.received_at > waiting_limit(r.urgency, settings), now - r.received_at)
            for r, facility in rows]


def recently_decided(db: Session, limit: int = 20) -> list[tuple[HelpRequest, str | None]]:
    decider = aliased(User)
    return [(r, name) for r, name in db.execute(
        select(HelpRequest, decider.display_name).outerjoin(decider, decider.id == HelpRequest.decided_by_id)
        .where(~_open()).order_by(HelpRequest.decided_at.desc(), HelpRequest.id.desc()).limit(limit))]


@dataclass(frozen=True)
class QueueCounts:
    waiting: int
    overdue: int


def count_columns(now: datetime | None = None) -> tuple[Any, Any]:
    """How many wait, and how many wait too long, as scalar subqueries: the home page reads them in the one
    statement that counts everything it shows."""
    now = now or utcnow()
    waiting = select(func.count()).select_from(HelpRequest).where(_open()).scalar_subquery()
    overdue = (select(func.count()).select_from(HelpRequest).where(_open(), _overdue(now, get_settings()))
               .scalar_subquery())
    return waiting, overdue


def counts(db: Session, now: datetime | None = None) -> QueueCounts:
    waiting, overdue = db.execute(select(*count_columns(now))).one()
    return QueueCounts(waiting or 0, overdue or 0)


# --- one request --------------------------------------------------------------------------------------

class NotAllowed(Exception):
    """A clinician asking for a request that is not attached to one of their people."""


def find_visible(db: Session, user: User, reference: str) -> HelpRequest | None:
    """The request with this reference, for a user who may see it: coordinators and admins every one, a
    clinician only one attached to a person they may see (their own, or one opened under break-glass)."""
    request = db.scalar(select(HelpRequest).where(HelpRequest.reference == reference))
    if request is None:
        return None
    if has_permission(user.role, Permission.triage_requests):
        return request
    if request.person_id is None:
        raise NotAllowed
    person = db.get(Person, request.person_id)
    try:
        if person is None or people_service.find_visible(db, user, person.reference)[0] is None:
            raise NotAllowed
    except people_service.NotAllowed:
        raise NotAllowed from None
    return request


@dataclass(frozen=True)
class Linked:
    """What a request points at, for its page: read in one statement whichever of them it has."""

    person: Person | None
    facility: str | None
    representative: LegalRepresentative | None
    signposted_to: str | None


def linked(db: Session, request: HelpRequest) -> Linked:
    row = db.execute(
        select(Person, Facility.name, LegalRepresentative, Organisation.name).select_from(HelpRequest)
        .outerjoin(Person, Person.id == HelpRequest.person_id)
        .outerjoin(Facility, Facility.id == HelpRequest.facility_id)
        .outerjoin(LegalRepresentative, LegalRepresentative.id == HelpRequest.legal_representative_id)
        .outerjoin(Organisation, Organisation.id == HelpRequest.signposted_to_id)
        .where(HelpRequest.id == request.id)).one()
    return Linked(*row)


def of_person(db: Session, person_id: int) -> list[HelpRequest]:
    return list(db.scalars(select(HelpRequest).where(HelpRequest.person_id == person_id)
                           .order_by(HelpRequest.received_at.desc(), HelpRequest.id.desc())))


def birth_year(text: str | None) -> int | None:
    """The year in a date or year of birth as given ("1990", "12/03/1990", "approx. 1988")."""
    found = re.search(r"\b(19\d\d|20\d\d)\b", text or "")
    return int(found.group(1)) if found else None


def nationality_code(text: str | None) -> str | None:
    """An ISO code for a nationality as given, when it names a country plainly ("Eritrea", "ER")."""
    wanted = (text or "").strip().lower()
    if not wanted:
        return None
    for code, name in nationality_choices():
        if wanted in (code.lower(), name.lower()):
            return code
    return None


def possible_matches(db: Session, request: HelpRequest) -> list[people_service.DuplicateCandidate]:
    """Existing records that may be this person: the same Home Office reference, or names that match with the
    same birth year or nationality (the duplicate check of a new record)."""
    details = request.details or {}
    found: list[people_service.DuplicateCandidate] = []
    digest = reference_digest(index_key(db), details.get("home_office_reference"))
    if digest is not None:
        found += people_service.by_home_office_digest(db, digest)
    if details.get("given_names") or details.get("family_name"):
        found += people_service.find_duplicates(
            db, given_names=details.get("given_names", ""), family_name=details.get("family_name", ""), aliases=[],
            birth_year=birth_year(details.get("birth")), nationality=nationality_code(details.get("nationality")))
    unique: dict[str, people_service.DuplicateCandidate] = {}
    for candidate in found:
        unique.setdefault(candidate.reference, candidate)
    return list(unique.values())


# --- the triage decision ------------------------------------------------------------------------------

def _person_form(request: HelpRequest) -> PersonForm:
    details = request.details or {}
    given, family = details.get("given_names"), details.get("family_name")
    if not (given and family):
        raise RuleBroken.on("person_reference", (
            "This request gives only one name, and a new record needs a given name and a family name. Attach it "
            "to an existing record, or add the person from 'Add a person' and attach it to them."))
    year = birth_year(details.get("birth"))
    return PersonForm(
        given_names=given[:200], family_name=family[:200],
        home_office_reference=(details.get("home_office_reference") or None),
        phone_in_detention=(details.get("phone_in_detention") or None),
        nationality=nationality_code(details.get("nationality")),
        status=PersonStatus.detained if request.facility_id or details.get("where_held") else PersonStatus.unknown,
        birth_precision=BirthPrecision.approximate if year else BirthPrecision.unknown, birth_year=year,
        legal_representative_id=request.legal_representative_id, confirm_new=True)


@dataclass(frozen=True)
class Decided:
    request: HelpRequest
    person: Person | None
    opened_new: bool


def decide(db: Session, actor: User, request: HelpRequest, data: DecisionForm, today: date,
           now: datetime | None = None) -> Decided:
    """Record a coordinator's decision. Accepting attaches the request to the record named, or opens a new one
    from the details as given once the duplicate check has been answered."""
    check_version(request, data.version)
    if request.decision in FINAL_DECISIONS:
        raise RuleBroken.on(FORM_ERROR, f"This request was already decided: "
                                        f"{DECISION_LABELS[request.decision].lower()}.")
    if data.decision is None:
        raise RuleBroken.on("decision", "Choose a decision.")
    note = (data.note or "").strip() or None
    person: Person | None = None
    opened_new = False
    if data.decision is Decision.accepted:
        if data.person_reference:
            reference = people_service.normalise_reference(data.person_reference)
            person = db.scalar(select(Person).where(Person.reference == reference))
            if person is None:
                raise RuleBroken.on("person_reference", "No record has that reference. Check it, or open a new "
                                                        "record.")
        else:
            form = _person_form(request)
            if not data.confirm_new and possible_matches(db, request):
                raise RuleBroken.on("person_reference", (
                    "Records like this person's already exist. Choose the one this request is about, or confirm "
                    "that it is someone new."))
            person = people_service.create_person(db, actor, form, today)
            opened_new = True
    elif data.decision is Decision.declined and note is None:
        raise RuleBroken.on("note", "Say why the request is declined.")
    elif data.decision is Decision.signposted:
        organisation = db.get(Organisation, data.signposted_to_id) if data.signposted_to_id else None
        if organisation is None or not organisation.is_active:
            raise RuleBroken.on("signposted_to_id", "Choose the organisation the request was signposted to.")
    elif data.decision is Decision.more_information and note is None:
        raise RuleBroken.on("note", "Say what more information is needed, and from whom.")
    request.decision = data.decision
    request.decision_note = note
    request.signposted_to_id = data.signposted_to_id if data.decision is Decision.signposted else None
    request.decided_by_id = actor.id
    request.decided_at = max(now or utcnow(), request.received_at)
    if person is not None:
        request.person_id = person.id
        if request.legal_representative_id and contacts.current_id(db, person.id) is None:
            contacts.set_current(db, actor.id, person.id, request.legal_representative_id)
        people_service.touch(person)
    db.flush()
    return Decided(request, person, opened_new)


def record(db: Session, actor: User, data: RequestForm) -> HelpRequest:
    """A request a coordinator takes down."""
    if data.facility_id is not None and db.get(Facility, data.facility_id) is None:
        raise RuleBroken.on("facility_id", "Choose a place from the list, or type it under 'somewhere else'.")
    contacts.check_choice(db, data.legal_representative_id)
    return create(db, actor.id, NewRequest(
        received_at=data.received_at, channel=data.channel, requester_kind=data.requester_kind,
        urgency=data.urgency, needs=data.needs, details=data.details(), facility_id=data.facility_id,
        legal_representative_id=data.legal_representative_id))
