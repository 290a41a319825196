"""Letters: the values a template is filled with, drafting a letter from a template, changing the draft, issuing
it with its content seal, and the person page's list.

The seal (version 1) is the SHA-256 of UTF-8 JSON with sorted keys and no spaces, of: the letter's id, person,
template key and title, body, who issued it and when (UTC, ISO 8601 to the microsecond). Like the visit seal
(app/visits/seal.py) it shows that the stored letter changed after issue; it is not a signature.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.auth.models import Role, User
from app.contacts import service as contacts
from app.db import check_version
from app.detention.clock import days_between_inclusive
from app.detention.models import DetentionEpisode, Facility, Placement
from app.errors import RuleBroken, StaleForm
from app.evidence.models import RULE35_LIMB_LABELS, Rule35Record
from app.medicolegal import letter_templates
from app.medicolegal.letter_models import Letter, LetterState
from app.medicolegal.letter_schemas import LetterBodyForm
from app.people.models import BirthPrecision, Identity, Person
from app.visits.models import Visit, VisitStatus
from app.visits.seal import SealCheck, SealState, canonical_json, compare

NOT_RECORDED = "not recorded"
SEAL_FORM = "letter-seal-v1"
SECTION_LIMIT = 50
ISSUED = "This letter has been issued, and an issued letter never changes. Nothing was changed."
ROLE_NAMES = {Role.admin: "Administrator", Role.coordinator: "Coordinator", Role.clinician: "Clinician",
              Role.researcher: "Researcher"}


def letter_date(day: date | None) -> str:
    """A date as a letter writes it: 3 March 2026."""
    return NOT_RECORDED if day is None else f"{day.day} {day:%B %Y}"


def _birth(person: Person) -> str:
    if person.birth_precision is BirthPrecision.exact and person.birth_date is not None:
        return letter_date(person.birth_date)
    year = person.birth_year or (person.birth_date.year if person.birth_date else None)
    if year is None or person.birth_precision is BirthPrecision.unknown:
        return NOT_RECORDED
    return birth_year_text(year, person.birth_precision)


def birth_year_text(year: int, precision: BirthPrecision | str) -> str:
    """A year of birth as a letter gives it, saying how well it is known."""
    qualifier = {BirthPrecision.approximate: "approximate year", BirthPrecision.disputed: "age disputed"}
    return f"{year} ({qualifier.get(BirthPrecision(precision), 'year only')})"


def record_values(db: Session, person: Person, signer: User, today: date) -> dict[str, str]:
    """Every field of letter_templates.FIELDS from the record, as plain text, in a fixed number of queries."""
    identity = db.get(Identity, person.id)
    given = identity.given_names if identity is not None else ""
    family = identity.family_name if identity is not None else ""
    episode = db.scalar(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id,
                                                       DetentionEpisode.end_date.is_(None))
                        .order_by(DetentionEpisode.start_date.desc()).limit(1))
    centre = None
    if episode is not None:
        centre = db.scalar(select(Facility.name).join(Placement, Placement.facility_id == Facility.id)
                           .where(Placement.episode_id == episode.id, Placement.date_out.is_(None))
                           .order_by(Placement.date_in.desc()).limit(1))
    visit = db.execute(select(Visit.visit_date, User.display_name).join(User, User.id == Visit.clinician_id)
                       .where(Visit.person_id == person.id, Visit.status == VisitStatus.signed)
                       .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(1)).first()
    rule35 = db.scalar(select(Rule35Record).where(Rule35Record.person_id == person.id)
                       .order_by(Rule35Record.written_date.desc(), Rule35Record.id.desc()).limit(1))
    representative = contacts.current(db, person.id)
    values = {
        "person_name": " ".join(part for part in (given, family) if part) or NOT_RECORDED,
        "given_names": given or NOT_RECORDED,
        "family_name": family or NOT_RECORDED,
        "case_reference": person.reference,
        "date_of_birth": _birth(person),
        "home_office_reference": (identity.home_office_reference if identity is not None else None) or NOT_RECORDED,
        "centre": centre or NOT_RECORDED,
        "detention_start_date": letter_date(episode.start_date if episode else None),
        "days_detained": str(days_between_inclusive(episode.start_date, today)) if episode else NOT_RECORDED,
        "latest_visit_date": letter_date(visit[0] if visit else None),
        "latest_visit_clinician": visit[1] if visit else NOT_RECORDED,
        "rule35_limb": RULE35_LIMB_LABELS[rule35.limb] if rule35 else NOT_RECORDED,
        "rule35_written_date": letter_date(rule35.written_date if rule35 else None),
        "rule35_sent_date": letter_date(rule35.sent_date if rule35 else None),
        "rule35_response_date": letter_date(rule35.response_date if rule35 else None),
        "legal_representative": (", ".join(part for part in (representative.firm, representative.caseworker)
                                           if part) if representative else NOT_RECORDED),
        "today": letter_date(today),
        "signer_name": signer.display_name,
        "signer_role": ROLE_NAMES.get(signer.role, signer.role.value),
    }
    assert set(values) == set(letter_templates.FIELDS)  # noqa: S101  (a field added to one list only is a bug)
    return values


# --- reading ---------------------------------------------------------------------------------------

def get_for_person(db: Session, person_id: int, letter_id: int, *, for_update: bool = False) -> Letter | None:
    """The letter if it belongs to this person; `for_update` locks the row (PostgreSQL) so that two requests
    changing or issuing it run one after the other."""
    query = select(Letter).where(Letter.id == letter_id, Letter.person_id == person_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalar(query)


def snapshot(letter: Letter) -> dict[str, Any]:
    return {"template_key": letter.template_key, "title": letter.title, "body": letter.body,
            "state": letter.state, "content_sha256": letter.content_sha256}


def user_names(db: Session, *ids: int | None) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {user_id: name for user_id, name in db.execute(select(User.id, User.display_name)
                                                          .where(User.id.in_(wanted)))}


@dataclass(frozen=True)
class LetterRow:
    id: int
    title: str
    state: LetterState
    made_at: datetime
    made_by: str
    issued_at: datetime | None


def for_person(db: Session, person_id: int) -> list[LetterRow]:
    """The person's letters, newest first, with who made each, in one statement."""
    rows = db.execute(select(Letter.id, Letter.title, Letter.state, Letter.made_at, User.display_name,
                             Letter.issued_at)
                      .join(User, User.id == Letter.made_by_id).where(Letter.person_id == person_id)
                      .order_by(Letter.made_at.desc(), Letter.id.desc()).limit(SECTION_LIMIT))
    return [LetterRow(*row) for row in rows]


