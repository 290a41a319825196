"""Evidence items, findings, documents and Rule 35 records: queries, the rules for changing them, revisions,
and what the person page's evidence and Rule 35 sections show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, undefer

from app.audit import revisions
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import organisation_today
from app.db import check_version
from app.errors import RuleBroken
from app.evidence import body_regions
from app.evidence.body_regions import BY_CODE, BodyRegion
from app.evidence.models import (
    RULE35_LIMB_LABELS,
    Document,
    EvidenceItem,
    EvidenceKind,
    Finding,
    FindingDocument,
    Rule35Outcome,
    Rule35Record,
)
from app.evidence.schemas import (
    CONSISTENCY_LABELS,
    KIND_LABELS,
    LESION_AGE_LABELS,
    LESION_TYPE_LABELS,
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

ITEM_FIELDS = ("kind", "author", "issued_date", "received_date", "summary", "sensitivity", "overall_evaluation",
               "overall_evaluation_note")


def item_snapshot(item: EvidenceItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in ITEM_FIELDS}


def _item_values(data: EvidenceItemForm) -> dict[str, Any]:
    return {"kind": data.kind, "author": _clean(data.author), "issued_date": data.issued_date,
            "received_date": data.received_date, "summary": _clean(data.summary), "sensitivity": data.sensitivity,
            "overall_evaluation": data.overall_evaluation,
            "overall_evaluation_note": _clean(data.overall_evaluation_note)}


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


def _head_to_foot(finding: Finding) -> tuple[int, int]:
    """Coded findings by their region's order, then those recorded before coded regions; each in the order added."""
    region = BY_CODE.get(finding.region_code or "")
    return (region.order if region is not None else len(BY_CODE) + 1, finding.id)


def findings_of(db: Session, item_id: int) -> list[Finding]:
    findings = list(db.scalars(select(Finding).where(Finding.evidence_item_id == item_id)))
    return sorted(findings, key=_head_to_foot)


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


IMAGE_TYPES = ("image/jpeg", "image/png")


def photographs_of_item(db: Session, item_id: int) -> list[DocumentRow]:
    """The item's documents a finding may be linked to: its images."""
    return _document_rows(db, Document.evidence_item_id == item_id, Document.content_type.in_(IMAGE_TYPES))


def documents_of_visit(db: Session, visit_id: int) -> list[DocumentRow]:
    return _document_rows(db, Document.visit_id == visit_id)


def author_name(db: Session, user_id: int) -> str:
    return db.scalar(select(User.display_name).where(User.id == user_id)) or "Unknown"


# --- findings ------------------------------------------------------------------------------------

def finding_snapshot(finding: Finding, photographs: list[int]) -> dict[str, Any]:
    return {"evidence_item_id": finding.evidence_item_id, "region_code": finding.region_code,
            "body_region": finding.body_region, "lesion_type": finding.lesion_type, "length_mm": finding.length_mm,
            "width_mm": finding.width_mm, "shape": finding.shape, "colour": finding.colour,
            "estimated_age": finding.estimated_age, "description": finding.description,
            "attributed_cause": finding.attributed_cause, "consistency": finding.consistency,
            "photographs": photographs}


def _photograph_ids(db: Session, item: EvidenceItem, chosen: list[int]) -> list[int]:
    """The chosen documents, each checked to be an image of this evidence item; RuleBroken otherwise (a document
    of another item or another person is refused as any value the page did not offer)."""
    wanted = sorted(set(chosen))
    if not wanted:
        return []
    found = set(db.scalars(select(Document.id).where(Document.id.in_(wanted), Document.evidence_item_id == item.id,
                                                     Document.content_type.in_(IMAGE_TYPES))))
    if found != set(wanted):
        raise RuleBroken.on("photographs", "Choose photographs uploaded to this evidence, from the list.")
    return wanted


def add_finding(db: Session, actor_id: int, person: Person, item: EvidenceItem, data: FindingForm) -> Finding:
    photographs = _photograph_ids(db, item, data.photographs)
    region = BY_CODE[data.region_code]
    finding = Finding(evidence_item_id=item.id, region_code=region.code, body_region=region.label,
                      lesion_type=data.lesion_type, length_mm=data.length_mm, width_mm=data.width_mm,
                      shape=_clean(data.shape), colour=_clean(data.colour), estimated_age=data.estimated_age,
                      description=data.description.strip(), attributed_cause=_clean(data.attributed_cause),
                      consistency=data.consistency,
                      photographs=[FindingDocument(document_id=document_id) for document_id in photographs])
    db.add(finding)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="findings", row_id=finding.id, person_id=person.id,
                     before=None, after=finding_snapshot(finding, photographs))
    return finding


