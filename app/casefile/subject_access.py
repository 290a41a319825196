"""Subject access: everything held about one person as a ZIP of JSON, their documents and a readable PDF."""

from __future__ import annotations

import enum
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.audit.models import Revision
from app.auth.models import User
from app.consent.models import Consent
from app.contacts.models import LegalRepresentative, Representation
from app.crypto.fields import forget
from app.db import utcnow
from app.detention.models import DetentionEpisode, Facility, Hearing, Placement, RemovalDirection
from app.evidence import service as evidence_service
from app.evidence.body_regions import BY_CODE as BODY_REGIONS
from app.evidence.models import Document, EvidenceItem, Finding, Rule35Record
from app.evidence.storage import ALLOWED_TYPES
from app.health_events.models import HealthEvent
from app.intake.models import HelpRequest
from app.intake.schemas import detail_rows
from app.medicolegal.letter_models import Letter
from app.medicolegal.models import SECTIONS as REPORT_SECTIONS
from app.medicolegal.models import MedicoLegalReport, MedicoLegalReportVersion, MedicoLegalReviewComment
from app.people.models import (
    AAR_INDICATOR_LABELS,
    Assignment,
    Handover,
    Identity,
    Person,
    PersonAarIndicator,
    PersonLanguage,
)
from app.people.schemas import nationality_name
from app.referrals.models import Organisation, Referral
from app.reports.models import CaseNarrative
from app.visits.models import PlannedVisit, Visit
from app.work.models import CaseNote, CaseNoteAddendum, Task

SCHEMA = "casework.subject-access"
# Raised when a section is added, removed or changes meaning, so a reader can tell which layout it holds.
SCHEMA_VERSION = 7
SECTIONS = (
    "person", "identity", "aliases", "languages", "aar_indicators", "legal_representatives", "handovers",
    "requests", "case_notes", "tasks", "detention_episodes", "removal_directions", "hearings", "planned_visits",
    "visits", "health_events", "evidence_items", "rule35_records", "documents", "consents", "referrals", "assignments",
    "case_narratives", "letters", "medicolegal_reports", "revisions",
)
# The JSON and the PDF on top of the documents themselves; generous, so the guard is about the documents.
OVERHEAD_BYTES = 8 * 1024 * 1024


class ExportTooLarge(Exception):
    """The person's documents alone are larger than the export may be."""

    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(f"{size_bytes} bytes is over the {limit_bytes} byte limit")
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes


@dataclass(frozen=True)
class SubjectAccessExport:
    filename: str
    content: bytes
    sha256: str
    documents: int