# --- changes ---------------------------------------------------------------------------------------

def draft(db: Session, actor: User, person: Person, template_key: str, today: date, now: datetime) -> Letter:
    """A draft letter filled from the template and the record. A template with problems cannot be used."""
    template = letter_templates.get(template_key)
    if template is None:
        raise RuleBroken.on("template_key", "Choose a letter template from the list.")
    if not template.usable:
        raise RuleBroken.on("template_key", f"The template \u201c{template.title}\u201d has a problem and cannot be "
                                            "used until an administrator corrects it.")
    body = letter_templates.fill(template, record_values(db, person, actor, today))
    letter = Letter(person_id=person.id, template_key=template.key, title=template.title, body=body,
                    state=LetterState.draft, made_by_id=actor.id, made_at=now)
    db.add(letter)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="letters", row_id=letter.id, person_id=person.id, before=None,
                     after=snapshot(letter))
    return letter


def check_draft(letter: Letter) -> None:
    if letter.state is not LetterState.draft:
        raise StaleForm(ISSUED)


def change(db: Session, actor: User, person: Person, letter: Letter, data: LetterBodyForm, now: datetime) -> bool:
    """Save the edited text of a draft; False when it is unchanged (nothing written)."""
    check_draft(letter)
    check_version(letter, data.version)
    body = normalise(data.body)
    if body == letter.body:
        return False
    before = snapshot(letter)
    letter.body = body
    letter.changed_at = now
    db.flush()
    revisions.record(db, actor_id=actor.id, table="letters", row_id=letter.id, person_id=person.id, before=before,
                     after=snapshot(letter))
    return True


def issue(db: Session, actor: User, person: Person, letter: Letter, version: int | None, now: datetime) -> None:
    """Issue a draft as it stands: from now on it never changes, and its content is sealed."""
    check_draft(letter)
    check_version(letter, version)
    before = snapshot(letter)
    letter.state = LetterState.issued
    letter.issued_by_id = actor.id
    letter.issued_at = now
    letter.content_sha256 = digest(letter)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="letters", row_id=letter.id, person_id=person.id, before=before,
                     after=snapshot(letter))


def normalise(body: str) -> str:
    """One form of a letter's text: Unix line ends, no spaces at line ends, one final new line."""
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip() + "\n"


# --- the seal --------------------------------------------------------------------------------------

def canonical_form(*, letter_id: int, person_id: int, template_key: str, title: str, body: str,
                   issued_by_id: int | None, issued_at: datetime | None) -> bytes:
    return canonical_json({"form": SEAL_FORM, "letter_id": letter_id, "person_id": person_id,
                           "template_key": template_key, "title": title, "body": body, "issued_by_id": issued_by_id,
                           "issued_at": issued_at})


def canonical(letter: Letter) -> bytes:
    return canonical_form(letter_id=letter.id, person_id=letter.person_id, template_key=letter.template_key,
                          title=letter.title, body=letter.body, issued_by_id=letter.issued_by_id,
                          issued_at=letter.issued_at)


def digest(letter: Letter) -> str:
    return hashlib.sha256(canonical(letter)).hexdigest()


def check_seal(letter: Letter) -> SealCheck:
    """The seal taken at issue checked against the letter as stored now."""
    if letter.state is not LetterState.issued:
        return SealCheck(SealState.none, None, None)
    return compare(letter.content_sha256, canonical(letter))
