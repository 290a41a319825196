"""People: references, need-to-know access, search and listing, create/edit with revisions, duplicates,
clinician assignments."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    cast,
    exists,
    func,
    intersect,
    literal,
    literal_column,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from app.alerts.models import PersonAlertState
from app.audit import revisions
from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.contacts import service as contacts
from app.crypto.fields import open_value
from app.crypto.keyring import index_key, session_keyring
from app.crypto.models import PersonKey
from app.db import check_version, utcnow
from app.detention.models import BailOutcome, DetentionEpisode, Facility, Placement
from app.errors import RuleBroken
from app.people import names
from app.people.models import (
    AliasKind,
    Assignment,
    EmergencyAccess,
    Identity,
    IdentityAlias,
    Person,
    PersonAarIndicator,
    PersonLanguage,
    PersonNameToken,
    PersonStatus,
)
from app.people.schemas import PersonForm
from app.visits.models import Visit

# No 0/O or 1/I/L: references are read aloud on the phone and copied from paper.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_RE = re.compile(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$")
PAGE_SIZE = 50


class NotAllowed(Exception):
    """The user may not see this person (a clinician not assigned to them, with no live emergency access)."""

    def __init__(self, person: Person) -> None:
        super().__init__("not allowed")
        self.person = person


def touch(person: Person) -> None:
    """Move the person's version on. Records without a version of their own (episodes, evidence, consents,
    referrals ...) call this on every change, so that any form loaded before it is refused."""
    person.updated_at = utcnow()



def new_reference(db: Session) -> str:
    while True:
        raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        reference = f"{raw[:4]}-{raw[4:]}"
        # An erased person's reference stays in the audit log: never give it to someone else.
        taken = or_(exists().where(Person.reference == reference),
                    exists().where(AuditEvent.action == "person.erased", AuditEvent.object_id == reference))
        if not db.scalar(select(taken)):
            return reference


def _next_person_id(db: Session) -> int | None:
    """The id for a new person, or None to let the database choose.

    Ids are never reused: published summaries keep the ids of the people they counted (the differencing
    guard compares them), and an erased person's id must not come to stand for someone else. PostgreSQL's
    sequence never goes back; SQLite hands out one more than the largest id present, so after the newest
    person is erased it would repeat theirs. There, count erased ids too (serial: BEGIN IMMEDIATE)."""
    if db.get_bind().dialect.name != "sqlite":
        return None
    largest = db.scalar(select(func.max(Person.id))) or 0
    erased = db.scalar(select(func.max(AuditEvent.person_id)).where(AuditEvent.action == "person.erased")) or 0
    return max(largest, erased) + 1


def normalise_reference(text: str) -> str | None:
    compact = text.strip().upper().replace(" ", "")
    if not REFERENCE_RE.match(compact):
        return None
    compact = compact.replace("-", "")
    return f"{compact[:4]}-{compact[4:]}"


# --- access --------------------------------------------------------------------------------------

def open_assignment(person_id: Any, clinician_id: int) -> ColumnElement[bool]:
    return exists().where(Assignment.person_id == person_id, Assignment.clinician_id == clinician_id,
                          Assignment.ended_at.is_(None))


def assigned_to(clinician_id: int) -> ColumnElement[bool]:
    """Condition on Person: the clinician has an open assignment to them. As a list looked up first (from the
    clinician's index) rather than a check per person, so that a caseload page reads the clinician's people
    only, not the whole caseload."""
    return Person.id.in_(select(Assignment.person_id).where(Assignment.clinician_id == clinician_id,
                                                            Assignment.ended_at.is_(None)))


def visible_to(user: User) -> ColumnElement[bool] | None:
    """Extra condition on Person for what this user may see (None: everything)."""
    if user.role is Role.clinician:
        return assigned_to(user.id)
    return None


def live_emergency_access(db: Session, clinician_id: int, person_id: int,
                          now: datetime | None = None) -> EmergencyAccess | None:
    """The clinician's emergency access to this person that has not yet expired, if any."""
    return db.scalar(
        select(EmergencyAccess)
        .where(EmergencyAccess.clinician_id == clinician_id, EmergencyAccess.person_id == person_id,
               EmergencyAccess.expires_at > (now or utcnow()))
        .order_by(EmergencyAccess.expires_at.desc()).limit(1))


def find_visible(db: Session, user: User, reference: str) -> tuple[Person | None, EmergencyAccess | None]:
    """The person with this reference (None if there is none) and, when a clinician sees them only through
    break-glass, the live emergency access that lets them; NotAllowed if this user may not see them.
    Emergency access opens a record, never a caseload: lists go by `visible_to`, which ignores it."""
    person = db.scalar(select(Person).where(Person.reference == reference))
    if person is None:
        return None, None
    if user.role is not Role.clinician or db.scalar(select(open_assignment(person.id, user.id))):
        return person, None
    access = live_emergency_access(db, user.id, person.id)
    if access is None:
        raise NotAllowed(person)
    return person, access


def is_assigned(db: Session, clinician_id: int, person_id: int) -> bool:
    return bool(db.scalar(select(open_assignment(person_id, clinician_id))))


# --- listing and search --------------------------------------------------------------------------

@dataclass
class PeopleQuery:
    q: str = ""
    status: PersonStatus | None = None
    facility_id: int | None = None
    clinician_id: int | None = None  # 0 = nobody assigned
    alert: str | None = None
    include_closed: bool = False
    sort: str = "days"  # "days" (longest current detention first) or "recent"
    page: int = 1

    def filters_used(self) -> list[str]:
        used = [name for name in ("status", "facility_id", "clinician_id", "alert") if getattr(self, name) is not None]
        return used + (["q"] if self.q else [])


@dataclass
class PersonRow:
    id: int
    reference: str
    given_names: str
    family_name: str
    status: PersonStatus
    nationality: str | None
    episode_start: date | None
    episode_end: date | None
    bail_date: date | None
    bail_outcome: BailOutcome | None
    facility: str | None
    # The kept alert flags and until when they hold (app/alerts/state.py), None for a case not yet computed.
    alert_flags: int | None = None
    alert_flags_until: datetime | None = None
    # With `with_last_visit`: the latest visit's date and the follow-up date it set (as the overdue follow-up
    # alert reads them).
    last_visit: date | None = None
    next_follow_up: date | None = None
    alerts: list[Any] = field(default_factory=list)

    @property
    def kept_flags(self) -> tuple[int, int | None, datetime | None]:
        return self.id, self.alert_flags, self.alert_flags_until

    def days(self, today: date) -> int | None:
        if self.episode_start is None:
            return None
        return (today - self.episode_start).days + 1


@dataclass
class Page:
    rows: list[PersonRow]
    total: int
    page: int
    pages: int


def _search_condition(db: Session, text: str) -> ColumnElement[bool] | None:
    """Reference, Home Office reference, or every typed name part as the start of some name part. Names and
    Home Office references are looked up by their keyed hashes (app/people/names.py).

    The matches are found first, each from its own index, and the page then keeps the people among them: an
    OR of per-person checks would test every person in the caseload instead."""
    text = text.strip()
    if not text:
        return None
    key = index_key(db)
    # Aliases, so that nothing here is correlated with the tables the page query joins.
    identity, person = aliased(Identity), aliased(Person)
    matches: list[Select[int]] = [
        select(identity.person_id).where(identity.home_office_reference_digest == names.reference_digest(key, text))
    ]
    reference = normalise_reference(text)
    if reference:
        matches.append(select(person.id).where(person.reference == reference))
    # Text with digits in it is a reference of some kind, not a name.
    parts = [] if any(c.isdigit() for c in text) else names.tokens(text)
    if parts:
        per_part = [select(PersonNameToken.person_id).where(PersonNameToken.digest == names.prefix_digest(key, part))
                    for part in parts]
        if len(per_part) > 1:
            # A subquery, since SQLite cannot nest one compound select directly in another.
            every_part = intersect(*per_part).subquery()
            per_part = [select(every_part.c.person_id)]
        matches.append(per_part[0])
    return Person.id.in_(union(*matches))


def _latest_visit(column: Any) -> Any:
    """The column of this person's latest visit (by date, then the last recorded), as a scalar subquery read
    from the (person_id, visit_date) index."""
    return (select(column).where(Visit.person_id == Person.id)
            .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(1).scalar_subquery())


def list_conditions(db: Session, user: User, query: PeopleQuery, current: Any,
                    alert_condition: Callable[[Any], ColumnElement[bool]] | None = None) -> list[ColumnElement[bool]]:
    """The conditions on Person that the list's filters and the user's need-to-know make, with `current` the
    open episode's alias the statement joins (the facility and alert filters read it). The list and the caseload
    export (app/people/export.py) both use them, so a download holds exactly the people the list shows."""
    where: list[ColumnElement[bool]] = []
    visibility = visible_to(user)
    if visibility is not None:
        where.append(visibility)
    if not query.include_closed:
        where.append(Person.closed_date.is_(None))
    if query.status is not None:
        where.append(Person.status == query.status)
    if query.clinician_id == 0:
        where.append(~exists().where(Assignment.person_id == Person.id, Assignment.ended_at.is_(None)))
    elif query.clinician_id is not None:
        where.append(assigned_to(query.clinician_id))
    if query.facility_id is not None:
        where.append(exists().where(Placement.episode_id == current.id, Placement.date_out.is_(None),
                                    Placement.facility_id == query.facility_id))
    if alert_condition is not None:
        where.append(alert_condition(current))
    search = _search_condition(db, query.q)
    if search is not None:
        where.append(search)
    return where


def list_people(db: Session, user: User, query: PeopleQuery, *,
                alert_condition: Callable[[Any], ColumnElement[bool]] | None = None,
                with_last_visit: bool = False) -> Page:
    """One page of people with their current episode and facility, in two statements whatever the size;
    `with_last_visit` adds each one's latest visit and its follow-up date to the same statement."""
    current = aliased(DetentionEpisode)
    placement = aliased(Placement)
    base = (
        select(Person.id)
        .select_from(Person)
        .outerjoin(current, and_(current.person_id == Person.id, current.end_date.is_(None)))
    )
    where = list_conditions(db, user, query, current, alert_condition)

    # Only the filters on the current episode need it joined to count; counting people alone reads one index.
    counted = base if query.facility_id is not None or alert_condition is not None else select(Person.id)
    total = db.scalar(select(func.count()).select_from(counted.where(*where).subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    offset = (page - 1) * PAGE_SIZE

    if query.sort == "days":
        # Longest current detention first, then everyone not detained. Sorting the whole caseload on the outer
        # join's nullable start date reads every open case; each half below reads its own index in order instead
        # (open episodes by start date, people by id) and stops at the rows this page needs.
        # The untyped literal column (grp) is Any here: SQLAlchemy leaves its type unsolved.
        detained: Select[int, Any, date] = (
            select(Person.id.label("id"), literal_column("0").label("grp"), current.start_date.label("since"))
            .select_from(Person).join(current, and_(current.person_id == Person.id, current.end_date.is_(None)))
            .where(*where)
        )
        # NOT EXISTS rather than the outer join's NULL (the join stays for filters on the current episode):
        # PostgreSQL then plans it as the anti-join it is and walks people in id order, instead of joining
        # everyone to sort them.
        others = (
            base.add_columns(literal_column("1").label("grp"), cast(null(), Date).label("since"))
            .where(~exists().where(DetentionEpisode.person_id == Person.id, DetentionEpisode.end_date.is_(None)),
                   *where)
        )
        if offset == 0:
            detained_slice, others_slice = (0, PAGE_SIZE), (0, PAGE_SIZE)
        else:
            # Further in, knowing how many are detained says which half (or where the two meet) holds this
            # page, so neither half sorts the rows before it.
            held = db.scalar(select(func.count()).select_from(detained.subquery())) or 0
            taken = max(0, min(PAGE_SIZE, held - offset))
            detained_slice, others_slice = (min(offset, held), taken), (max(0, offset - held), PAGE_SIZE - taken)
        both = union_all(
            select(detained.order_by(current.start_date, current.person_id)
                   .offset(detained_slice[0]).limit(detained_slice[1]).subquery()),
            select(others.order_by(Person.id).offset(others_slice[0]).limit(others_slice[1]).subquery()),
        ).subquery()
        ids = select(both).order_by(both.c.grp, both.c.since, both.c.id).limit(PAGE_SIZE).subquery()
        order: list[ColumnElement[Any]] = [ids.c.grp, ids.c.since, ids.c.id]
    else:
        recent = base.add_columns(Person.created_at.label("created")).where(*where).subquery()
        ids = (select(recent).order_by(recent.c.created.desc(), recent.c.id.desc())
               .limit(PAGE_SIZE).offset(offset).subquery())
        order = [ids.c.created.desc(), ids.c.id.desc()]
    # The names are sealed: each row brings its person's wrapped key along, so the page opens them without a
    # key query of its own.
    visits = [(_latest_visit(Visit.visit_date) if with_last_visit else cast(null(), Date)).label("last_visit"),
              (_latest_visit(Visit.follow_up_date) if with_last_visit else cast(null(), Date)).label("follow_up")]
    rows = db.execute(
        select(Person.id, Person.reference, Identity.given_names_sealed, Identity.family_name_sealed, Person.status,
               Person.nationality, current.start_date, current.end_date, current.last_bail_application_date,
               current.last_bail_outcome, Facility.name, PersonAlertState.flags, PersonAlertState.valid_until,
               *visits, PersonKey.wrapped_key, PersonKey.master_key_id)
        .select_from(ids)
        .join(Person, Person.id == ids.c.id)
        .join(Identity, Identity.person_id == Person.id)
        .outerjoin(PersonKey, PersonKey.person_id == Person.id)
        .outerjoin(PersonAlertState, PersonAlertState.person_id == Person.id)
        .outerjoin(current, and_(current.person_id == Person.id, current.end_date.is_(None)))
        .outerjoin(placement, and_(placement.episode_id == current.id, placement.date_out.is_(None)))
        .outerjoin(Facility, Facility.id == placement.facility_id)
        .order_by(*order)
    ).all()
    return Page([PersonRow(*open_names(db, row[:-2], row.wrapped_key, row.master_key_id)) for row in rows],
                total, page, pages)


def open_names(db: Session, row: Any, wrapped: bytes | None, key_id: str | None,
               given_at: int = 2) -> list[Any]:
    """A result row with its sealed given and family names (at given_at, given_at + 1) opened."""
    ring = session_keyring(db)
    ring.remember_wrapped(row[0], wrapped, key_id)
    key = ring.key(row[0])
    values = list(row)
    values[given_at] = open_value(key, "text", values[given_at], "identities.given_names")
    values[given_at + 1] = open_value(key, "text", values[given_at + 1], "identities.family_name")
    return values


# --- duplicates ----------------------------------------------------------------------------------

@dataclass
class DuplicateCandidate:
    reference: str
    given_names: str
    family_name: str
    birth_year: int | None
    nationality: str | None
    matched_parts: int


def find_duplicates(db: Session, *, given_names: str, family_name: str, aliases: list[str],
                    birth_year: int | None, nationality: str | None, exclude_id: int | None = None,
                    limit: int = 10) -> list[DuplicateCandidate]:
    """People who share names (exactly or by sound) with these, and also the birth year or nationality."""
    parts = names.tokens(" ".join([given_names, family_name, *aliases]))
    if not parts or (birth_year is None and not nationality):
        return []
    key = index_key(db)
    # A name part matches by its whole hash or its sound's; each of the person's parts counts once.
    digests = sorted({names.whole_digest(key, p) for p in parts} | {names.sound_digest(key, p) for p in parts})
    needed = 1 if len(parts) == 1 else 2
    matched = func.count(PersonNameToken.token_no.distinct())
    matches = (
        select(PersonNameToken.person_id, matched.label("matched"))
        .where(PersonNameToken.digest.in_(digests))
        .group_by(PersonNameToken.person_id)
        .having(matched >= needed)
        .subquery()
    )
    year = func.coalesce(Person.birth_year, func.extract("year", Person.birth_date))
    same_detail = []
    if birth_year is not None:
        same_detail.append(year == birth_year)
    if nationality:
        same_detail.append(Person.nationality == nationality)
    statement = (
        select(Person.id, Person.reference, Identity.given_names_sealed, Identity.family_name_sealed,
               Person.birth_year, Person.nationality, matches.c.matched, PersonKey.wrapped_key,
               PersonKey.master_key_id)
        .join(matches, matches.c.person_id == Person.id)
        .join(Identity, Identity.person_id == Person.id)
        .outerjoin(PersonKey, PersonKey.person_id == Person.id)
        .where(or_(*same_detail))
        .order_by(matches.c.matched.desc(), Person.reference)
        .limit(limit)
    )
    if exclude_id is not None:
        statement = statement.where(Person.id != exclude_id)
    return [DuplicateCandidate(*open_names(db, row[:-2], row[-2], row[-1])[1:]) for row in db.execute(statement)]


def by_home_office_digest(db: Session, digest: bytes, limit: int = 5) -> list[DuplicateCandidate]:
    """People whose Home Office reference has this lookup digest (see names.reference_digest)."""
    statement = (
        select(Person.id, Person.reference, Identity.given_names_sealed, Identity.family_name_sealed,
               Person.birth_year, Person.nationality, literal(0), PersonKey.wrapped_key, PersonKey.master_key_id)
        .join(Identity, Identity.person_id == Person.id)
        .outerjoin(PersonKey, PersonKey.person_id == Person.id)
        .where(Identity.home_office_reference_digest == digest).order_by(Person.reference).limit(limit))
    return [DuplicateCandidate(*open_names(db, row[:-2], row[-2], row[-1])[1:]) for row in db.execute(statement)]


# --- create and edit -----------------------------------------------------------------------------

IDENTITY_FIELDS = ("given_names", "family_name", "home_office_reference", "port_reference", "cid_number",
                   "other_numbers", "phone_in_detention")
CASE_FIELDS = ("status", "sex", "gender_identity", "nationality", "stateless", "interpreter_needed",
               "birth_precision", "birth_date", "birth_year", "aar_level", "aar_level_date", "aar_level_source")


def load_details(db: Session, person: Person) -> dict[str, Any]:
    """Everything the edit form and the revision history show about a person, in four fixed queries."""
    identity = db.get(Identity, person.id)
    aliases = [alias.name for alias in db.scalars(select(IdentityAlias).where(IdentityAlias.person_id == person.id)
                                                   .order_by(IdentityAlias.id))]
    languages = list(db.execute(select(PersonLanguage.language, PersonLanguage.is_main)
                                .where(PersonLanguage.person_id == person.id)))
    indicators = sorted(i.value for i in db.scalars(
        select(PersonAarIndicator.indicator).where(PersonAarIndicator.person_id == person.id)))
    snapshot: dict[str, Any] = {name: getattr(person, name) for name in CASE_FIELDS}
    if identity is not None:
        snapshot.update({name: getattr(identity, name) for name in IDENTITY_FIELDS})
    snapshot["aliases"] = aliases
    ordered = sorted(languages, key=lambda pair: (not pair[1], pair[0].lower()))
    snapshot["languages"] = [language for language, _ in ordered]
    snapshot["aar_indicators"] = indicators
    snapshot["legal_representative_id"] = contacts.current_id(db, person.id)
    return snapshot


def snapshot_from_form(data: PersonForm) -> dict[str, Any]:
    snapshot: dict[str, Any] = {name: getattr(data, name) for name in CASE_FIELDS + IDENTITY_FIELDS}
    snapshot["aliases"] = data.alias_list
    snapshot["languages"] = data.language_list
    snapshot["aar_indicators"] = sorted(i.value for i in data.aar_indicators)
    snapshot["legal_representative_id"] = data.legal_representative_id
    return snapshot


def _write_children(db: Session, person_id: int, data: PersonForm) -> None:
    for model in (IdentityAlias, PersonLanguage, PersonAarIndicator, PersonNameToken):
        for row in db.scalars(select(model).where(model.person_id == person_id)):
            db.delete(row)
    db.flush()
    for alias in data.alias_list:
        db.add(IdentityAlias(person_id=person_id, name=alias, kind=AliasKind.alias))
    for index, language in enumerate(data.language_list):
        db.add(PersonLanguage(person_id=person_id, language=language, is_main=index == 0))
    for indicator in sorted(set(data.aar_indicators)):
        db.add(PersonAarIndicator(person_id=person_id, indicator=indicator))
    for token in names.token_rows(index_key(db), person_id, data.given_names, data.family_name, data.alias_list):
        db.add(PersonNameToken(**token))
    db.flush()


def _apply(db: Session, person: Person, identity: Identity, data: PersonForm) -> None:
    for name in CASE_FIELDS:
        setattr(person, name, getattr(data, name))
    for name in IDENTITY_FIELDS:
        setattr(identity, name, getattr(data, name))
    identity.home_office_reference_digest = names.reference_digest(index_key(db), data.home_office_reference)


def create_person(db: Session, actor: User, data: PersonForm, today: date) -> Person:
    contacts.check_choice(db, data.legal_representative_id)
    person = Person(id=_next_person_id(db), reference=new_reference(db), opened_date=today, lead_coordinator_id=(
        actor.id if actor.role is Role.coordinator else None))
    identity = Identity(given_names="", family_name="")
    _apply(db, person, identity, data)
    db.add(person)
    db.flush()
    identity.person_id = person.id
    db.add(identity)
    db.flush()
    _write_children(db, person.id, data)
    contacts.set_current(db, actor.id, person.id, data.legal_representative_id)
    revisions.record(db, actor_id=actor.id, table="people", row_id=person.id, person_id=person.id,
                     before=None, after=snapshot_from_form(data))
    return person


def update_person(db: Session, actor: User, person: Person, data: PersonForm) -> list[str]:
    """Apply an edit made on version `data.version`; StaleForm if the record moved on since."""
    check_version(person, data.version)
    before = load_details(db, person)
    after = snapshot_from_form(data)
    changed = revisions.changed_fields(before, after)
    if not changed:
        return []
    contacts.check_choice(db, data.legal_representative_id, keep_id=before["legal_representative_id"])
    identity = db.get(Identity, person.id)
    assert identity is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    _apply(db, person, identity, data)
    touch(person)  # even when only identity details changed
    db.flush()
    if {"aliases", "languages", "aar_indicators", "given_names", "family_name"} & set(changed):
        _write_children(db, person.id, data)
    if "legal_representative_id" in changed:
        contacts.set_current(db, actor.id, person.id, data.legal_representative_id)
    revisions.record(db, actor_id=actor.id, table="people", row_id=person.id, person_id=person.id,
                     before=before, after=after)
    return changed


# --- assignments ---------------------------------------------------------------------------------

def clinicians(db: Session) -> list[User]:
    return list(db.scalars(select(User).where(User.role == Role.clinician, User.is_active.is_(True))
                           .order_by(User.display_name)))


def current_assignments(db: Session, person_id: int) -> list[tuple[Assignment, User]]:
    return list(db.execute(
        select(Assignment, User).join(User, User.id == Assignment.clinician_id)
        .where(Assignment.person_id == person_id, Assignment.ended_at.is_(None))
        .order_by(User.display_name)
    ).all())


def assign(db: Session, actor: User, person: Person, clinician_id: int) -> Assignment:
    clinician = db.get(User, clinician_id)
    if clinician is None or clinician.role is not Role.clinician or not clinician.is_active:
        raise RuleBroken.on("clinician_id", "Choose an active clinician from the list.")
    if db.scalar(select(open_assignment(person.id, clinician_id))):
        raise RuleBroken.on("clinician_id", f"{clinician.display_name} is already assigned.")
    assignment = Assignment(person_id=person.id, clinician_id=clinician_id, assigned_by_id=actor.id)
    db.add(assignment)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="assignments", row_id=assignment.id, person_id=person.id,
                     before=None, after={"clinician_id": clinician_id})
    return assignment


def unassign(db: Session, actor: User, person: Person, assignment: Assignment) -> Assignment:
    if assignment.ended_at is not None:
        raise RuleBroken.on("assignment", "That assignment has already ended.")
    assignment.ended_at = utcnow()
    db.flush()
    revisions.record(db, actor_id=actor.id, table="assignments", row_id=assignment.id, person_id=person.id,
                     before={"clinician_id": assignment.clinician_id, "ended": False},
                     after={"clinician_id": assignment.clinician_id, "ended": True})
    return assignment
