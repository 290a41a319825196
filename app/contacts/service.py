"""Legal representatives: the register, and which one acts for a person now (the history kept)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.audit import revisions
from app.contacts.models import LegalRepresentative, Representation
from app.contacts.schemas import RepresentativeForm
from app.db import check_version, utcnow
from app.errors import FORM_ERROR, RuleBroken

_FIELDS = ("firm", "caseworker", "phone", "email", "address", "legal_aid_contract")
DUPLICATE = "This firm and caseworker are already in the register. Change that entry instead of adding another."


def get(db: Session, representative_id: int) -> LegalRepresentative | None:
    return db.get(LegalRepresentative, representative_id)


def choices(db: Session, *, keep_id: int | None = None) -> list[LegalRepresentative]:
    """Representatives that can be chosen on a form, by firm then caseworker; an archived one only when it is the
    value the form already holds."""
    condition: ColumnElement[bool] = LegalRepresentative.archived_at.is_(None)
    if keep_id is not None:
        condition = or_(condition, LegalRepresentative.id == keep_id)
    return list(db.scalars(select(LegalRepresentative).where(condition).order_by(
        func.lower(LegalRepresentative.firm), func.lower(func.coalesce(LegalRepresentative.caseworker, "")))))


def register(db: Session) -> list[tuple[LegalRepresentative, int]]:
    """Every representative with how many people they act for now, active ones first."""
    acting = (select(Representation.legal_representative_id, func.count().label("people"))
              .where(Representation.ended_at.is_(None)).group_by(Representation.legal_representative_id)
              .subquery())
    return [(rep, people or 0) for rep, people in db.execute(
        select(LegalRepresentative, acting.c.people)
        .outerjoin(acting, acting.c.legal_representative_id == LegalRepresentative.id)
        .order_by(LegalRepresentative.archived_at.is_not(None), func.lower(LegalRepresentative.firm),
                  func.lower(func.coalesce(LegalRepresentative.caseworker, ""))))]


def acting_count(db: Session, representative_id: int) -> int:
    """How many people the representative acts for now."""
    return db.scalar(select(func.count()).select_from(Representation).where(
        Representation.legal_representative_id == representative_id, Representation.ended_at.is_(None))) or 0


def duplicate_of(db: Session, firm: str, caseworker: str | None, *,
                 except_id: int | None = None) -> LegalRepresentative | None:
    """A representative in use (not archived) with the same firm and caseworker, ignoring case and surrounding
    spaces. Both sides are lowered by the database, so that it is one notion of case on each database."""
    condition = [
        func.lower(LegalRepresentative.firm) == func.lower(firm.strip()),
        func.lower(func.coalesce(LegalRepresentative.caseworker, "")) == func.lower((caseworker or "").strip()),
        LegalRepresentative.archived_at.is_(None),
    ]
    if except_id is not None:
        condition.append(LegalRepresentative.id != except_id)
    return db.scalars(select(LegalRepresentative).where(*condition).order_by(LegalRepresentative.id)).first()


def _refuse_duplicate(db: Session, firm: str, caseworker: str | None, *, except_id: int | None = None) -> None:
    if duplicate_of(db, firm, caseworker, except_id=except_id) is not None:
        raise RuleBroken.on("firm", DUPLICATE)


def _snapshot(rep: LegalRepresentative) -> dict[str, object]:
    return {name: getattr(rep, name) for name in (*_FIELDS, "archived_at")}


def create(db: Session, actor_id: int, data: RepresentativeForm) -> LegalRepresentative:
    """Add a representative to the register; RuleBroken beside the firm if the same one is there already."""
    _refuse_duplicate(db, data.firm, data.caseworker)
    rep = LegalRepresentative(**data.model_dump(include=set(_FIELDS)))
    db.add(rep)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="legal_representatives", row_id=rep.id, person_id=None,
                     before=None, after=_snapshot(rep))
    return rep


def update(db: Session, actor_id: int, rep: LegalRepresentative, data: RepresentativeForm) -> list[str]:
    """Change a representative's details on a form loaded at `data.version`; returns the names of the fields
    changed. An archived one may be corrected freely: it is checked for duplicates when it is restored."""
    check_version(rep, data.version)
    if rep.archived_at is None:
        _refuse_duplicate(db, data.firm, data.caseworker, except_id=rep.id)
    before = _snapshot(rep)
    for name in _FIELDS:
        setattr(rep, name, getattr(data, name))
    after = _snapshot(rep)
    changed = revisions.changed_fields(before, after)
    if changed:
        db.flush()
        revisions.record(db, actor_id=actor_id, table="legal_representatives", row_id=rep.id, person_id=None,
                         before=before, after=after)
    return changed


def archive(db: Session, actor_id: int, rep: LegalRepresentative) -> None:
    """No longer offered on forms; the people and requests that name them keep them."""
    if rep.archived_at is not None:
        raise RuleBroken.on(FORM_ERROR, f"{rep.label} is already archived.")
    before = _snapshot(rep)
    rep.archived_at = utcnow()
    db.flush()
    revisions.record(db, actor_id=actor_id, table="legal_representatives", row_id=rep.id, person_id=None,
                     before=before, after=_snapshot(rep))


def restore(db: Session, actor_id: int, rep: LegalRepresentative) -> None:
    """Offered on forms again, unless the same firm and caseworker has been added to the register since."""
    if rep.archived_at is None:
        raise RuleBroken.on(FORM_ERROR, f"{rep.label} is not archived.")
    if duplicate_of(db, rep.firm, rep.caseworker, except_id=rep.id) is not None:
        raise RuleBroken.on(FORM_ERROR, f"{rep.label} was added to the register again after this entry was "
                                        "archived: use that entry instead.")
    before = _snapshot(rep)
    rep.archived_at = None
    db.flush()
    revisions.record(db, actor_id=actor_id, table="legal_representatives", row_id=rep.id, person_id=None,
                     before=before, after=_snapshot(rep))


def current(db: Session, person_id: int) -> LegalRepresentative | None:
    return db.scalar(select(LegalRepresentative).join(
        Representation, Representation.legal_representative_id == LegalRepresentative.id)
        .where(Representation.person_id == person_id, Representation.ended_at.is_(None)))


def acting_for(db: Session, person_id: int) -> list[LegalRepresentative]:
    """Every representative who has acted for the person, current or not (their names are the person's
    identifiers too, for the narrative scrubber)."""
    return list(db.scalars(select(LegalRepresentative).join(
        Representation, Representation.legal_representative_id == LegalRepresentative.id)
        .where(Representation.person_id == person_id)))


def current_id(db: Session, person_id: int) -> int | None:
    return db.scalar(select(Representation.legal_representative_id)
                     .where(Representation.person_id == person_id, Representation.ended_at.is_(None)))


def check_choice(db: Session, representative_id: int | None, *, keep_id: int | None = None,
                 field: str = "legal_representative_id") -> None:
    """Refuse an unknown representative, or an archived one newly chosen."""
    if representative_id is None:
        return
    rep = get(db, representative_id)
    if rep is None or (rep.archived_at is not None and rep.id != keep_id):
        raise RuleBroken.on(field, "Choose a legal representative from the list, or add them to the register first.")


def set_current(db: Session, actor_id: int, person_id: int, representative_id: int | None) -> bool:
    """Make `representative_id` (None: nobody) the person's representative from now; returns whether it changed.
    The one acting until now is ended, not replaced, so the history says who acted when."""
    now = utcnow()
    acting = db.scalar(select(Representation).where(Representation.person_id == person_id,
                                                    Representation.ended_at.is_(None)))
    if (acting.legal_representative_id if acting else None) == representative_id:
        return False
    check_choice(db, representative_id)
    if acting is not None:
        acting.ended_at = now
        db.flush()
    if representative_id is not None:
        db.add(Representation(person_id=person_id, legal_representative_id=representative_id,
                              recorded_by_id=actor_id, started_at=now))
        db.flush()
    return True
