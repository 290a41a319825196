"""Evidence items, findings, documents and Rule 35 records: queries, the rules for changing them, revisions,
and what the person page's evidence and Rule 35 sections show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from app.audit import revisions
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import organisation_today
from app.db import check_version
from app.errors import RuleBroken
from app.evidence.models import (
    RULE35_LIMB_LABELS,
    Document,
    EvidenceItem,
    EvidenceKind,
    Finding,
    Rule35Outcome,
    Rule35Record,
)
from app.evidence.schemas import (
    BODY_REGIONS,
    CONSISTENCY_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    EvidenceItemForm,
    FindingForm,
    Rule35Form,
    day,
)
from app.evidence.storage import CheckedFile, UploadRefused
from app.people.models import Person
from app.people.service import touch


def may_record(user: User) -> bool:
    return has_permission(user.role, Permission.record_clinical)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- evidence items ------------------------------------------------------------------------------

ITEM_FIELDS = ("kind", "author", "issued_date", "received_date", "summary", "sensitivity")


def item_snapshot(item: EvidenceItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in ITEM_FIELDS}


def _item_values(data: EvidenceItemForm) -> dict[str, Any]:
    return {"kind": data.kind, "author": _clean(data.author), "issued_date": data.issued_date,
            "received_date": data.received_date, "summary": _clean(data.summary), "sensitivity": data.sensitivity}


def _item_date_problems(data: EvidenceItemForm, today: date) -> dict[str, str]:
    problems: dict[str, str] = {}
    if data.issued_date and data.issued_date > today:
        problems["issued_date"] = "The date issued cannot be in the future."
    if data.received_date and data.received_date > today:
        problems["received_date"] = "The date received cannot be in the future."
    return problems


def get_item(db: Session, person: Person, item_id: int) -> EvidenceItem | None:
    return db.scalar(select(EvidenceItem).where(EvidenceItem.id == item_id, EvidenceItem.person_id == person.id))


def create_item(db: Session, actor_id: int, person: Person, data: EvidenceItemForm, today: date) -> EvidenceItem:
    problems = _item_date_problems(data, today)
    if problems:
        raise RuleBroken(problems)
    item = EvidenceItem(person_id=person.id, created_by_id=actor_id, **_item_values(data))
    db.add(item)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="evidence_items", row_id=item.id, person_id=person.id,
                     before=None, after=item_snapshot(item))
    return item


def update_item(db: Session, actor_id: int, person: Person, item: EvidenceItem, data: EvidenceItemForm,
                today: date) -> list[str]:
    """Apply an edit made at the person's version `data.version`; returns the fields that changed."""
    check_version(person, data.version)
    problems = _item_date_problems(data, today)
    if problems:
        raise RuleBroken(problems)
    before = item_snapshot(item)
    changed = revisions.changed_fields(before, _item_values(data))
    if not changed:
        return []
    for name, value in _item_values(data).items():
        setattr(item, name, value)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="evidence_items", row_id=item.id, person_id=person.id,
                     before=before, after=item_snapshot(item))
    return changed


def findings_of(db: Session, item_id: int) -> list[Finding]:
    findings = list(db.scalars(select(Finding).where(Finding.evidence_item_id == item_id).order_by(Finding.id)))
    order = {key: index for index, (key, _) in enumerate(BODY_REGIONS)}
    return sorted(findings, key=lambda f: (order.get(f.body_region, len(order)), f.id))


@dataclass(frozen=True)
class DocumentRow:
    """A document as lists show it: never its bytes."""

    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: Any
    uploaded_by: str


def _document_rows(db: Session, *conditions: Any) -> list[DocumentRow]:
    # Whole rows (the bytes stay deferred), so the sealed file names open with their person's key.
    rows = db.execute(select(Document, User.display_name).join(User, User.id == Document.uploaded_by_id)
                      .where(*conditions).order_by(Document.uploaded_at, Document.id)).all()
    return [DocumentRow(d.id, d.original_filename, d.content_type, d.size_bytes, d.sha256, d.uploaded_at, name)
            for d, name in rows]


def documents_of_item(db: Session, item_id: int) -> list[DocumentRow]:
    return _document_rows(db, Document.evidence_item_id == item_id)


def documents_of_visit(db: Session, visit_id: int) -> list[DocumentRow]:
    return _document_rows(db, Document.visit_id == visit_id)


def author_name(db: Session, user_id: int) -> str:
    return db.scalar(select(User.display_name).where(User.id == user_id)) or "Unknown"


# --- findings ------------------------------------------------------------------------------------

def finding_snapshot(finding: Finding) -> dict[str, Any]:
    return {"evidence_item_id": finding.evidence_item_id, "body_region": finding.body_region,
            "description": finding.description, "attributed_cause": finding.attributed_cause,
            "consistency": finding.consistency}