def get_finding(db: Session, item: EvidenceItem, finding_id: int) -> Finding | None:
    return db.scalar(select(Finding).where(Finding.id == finding_id, Finding.evidence_item_id == item.id))


def remove_finding(db: Session, actor_id: int, person: Person, finding: Finding) -> None:
    """Delete a finding (its links to photographs go with it, the photographs stay); its revision keeps everything
    it said."""
    photographs = list(db.scalars(select(FindingDocument.document_id)
                                  .where(FindingDocument.finding_id == finding.id)
                                  .order_by(FindingDocument.document_id)))
    before = finding_snapshot(finding, photographs)
    row_id = finding.id
    db.execute(delete(FindingDocument).where(FindingDocument.finding_id == row_id))
    db.delete(finding)
    db.flush()
    revisions.record(db, actor_id=actor_id, table="findings", row_id=row_id, person_id=person.id,
                     before=before, after=None)


# --- the body diagram ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Photograph:
    id: int
    filename: str


@dataclass
class DiagramEntry:
    """A finding as the body diagram and its text list show it: its number, its region and marker, or, for a
    finding recorded before coded regions, the site in words and no marker."""

    number: int
    finding: Finding
    item: EvidenceItem
    region: BodyRegion | None
    x: int | None = None
    y: int | None = None
    photographs: list[Photograph] = field(default_factory=list)

    @property
    def site(self) -> str:
        return self.region.label if self.region is not None else body_regions.legacy_site(self.finding.body_region)

    @property
    def lesion_label(self) -> str:
        return LESION_TYPE_LABELS[self.finding.lesion_type] if self.finding.lesion_type else "Not recorded"

    @property
    def size(self) -> str:
        length, width = self.finding.length_mm, self.finding.width_mm
        if length is None:
            return "Not recorded"
        return f"{length} × {width} mm" if width is not None else f"{length} mm long"

    @property
    def age_label(self) -> str:
        return LESION_AGE_LABELS[self.finding.estimated_age] if self.finding.estimated_age else "Not estimated"

    @property
    def consistency_label(self) -> str:
        return CONSISTENCY_LABELS[self.finding.consistency] if self.finding.consistency else "Not assessed"


def _photographs(db: Session, finding_ids: list[int]) -> dict[int, list[Photograph]]:
    """The photographs linked to these findings (one query)."""
    if not finding_ids:
        return {}
    rows = db.execute(select(FindingDocument.finding_id, Document)
                      .join(Document, Document.id == FindingDocument.document_id)
                      .where(FindingDocument.finding_id.in_(finding_ids))
                      .order_by(FindingDocument.finding_id, Document.id)).all()
    linked: dict[int, list[Photograph]] = {}
    for finding_id, document in rows:
        linked.setdefault(finding_id, []).append(Photograph(document.id, document.original_filename))
    return linked


def diagram(db: Session, pairs: list[tuple[Finding, EvidenceItem]]) -> list[DiagramEntry]:
    """Findings numbered head to foot, each with its marker's place (markers on one region spread out so that
    none hides another) and its photographs."""
    ordered = sorted(pairs, key=lambda pair: _head_to_foot(pair[0]))
    photographs = _photographs(db, [finding.id for finding, _ in ordered])
    on_region: dict[str, int] = {}
    entries = []
    for number, (finding, item) in enumerate(ordered, start=1):
        region = BY_CODE.get(finding.region_code or "")
        entry = DiagramEntry(number, finding, item, region, photographs=photographs.get(finding.id, []))
        if region is not None:
            index = on_region.get(region.code, 0)
            on_region[region.code] = index + 1
            entry.x, entry.y = body_regions.marker_position(region, index)
        entries.append(entry)
    return entries


def item_diagram(db: Session, item: EvidenceItem) -> list[DiagramEntry]:
    return diagram(db, [(finding, item) for finding in findings_of(db, item.id)])


def body_map(db: Session, person: Person) -> list[DiagramEntry]:
    """Every finding of the person on one diagram, head to foot (two queries whatever the record holds)."""
    rows = db.execute(
        select(Finding, EvidenceItem).join(EvidenceItem, EvidenceItem.id == Finding.evidence_item_id)
        .where(EvidenceItem.person_id == person.id)
    ).all()
    return diagram(db, [(finding, item) for finding, item in rows])


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