def plain(value: Any) -> Any:
    """JSON-ready: ISO 8601 dates and times, enums as their words, containers walked."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def document_path(document: Document) -> str:
    """The file's name inside the ZIP, made from its id and checked type only: the uploaded name is shown in
    person.json, never used as a path (it could hold ../ or a drive letter)."""
    file_type = ALLOWED_TYPES.get(document.content_type)
    return f"documents/document-{document.id}{file_type.canonical if file_type else '.bin'}"


def _fields(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: plain(getattr(obj, name)) for name in names}


def _pairs(db: Session, statement: Any) -> dict[int, str]:
    return {key: value for key, value in db.execute(statement)}


def collect(db: Session, person: Person, *, generated_by: User, generated_at: datetime) -> dict[str, Any]:
    """Every record about the person, read through the ORM (so fields kept encrypted are read as their owners
    read them), as one JSON-ready document. A fixed number of queries whatever the record holds."""
    identity = db.scalar(select(Identity).options(selectinload(Identity.aliases))
                         .where(Identity.person_id == person.id))
    languages = db.scalars(select(PersonLanguage).where(PersonLanguage.person_id == person.id)).all()
    indicators = db.scalars(select(PersonAarIndicator).where(PersonAarIndicator.person_id == person.id)
                            .order_by(PersonAarIndicator.indicator)).all()
    episodes = db.scalars(
        select(DetentionEpisode).where(DetentionEpisode.person_id == person.id)
        .options(selectinload(DetentionEpisode.placements).selectinload(Placement.facility))
        .order_by(DetentionEpisode.start_date, DetentionEpisode.id)).all()
    visits = db.scalars(
        select(Visit).where(Visit.person_id == person.id)
        .options(selectinload(Visit.addenda), selectinload(Visit.aar_indicators))
        .order_by(Visit.visit_date, Visit.id)).all()
    planned_visits = db.scalars(select(PlannedVisit).where(PlannedVisit.person_id == person.id)
                                .order_by(PlannedVisit.starts_at, PlannedVisit.id)).all()
    written = db.scalars(select(Letter).where(Letter.person_id == person.id).order_by(Letter.made_at, Letter.id)).all()
    medicolegal = db.scalars(select(MedicoLegalReport).where(MedicoLegalReport.person_id == person.id)
                             .order_by(MedicoLegalReport.received_date, MedicoLegalReport.id)).all()
    report_ids = [r.id for r in medicolegal]
    report_versions = db.scalars(select(MedicoLegalReportVersion)
                                 .where(MedicoLegalReportVersion.report_id.in_(report_ids))
                                 .order_by(MedicoLegalReportVersion.report_id, MedicoLegalReportVersion.number)).all()
    review_comments = db.scalars(select(MedicoLegalReviewComment)
                                 .where(MedicoLegalReviewComment.report_id.in_(report_ids))
                                 .order_by(MedicoLegalReviewComment.report_id, MedicoLegalReviewComment.id)).all()
    removals = db.scalars(select(RemovalDirection).where(RemovalDirection.person_id == person.id)
                          .order_by(RemovalDirection.removal_at, RemovalDirection.id)).all()
    listed = db.scalars(select(Hearing).where(Hearing.person_id == person.id)
                        .order_by(Hearing.hearing_at, Hearing.id)).all()
    represented = db.execute(select(Representation, LegalRepresentative).join(
        LegalRepresentative, LegalRepresentative.id == Representation.legal_representative_id)
        .where(Representation.person_id == person.id)
        .order_by(Representation.started_at, Representation.id)).all()
    handovers = db.scalars(select(Handover).where(Handover.person_id == person.id)
                           .order_by(Handover.handed_at, Handover.id)).all()
    requests = db.scalars(select(HelpRequest).where(HelpRequest.person_id == person.id)
                          .order_by(HelpRequest.received_at, HelpRequest.id)).all()
    events = db.scalars(select(HealthEvent).where(HealthEvent.person_id == person.id)
                        .order_by(HealthEvent.started_at, HealthEvent.id)).all()
    items = db.scalars(select(EvidenceItem).where(EvidenceItem.person_id == person.id)
                       .options(selectinload(EvidenceItem.findings).selectinload(Finding.photographs))
                       .order_by(EvidenceItem.created_at, EvidenceItem.id)).all()
    rule35 = db.scalars(select(Rule35Record).where(Rule35Record.person_id == person.id)
                        .order_by(Rule35Record.written_date, Rule35Record.id)).all()
    documents = db.scalars(select(Document).where(Document.person_id == person.id).order_by(Document.id)).all()
    consents = db.scalars(select(Consent).where(Consent.person_id == person.id)
                          .order_by(Consent.given_date, Consent.id)).all()
    referrals = db.scalars(select(Referral).where(Referral.person_id == person.id)
                           .options(selectinload(Referral.organisation), selectinload(Referral.nrm))
                           .order_by(Referral.created_at, Referral.id)).all()
    assignments = db.scalars(select(Assignment).where(Assignment.person_id == person.id)
                             .order_by(Assignment.assigned_at, Assignment.id)).all()
    narratives = db.scalars(select(CaseNarrative).where(CaseNarrative.person_id == person.id)
                            .order_by(CaseNarrative.created_at, CaseNarrative.id)).all()
    case_notes = db.scalars(select(CaseNote).where(CaseNote.person_id == person.id)
                            .order_by(CaseNote.happened_at, CaseNote.id)).all()
    note_addenda: dict[int, list[CaseNoteAddendum]] = {}
    for note_addendum in db.scalars(select(CaseNoteAddendum).where(CaseNoteAddendum.person_id == person.id)
                                    .order_by(CaseNoteAddendum.created_at, CaseNoteAddendum.id)):
        note_addenda.setdefault(note_addendum.note_id, []).append(note_addendum)
    tasks = db.scalars(select(Task).where(Task.person_id == person.id).order_by(Task.made_at, Task.id)).all()
    revisions = db.scalars(select(Revision).where(Revision.person_id == person.id)
                           .order_by(Revision.occurred_at, Revision.id)).all()

    user_ids = {person.lead_coordinator_id, generated_by.id}
    user_ids |= {v.clinician_id for v in visits} | {v.signed_by_id for v in visits}
    user_ids |= {a.author_id for v in visits for a in v.addenda}
    user_ids |= {p.clinician_id for p in planned_visits} | {p.made_by_id for p in planned_visits}
    user_ids |= {w.made_by_id for w in written} | {w.issued_by_id for w in written}
    user_ids |= {r.author_id for r in medicolegal} | {r.reviewer_id for r in medicolegal}
    user_ids |= {r.signed_by_id for r in medicolegal} | {v.saved_by_id for v in report_versions}
    user_ids |= {c.reviewer_id for c in review_comments}
    user_ids |= {e.recorded_by_id for e in events} | {i.created_by_id for i in items}
    user_ids |= {r.recorded_by_id for r in removals} | {h.recorded_by_id for h in listed}
    user_ids |= {h.from_user_id for h in handovers} | {h.to_user_id for h in handovers}
    user_ids |= {h.handed_by_id for h in handovers} | {r.recorded_by_id for r, _ in represented}
    user_ids |= {r.recorded_by_id for r in requests} | {r.decided_by_id for r in requests}
    user_ids |= {r.created_by_id for r in rule35} | {d.uploaded_by_id for d in documents}
    user_ids |= {c.recorded_by_id for c in consents} | {c.withdrawal_recorded_by_id for c in consents}
    user_ids |= {r.made_by_id for r in referrals}
    user_ids |= {a.clinician_id for a in assignments} | {a.assigned_by_id for a in assignments}
    user_ids |= {r.actor_user_id for r in revisions}
    user_ids |= {n.recorded_by_id for n in case_notes}
    user_ids |= {t.assignee_id for t in tasks} | {t.made_by_id for t in tasks} | {t.done_by_id for t in tasks}
    user_ids |= {a.author_id for listed_addenda in note_addenda.values() for a in listed_addenda}
    names = _pairs(db, select(User.id, User.display_name).where(User.id.in_(user_ids - {None})))
    organisation_ids = {c.organisation_id for c in consents}
    organisation_ids |= {r.nrm.first_responder_id for r in referrals if r.nrm is not None}
    organisation_ids |= {n.organisation_id for n in case_notes}
    organisations = _pairs(db, select(Organisation.id, Organisation.name)
                           .where(Organisation.id.in_(organisation_ids - {None})))
    visit_facilities = ({v.facility_id for v in visits} | {p.facility_id for p in planned_visits}) - {None}
    facilities = _pairs(db, select(Facility.id, Facility.name).where(Facility.id.in_(visit_facilities)))

    def who(user_id: int | None) -> str | None:
        return None if user_id is None else names.get(user_id, f"user {user_id}")

    docs_by_item: dict[int, list[int]] = {}
    docs_by_visit: dict[int, list[int]] = {}
    for d in documents:
        if d.evidence_item_id is not None:
            docs_by_item.setdefault(d.evidence_item_id, []).append(d.id)
        if d.visit_id is not None:
            docs_by_visit.setdefault(d.visit_id, []).append(d.id)

    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "sections": list(SECTIONS),
        "generated_at": plain(generated_at),
        "generated_by": generated_by.display_name,
        "reference": person.reference,
        "person": _fields(person, (
            "reference", "status", "sex", "gender_identity", "nationality", "stateless", "interpreter_needed",
            "birth_date", "birth_year", "birth_precision", "aar_level", "aar_level_date", "aar_level_source",
            "opened_date", "closed_date", "created_at", "updated_at"))
        | {"nationality_name": nationality_name(person.nationality) or None,
           "lead_coordinator": who(person.lead_coordinator_id)},
        "identity": None if identity is None else _fields(identity, (
            "given_names", "family_name", "home_office_reference", "port_reference", "cid_number", "other_numbers",
            "phone_in_detention")),
        "aliases": [] if identity is None else [_fields(a, ("name", "kind")) for a in identity.aliases],
        "languages": [{"language": row.language, "main": row.is_main}
                      for row in sorted(languages, key=lambda r: (not r.is_main, r.language.lower()))],
        "aar_indicators": [_fields(row, ("indicator", "recorded_date")) | {"label": AAR_INDICATOR_LABELS[row.indicator]}
                           for row in indicators],
        "detention_episodes": [
            _fields(e, ("id", "start_date", "end_date", "end_reason", "last_bail_application_date",
                        "last_bail_outcome", "notes"))
            | {"placements": [_fields(p, ("id", "date_in", "date_out", "arrived_at", "gp_exam_at"))
                              | {"facility": p.facility.name, "facility_type": plain(p.facility.type)}
                              for p in e.placements]}
            for e in episodes],
        "visits": [
            _fields(v, ("id", "visit_date", "mode", "interpreter_used", "interpreter_language", "duration_minutes",
                        "presenting_concerns", "findings", "risk", "actions", "follow_up_date", "status",
                        "signed_at", "created_at", "updated_at"))
            | {"clinician": who(v.clinician_id), "signed_by": who(v.signed_by_id),
               "facility": facilities.get(v.facility_id) if v.facility_id else None,
               "aar_indicators": sorted(plain(i.indicator) for i in v.aar_indicators),
               "addenda": [_fields(a, ("id", "created_at", "text")) | {"author": who(a.author_id)}
                           for a in v.addenda],
               "document_ids": docs_by_visit.get(v.id, [])}
            for v in visits],
        "planned_visits": [
            _fields(p, ("id", "starts_at", "duration_minutes", "booking_reference", "interpreter_booked",
                        "interpreter_language", "interpreter_name", "interpreter_phone", "notes", "status",
                        "visit_id", "made_at"))
            | {"clinician": who(p.clinician_id), "made_by": who(p.made_by_id),
               "facility": facilities.get(p.facility_id)}
            for p in planned_visits],
        "medicolegal_reports": [
            _fields(r, ("id", "questions", "received_date", "due_date", "state", *REPORT_SECTIONS,
                        "review_round", "approved_at", "signed_at", "content_sha256", "served_date", "outcome"))
            | {"author": who(r.author_id), "reviewer": who(r.reviewer_id), "signed_by": who(r.signed_by_id),
               "papers_received": [name for name, received in r.papers().items() if received],
               "review_comments": [_fields(c, ("round", "section", "created_at", "text"))
                                   | {"reviewer": who(c.reviewer_id)}
                                   for c in review_comments if c.report_id == r.id],
               "versions": [_fields(v, ("number", "reason", "saved_at", "sections")) | {"saved_by": who(v.saved_by_id)}
                            for v in report_versions if v.report_id == r.id]}
            for r in medicolegal],
        "letters": [
            _fields(w, ("id", "template_key", "title", "state", "made_at", "issued_at", "content_sha256", "body"))
            | {"made_by": who(w.made_by_id), "issued_by": who(w.issued_by_id)} for w in written],
        "legal_representatives": [
            _fields(r, ("started_at", "ended_at")) | _fields(rep, ("firm", "caseworker", "address", "phone",
                                                                   "email", "legal_aid_contract"))
            | {"recorded_by": who(r.recorded_by_id)} for r, rep in represented],
        "handovers": [_fields(h, ("handed_at", "note")) | {"from": who(h.from_user_id), "to": who(h.to_user_id),
                                                          "by": who(h.handed_by_id)} for h in handovers],
        "requests": [
            _fields(r, ("reference", "received_at", "channel", "requester_kind", "urgency", "needs", "details",
                        "decision", "decision_note", "decided_at", "document_name", "document_type",
                        "document_size", "document_sha256"))
            | {"recorded_by": who(r.recorded_by_id), "decided_by": who(r.decided_by_id)} for r in requests],
        "case_notes": [
            _fields(n, ("id", "kind", "with_whom", "happened_at", "summary", "recorded_at"))
            | {"organisation": organisations.get(n.organisation_id) if n.organisation_id else None,
               "recorded_by": who(n.recorded_by_id),
               "addenda": [_fields(a, ("id", "created_at", "text")) | {"author": who(a.author_id)}
                           for a in note_addenda.get(n.id, [])]}
            for n in case_notes],
        "tasks": [_fields(t, ("id", "title", "due_date", "from_alert", "made_at", "done_at"))
                  | {"assignee": who(t.assignee_id), "made_by": who(t.made_by_id), "done_by": who(t.done_by_id)}
                  for t in tasks],
        "removal_directions": [_fields(r, ("id", "removal_at", "carrier", "destination", "status", "source",
                                               "recorded_at")) | {"recorded_by": who(r.recorded_by_id)}
                               for r in removals],
        "hearings": [_fields(h, ("id", "kind", "hearing_at", "venue", "remote", "outcome", "recorded_at"))
                     | {"recorded_by": who(h.recorded_by_id)} for h in listed],
        "health_events": [_fields(e, ("id", "kind", "started_at", "ended_at", "notes", "created_at"))
                          | {"recorded_by": who(e.recorded_by_id)} for e in events],
        "evidence_items": [
            _fields(i, ("id", "kind", "author", "issued_date", "received_date", "summary", "sensitivity",
                        "overall_evaluation", "overall_evaluation_note", "created_at"))
            | {"created_by": who(i.created_by_id),
               "findings": [_fields(f, ("id", "body_region", "region_code", "lesion_type", "length_mm", "width_mm",
                                        "shape", "colour", "estimated_age", "description", "attributed_cause",
                                        "consistency"))
                            | {"region": BODY_REGIONS[f.region_code].label if f.region_code else None,
                               "photograph_document_ids": [link.document_id for link in f.photographs]}
                            for f in sorted(i.findings, key=lambda f: f.id)],
               "document_ids": docs_by_item.get(i.id, [])}
            for i in items],
        "rule35_records": [
            _fields(r, ("id", "limb", "author_name", "written_date", "sent_date", "consent_to_send", "response_date",
                        "outcome", "aar_level_given", "evidence_item_id", "created_at"))
            | {"created_by": who(r.created_by_id)} for r in rule35],
        "documents": [
            _fields(d, ("id", "original_filename", "content_type", "size_bytes", "sha256", "uploaded_at",
                        "evidence_item_id", "visit_id"))
            | {"file": document_path(d), "uploaded_by": who(d.uploaded_by_id)} for d in documents],
        "consents": [
            _fields(c, ("id", "purpose", "given_date", "method", "interpreter_language", "notes", "recorded_at",
                        "withdrawn_date"))
            | {"organisation": organisations.get(c.organisation_id) if c.organisation_id else None,
               "recorded_by": who(c.recorded_by_id), "withdrawal_recorded_by": who(c.withdrawal_recorded_by_id)}
            for c in consents],
        "referrals": [
            _fields(r, ("id", "reason", "made_date", "status", "response_date", "outcome", "follow_up_date",
                        "created_at"))
            | {"organisation": r.organisation.name, "organisation_type": plain(r.organisation.type),
               "made_by": who(r.made_by_id),
               "nrm": None if r.nrm is None else _fields(r.nrm, (
                   "reasonable_grounds_date", "reasonable_grounds_outcome", "conclusive_grounds_date",
                   "conclusive_grounds_outcome"))
               | {"first_responder": organisations.get(r.nrm.first_responder_id)
                  if r.nrm.first_responder_id else None}}
            for r in referrals],
        "assignments": [_fields(a, ("assigned_at", "ended_at"))
                        | {"clinician": who(a.clinician_id), "assigned_by": who(a.assigned_by_id)}
                        for a in assignments],
        "case_narratives": [_fields(n, ("pseudonym", "status", "created_at", "submitted_at", "approved_at",
                                        "content")) for n in narratives],
        "revisions": [_fields(r, ("occurred_at", "table_name", "row_id", "action", "before", "after"))
                      | {"by": who(r.actor_user_id)} for r in revisions],
    }


def documents_size(db: Session, person: Person) -> int:
    return int(db.scalar(select(func.coalesce(func.sum(Document.size_bytes), 0))
                         .where(Document.person_id == person.id)) or 0)


def export_filename(person: Person, generated_at: datetime) -> str:
    # The reference is random and holds no personal data; it is the only identifier in the name.
    return f"subject-access-{person.reference}-{generated_at:%Y%m%d}.zip"


def build(db: Session, person: Person, actor: User, *, limit_bytes: int,
          generated_at: datetime | None = None) -> SubjectAccessExport:
    """The ZIP, built in memory. ExportTooLarge before anything is read when the documents alone would pass
    the limit, so a huge record cannot exhaust the server's memory."""
    size = documents_size(db, person)
    if size + OVERHEAD_BYTES > limit_bytes:
        raise ExportTooLarge(size + OVERHEAD_BYTES, limit_bytes)
    generated_at = generated_at or utcnow()
    record = collect(db, person, generated_by=actor, generated_at=generated_at)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("person.json", json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
        archive.writestr("summary.pdf", summary_pdf(record))
        for entry in record["documents"]:
            # One document's bytes in memory at a time, read the way a download reads them.
            document = evidence_service.get_document(db, person, entry["id"])
            assert document is not None  # noqa: S101  (listed a moment ago in this same transaction)
            # Scans and photographs are already compressed: stored as they are.
            archive.writestr(zipfile.ZipInfo(entry["file"], date_time=_zip_time(document.uploaded_at)),
                             document.content, compress_type=zipfile.ZIP_STORED)
            forget(db, document, "content")
    content = out.getvalue()
    if len(content) > limit_bytes:
        raise ExportTooLarge(len(content), limit_bytes)
    return SubjectAccessExport(filename=export_filename(person, generated_at), content=content,
                               sha256=hashlib.sha256(content).hexdigest(), documents=len(record["documents"]))


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)


def summary_pdf(record: dict[str, Any]) -> bytes:
    """The same record as a PDF for the person to read: plain headings, dates as people write them, codes as
    words."""
    from app.reports.exports import to_pdf
    from app.web.templating import templates

    html = templates.env.get_template("casefile/subject_access.html").render(record=record, **_pdf_helpers())
    return to_pdf(html)


def _pdf_helpers() -> dict[str, Any]:
    from app.dates import format_date, format_datetime

    def when(value: str | None) -> str:
        if not value:
            return ""
        if "T" in value:
            return format_datetime(datetime.fromisoformat(value))
        return format_date(date.fromisoformat(value))

    def words(value: Any) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        return str(value).replace("_", " ").capitalize()

    return {"when": when, "words": words, "request_details": detail_rows}