def add_finding(db: Session, actor_id: int, person: Person, item: EvidenceItem, data: FindingForm) -> Finding:
    finding = Finding(evidence_item_id=item.id, body_region=data.body_region, description=data.description.strip(),
                      attributed_cause=_clean(data.attributed_cause), consistency=data.consistency)
    db.add(finding)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="findings", row_id=finding.id, person_id=person.id,
                     before=None, after=finding_snapshot(finding))
    return finding


def get_finding(db: Session, item: EvidenceItem, finding_id: int) -> Finding | None:
    return db.scalar(select(Finding).where(Finding.id == finding_id, Finding.evidence_item_id == item.id))


def remove_finding(db: Session, actor_id: int, person: Person, finding: Finding) -> None:
    """Delete a finding; its revision keeps everything it said."""
    before = finding_snapshot(finding)
    row_id = finding.id
    db.delete(finding)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="findings", row_id=row_id, person_id=person.id,
                     before=before, after=None)


@dataclass
class BodyMapEntry:
    finding: Finding
    item: EvidenceItem

    @property
    def consistency_label(self) -> str:
        return CONSISTENCY_LABELS[self.finding.consistency] if self.finding.consistency else "Not assessed"


@dataclass
class BodyMapRegion:
    key: str
    label: str
    entries: list[BodyMapEntry] = field(default_factory=list)


def body_map(db: Session, person: Person) -> list[BodyMapRegion]:
    """Every finding of the person grouped by body region, regions in anatomical order (one query)."""
    rows = db.execute(
        select(Finding, EvidenceItem).join(EvidenceItem, EvidenceItem.id == Finding.evidence_item_id)
        .where(EvidenceItem.person_id == person.id)
        .order_by(EvidenceItem.issued_date.desc().nulls_last(), EvidenceItem.id, Finding.id)
    ).all()
    regions = {key: BodyMapRegion(key, label) for key, label in BODY_REGIONS}
    unknown: dict[str, BodyMapRegion] = {}
    for finding, item in rows:
        region = regions.get(finding.body_region)
        if region is None:  # a region no longer on the list: still shown, never hidden
            region = unknown.setdefault(finding.body_region,
                                        BodyMapRegion(finding.body_region, f"Other ({finding.body_region})"))
        region.entries.append(BodyMapEntry(finding, item))
    return [r for r in regions.values() if r.entries] + list(unknown.values())


# --- documents -----------------------------------------------------------------------------------

def store_document(db: Session, actor_id: int, person: Person, checked: CheckedFile, *,
                   evidence_item_id: int | None = None, visit_id: int | None = None) -> Document:
    """Keep an upload that passed the checks in storage.check_file. One parent: an evidence item or a visit.
    UploadRefused when the same bytes are already attached to that parent."""
    if (evidence_item_id is None) == (visit_id is None):
        raise ValueError("a document belongs to exactly one evidence item or visit")
    parent = (Document.evidence_item_id == evidence_item_id if evidence_item_id is not None
              else Document.visit_id == visit_id)
    if db.scalar(select(Document.id).where(parent, Document.sha256 == checked.sha256).limit(1)) is not None:
        raise UploadRefused("duplicate", "This file is already attached here: it was not added again.")
    document = Document(person_id=person.id, evidence_item_id=evidence_item_id, visit_id=visit_id,
                        original_filename=checked.filename, content_type=checked.content_type,
                        size_bytes=checked.size_bytes, sha256=checked.sha256, content=checked.content,
                        uploaded_by_id=actor_id)
    db.add(document)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="documents", row_id=document.id, person_id=person.id,
                     before=None, after={"evidence_item_id": evidence_item_id, "visit_id": visit_id,
                                         "original_filename": checked.filename,
                                         "content_type": checked.content_type, "size_bytes": checked.size_bytes,
                                         "sha256": checked.sha256})
    return document


def get_document(db: Session, person: Person, document_id: int) -> Document | None:
    """A document of this person with its bytes, or None (another person's document is not found either)."""
    return db.scalar(select(Document).options(undefer(Document.content_sealed))
                     .where(Document.id == document_id, Document.person_id == person.id))


# --- Rule 35 records -----------------------------------------------------------------------------

RULE35_FIELDS = ("limb", "author_name", "written_date", "consent_to_send", "sent_date", "response_date", "outcome",
                 "aar_level_given", "evidence_item_id")


def rule35_snapshot(record: Rule35Record) -> dict[str, Any]:
    return {name: getattr(record, name) for name in RULE35_FIELDS}


def _rule35_values(data: Rule35Form) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in RULE35_FIELDS}
    values["author_name"] = _clean(data.author_name)
    return values


def _rule35_problems(db: Session, person: Person, data: Rule35Form, today: date) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name, label in (("written_date", "date written"), ("sent_date", "date sent"),
                        ("response_date", "response date")):
        value = getattr(data, name)
        if value is not None and value > today:
            problems[name] = f"The {label} cannot be in the future."
    if data.evidence_item_id is not None and get_item(db, person, data.evidence_item_id) is None:
        problems["evidence_item_id"] = "Choose the report from this person's evidence list."
    return problems


def rule35_reports(db: Session, person: Person) -> list[EvidenceItem]:
    """Evidence items a Rule 35 record may point at: this person's Rule 35 reports."""
    return list(db.scalars(select(EvidenceItem).where(EvidenceItem.person_id == person.id,
                                                      EvidenceItem.kind == EvidenceKind.rule35_report)
                           .order_by(EvidenceItem.issued_date.desc().nulls_last(), EvidenceItem.id.desc())))


def get_rule35(db: Session, person: Person, record_id: int) -> Rule35Record | None:
    return db.scalar(select(Rule35Record).where(Rule35Record.id == record_id, Rule35Record.person_id == person.id))


def create_rule35(db: Session, actor_id: int, person: Person, data: Rule35Form, today: date) -> Rule35Record:
    problems = _rule35_problems(db, person, data, today)
    if problems:
        raise RuleBroken(problems)
    record = Rule35Record(person_id=person.id, created_by_id=actor_id, **_rule35_values(data))
    db.add(record)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="rule35_records", row_id=record.id, person_id=person.id,
                     before=None, after=rule35_snapshot(record))
    return record


def update_rule35(db: Session, actor_id: int, person: Person, record: Rule35Record, data: Rule35Form,
                  today: date) -> list[str]:
    check_version(person, data.version)
    problems = _rule35_problems(db, person, data, today)
    if problems:
        raise RuleBroken(problems)
    before = rule35_snapshot(record)
    values = _rule35_values(data)
    changed = revisions.changed_fields(before, values)
    if not changed:
        return []
    for name, value in values.items():
        setattr(record, name, value)
    touch(person)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="rule35_records", row_id=record.id, person_id=person.id,
                     before=before, after=rule35_snapshot(record))
    return changed


@dataclass(frozen=True)
class Rule35State:
    key: str  # written, awaiting, answered, no_response
    text: str
    days_waiting: int | None = None


def rule35_state(record: Rule35Record, today: date) -> Rule35State:
    """Where a report stands. Days waiting are calendar days since the date sent (0 on the day it was sent)."""
    if record.response_date is not None and record.outcome is not None:
        return Rule35State("answered", (f"Answered on {day(record.response_date)}: "
                                        f"{OUTCOME_LABELS[record.outcome].lower()}"))
    if record.outcome is Rule35Outcome.no_response:
        return Rule35State("no_response", "Recorded as having had no response")
    if record.sent_date is not None:
        days = (today - record.sent_date).days
        unit = "day" if days == 1 else "days"
        return Rule35State("awaiting", f"Sent on {day(record.sent_date)}, awaiting response for {days} {unit}",
                           days_waiting=days)
    return Rule35State("written", f"Written on {day(record.written_date)}, not sent")


# --- person-page sections ------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemRow:
    item: EvidenceItem
    kind_label: str
    findings: int
    documents: int


def evidence_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The evidence section of the person page: one query, whatever the record holds."""
    finding_count = (select(func.count(Finding.id)).where(Finding.evidence_item_id == EvidenceItem.id)
                     .correlate(EvidenceItem).scalar_subquery())
    document_count = (select(func.count(Document.id)).where(Document.evidence_item_id == EvidenceItem.id)
                      .correlate(EvidenceItem).scalar_subquery())
    rows = db.execute(
        select(EvidenceItem, finding_count, document_count).where(EvidenceItem.person_id == person.id)
        .order_by(EvidenceItem.issued_date.desc().nulls_last(), EvidenceItem.id.desc())
    ).all()
    items = [ItemRow(item, KIND_LABELS[item.kind], findings or 0, documents or 0)
             for item, findings, documents in rows]
    return {"items": items, "total_findings": sum(row.findings for row in items), "may_record": may_record(user)}


@dataclass(frozen=True)
class Rule35Row:
    record: Rule35Record
    limb_label: str
    state: Rule35State


def rule35_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The Rule 35 section of the person page: one query."""
    today = organisation_today()
    records = db.scalars(select(Rule35Record).where(Rule35Record.person_id == person.id)
                         .order_by(Rule35Record.written_date.desc(), Rule35Record.id.desc())).all()
    rows = [Rule35Row(r, RULE35_LIMB_LABELS[r.limb], rule35_state(r, today)) for r in records]
    return {"records": rows, "may_record": may_record(user), "today": today}

