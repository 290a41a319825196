"""Evidence pages on a person's record: evidence items and their findings, the body map, document uploads and
downloads, Rule 35 records, and the person-page sections that list them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit, AuditContext
from app.audit.models import Outcome
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.evidence import body_regions, service, storage
from app.evidence.dependencies import CaseDocument, CaseFinding, CaseFindingIfAny, CaseItem, CaseRule35
from app.evidence.models import RULE35_LIMB_LABELS, EvidenceItem, Rule35Record
from app.evidence.schemas import (
    CONSISTENCY_LABELS,
    KIND_LABELS,
    LESION_AGE_LABELS,
    LESION_TYPE_LABELS,
    OUTCOME_LABELS,
    OVERALL_EVALUATION_LABELS,
    SENSITIVITY_LABELS,
    EvidenceItemForm,
    FindingForm,
    Rule35Form,
    day,
)
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.visits.dependencies import CaseVisit
from app.visits.models import Visit
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/evidence")
documents_router = APIRouter(prefix="/people/{reference}/documents")
rule35_router = APIRouter(prefix="/people/{reference}/rule35")

ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
# Upload routes list this first in `dependencies`, so that it reads the body (within the limit) before the
# permission's CSRF check would read all of it.
UploadBody = Depends(storage.bounded_upload)



def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Form values from stored ones: enums as their codes, dates in ISO form, None as empty."""
    plain: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            plain[name] = ""
        elif isinstance(value, bool):
            plain[name] = value
        elif hasattr(value, "isoformat"):
            plain[name] = value.isoformat()
        else:
            plain[name] = getattr(value, "value", value)
    return plain


def _item_url(person: Person, item: EvidenceItem) -> str:
    return f"/people/{person.reference}/evidence/{item.id}"


# --- evidence items ------------------------------------------------------------------------------

def _item_form(request: Request, db: Session, person: Person, item: EvidenceItem | None,
               values: dict[str, Any]) -> Response:
    return render(request, "evidence/item_form.html", {
        "person": person, "details": load_details(db, person), "item": item, "values": values, "errors": {},
        "kinds": [(k.value, label) for k, label in KIND_LABELS.items()],
        "sensitivities": [(s.value, label) for s, label in SENSITIVITY_LABELS.items()],
        "evaluations": [(c.value, label) for c, label in OVERALL_EVALUATION_LABELS.items()],
    })


@router.get("/new", dependencies=[RecordClinical])
def item_new(request: Request, person: CaseInScope, db: DbSession) -> Response:
    return _item_form(request, db, person, None, {"sensitivity": "standard"})


@router.post("/new")
def item_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: EvidenceItemForm = Posted(EvidenceItemForm)) -> Response:
    item = service.create_item(db, user.id, person, data, organisation_today())
    audit.record("evidence.item_created", item, evidence_item_id=item.id, kind=item.kind.value)
    return done(_item_url(person, item), f"{KIND_LABELS[item.kind]} added.")


# Declared before /{item_id} so that "body-map" is never read as an item id.
@router.get("/body-map")
def body_map(request: Request, person: CaseInScope, db: DbSession, audit: Audit,
             user: User = ViewPerson) -> Response:
    entries = service.body_map(db, person)
    audit.record("evidence.body_map_viewed", person, findings=len(entries))
    return render(request, "evidence/body_map.html", {
        "person": person, "details": load_details(db, person), "entries": entries, "findings": len(entries),
        "kind_labels": KIND_LABELS, "may_record": service.may_record(user), "diagram": _diagram_geometry(),
    })


def _diagram_geometry() -> dict[str, Any]:
    return {"width": body_regions.DIAGRAM_WIDTH, "height": body_regions.DIAGRAM_HEIGHT,
            "front": body_regions.VIEW_CENTRE[body_regions.View.front],
            "back": body_regions.VIEW_CENTRE[body_regions.View.back]}


def _item_page(request: Request, db: Session, user: User, person: Person, item: EvidenceItem, *,
               errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "evidence/item.html", {
        "person": person, "details": load_details(db, person), "item": item,
        "kind_label": KIND_LABELS[item.kind], "sensitivity_label": SENSITIVITY_LABELS[item.sensitivity],
        "recorded_by": service.author_name(db, item.created_by_id),
        "entries": service.item_diagram(db, item), "documents": service.documents_of_item(db, item.id),
        "diagram": _diagram_geometry(), "region_groups": body_regions.region_groups(),
        "lesion_types": [(t.value, label) for t, label in LESION_TYPE_LABELS.items()],
        "lesion_ages": [(a.value, label) for a, label in LESION_AGE_LABELS.items()],
        "photographs": [(str(d.id), d.filename) for d in service.photographs_of_item(db, item.id)],
        "consistencies": [(c.value, label) for c, label in CONSISTENCY_LABELS.items()],
        "evaluation_label": (OVERALL_EVALUATION_LABELS[item.overall_evaluation] if item.overall_evaluation
                             else None),
        "values": {}, "errors": errors or {},
        "may_record": service.may_record(user), "upload_limit": storage.limit_words(get_settings().upload_limit_bytes),
        "upload_action": f"{_item_url(person, item)}/documents",
        "size_words": storage.size_words, "type_label": storage.type_label,
    }, status_code=status_code)


@router.get("/{item_id}")
def item_show(request: Request, person: CaseInScope, item: CaseItem, db: DbSession, audit: Audit,
              user: User = ViewPerson) -> Response:
    audit.record("evidence.viewed", item, evidence_item_id=item.id)
    return _item_page(request, db, user, person, item)


@router.get("/{item_id}/edit", dependencies=[RecordClinical])
def item_edit(request: Request, person: CaseInScope, item: CaseItem, db: DbSession) -> Response:
    # The saved values with the version they were read at: the conflict table of a stale form compares them.
    values = _plain(service.item_snapshot(item)) | {"version": person.version}
    return _item_form(request, db, person, item, values)


@router.post("/{item_id}/edit")
def item_update(person: CaseInScope, item: CaseItem, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: EvidenceItemForm = Posted(EvidenceItemForm)) -> Response:
    changed = service.update_item(db, user.id, person, item, data, organisation_today())
    if changed:
        audit.record("evidence.item_changed", item, evidence_item_id=item.id, fields=changed)
    return done(_item_url(person, item), "Changes saved." if changed else "Nothing was changed.")


# --- findings ------------------------------------------------------------------------------------

@router.post("/{item_id}/findings")
@shown_on("/people/{reference}/evidence/{item_id}")
def finding_add(person: CaseInScope, item: CaseItem, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: FindingForm = Posted(FindingForm, lists=frozenset({"photographs"}))) -> Response:
    finding = service.add_finding(db, user.id, person, item, data)
    audit.record("evidence.finding_added", finding, person=person, evidence_item_id=item.id, finding_id=finding.id)
    return done(f"{_item_url(person, item)}#findings", "Finding added.")


@router.get("/{item_id}/findings/{finding_id}/remove", dependencies=[RecordClinical])
def finding_remove_confirm(request: Request, person: CaseInScope, item: CaseItem, finding: CaseFinding,
                           db: DbSession) -> Response:
    return render(request, "evidence/finding_remove.html", {
        "person": person, "details": load_details(db, person), "item": item, "finding": finding,
        "kind_label": KIND_LABELS[item.kind],
        "entry": service.DiagramEntry(0, finding, item, body_regions.BY_CODE.get(finding.region_code or "")),
    })


@router.post("/{item_id}/findings/{finding_id}/remove")
def finding_remove(person: CaseInScope, item: CaseItem, finding: CaseFindingIfAny, db: DbSession, audit: Audit,
                   user: User = RecordClinical) -> Response:
    back = f"{_item_url(person, item)}#findings"
    if finding is None:
        return done(back, "That finding was already removed.", kind="warning")
    finding_id = finding.id
    service.remove_finding(db, user.id, person, finding)
    audit.record("evidence.finding_removed", person=person, object_type="finding", object_id=finding_id,
                 evidence_item_id=item.id, finding_id=finding_id)
    return done(back, "Finding removed. The history of changes keeps what it said.")


# --- documents -----------------------------------------------------------------------------------

def _store_upload(db: Session, audit: AuditContext, user: User, person: Person, upload: storage.BoundedUpload, *,
                  evidence_item_id: int | None = None, visit_id: int | None = None) -> storage.UploadRefused | None:
    """Check and store an upload, recording either outcome; returns the refusal, or None when it was stored.
    A refusal is answered with a page, not raised: its audit row must be kept with the request's transaction."""
    parent = {"evidence_item_id": evidence_item_id} if evidence_item_id is not None else {"visit_id": visit_id}
    try:
        checked = storage.check_upload(upload, limit_bytes=get_settings().upload_limit_bytes)
        document = service.store_document(db, user.id, person, checked, **parent)
    except storage.UploadRefused as refused:
        # The file name is not recorded: it can carry personal data. The reason and the size received are enough.
        audit.record("document.upload_refused", person=person, outcome=Outcome.failure, reason=refused.reason,
                     received_bytes=upload.received_bytes, **parent)
        return refused
    # What was taken out of a PDF to make it inert, by kind (never its content), when anything was.
    removed: dict[str, Any] = {"removed": list(checked.removed)} if checked.removed else {}
    audit.record("document.uploaded", document, document_id=document.id, content_type=document.content_type,
                 size_bytes=document.size_bytes, sha256=document.sha256, **parent, **removed)
    return None


@router.post("/{item_id}/documents", dependencies=[UploadBody])
def item_document_upload(request: Request, person: CaseInScope, item: CaseItem, db: DbSession, audit: Audit,
                         upload: storage.BoundedUpload = UploadBody, user: User = RecordClinical) -> Response:
    refused = _store_upload(db, audit, user, person, upload, evidence_item_id=item.id)
    if refused is not None:
        return _item_page(request, db, user, person, item, errors={"file": refused.message},
                          status_code=refused.status_code)
    return done(f"{_item_url(person, item)}#documents", "File uploaded.")


def _visit_documents_page(request: Request, db: Session, user: User, person: Person, visit: Visit, *,
                          errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "evidence/visit_documents.html", {
        "person": person, "details": load_details(db, person), "visit": visit,
        "documents": service.documents_of_visit(db, visit.id), "values": {}, "errors": errors or {},
        "may_record": service.may_record(user),
        "upload_limit": storage.limit_words(get_settings().upload_limit_bytes),
        "upload_action": f"/people/{person.reference}/documents/visit/{visit.id}",
        "size_words": storage.size_words, "type_label": storage.type_label,
    }, status_code=status_code)


@documents_router.get("/visit/{visit_id}")
def visit_documents(request: Request, person: CaseInScope, visit: CaseVisit, db: DbSession,
                    user: User = ViewPerson) -> Response:
    return _visit_documents_page(request, db, user, person, visit)


@documents_router.post("/visit/{visit_id}", dependencies=[UploadBody])
def visit_document_upload(request: Request, person: CaseInScope, visit: CaseVisit, db: DbSession, audit: Audit,
                          upload: storage.BoundedUpload = UploadBody, user: User = RecordClinical) -> Response:
    refused = _store_upload(db, audit, user, person, upload, visit_id=visit.id)
    if refused is not None:
        return _visit_documents_page(request, db, user, person, visit, errors={"file": refused.message},
                                     status_code=refused.status_code)
    return done(f"/people/{person.reference}/documents/visit/{visit.id}", "File uploaded.")


@documents_router.get("/{document_id}", dependencies=[ViewPerson])
def document_download(person: CaseInScope, document: CaseDocument, audit: Audit) -> Response:
    audit.record("document.downloaded", document, document_id=document.id)
    filename = storage.download_name(document.original_filename, document.content_type)
    return Response(content=document.content, media_type=document.content_type, headers={
        "Content-Disposition": storage.content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })


# --- Rule 35 records -----------------------------------------------------------------------------

def _rule35_form(request: Request, db: Session, person: Person, record: Rule35Record | None,
                 values: dict[str, Any]) -> Response:
    reports = service.rule35_reports(db, person)
    return render(request, "evidence/rule35_form.html", {
        "person": person, "details": load_details(db, person), "record": record, "values": values,
        "errors": {}, "limbs": [(limb.value, label) for limb, label in RULE35_LIMB_LABELS.items()],
        "outcomes": [(o.value, label) for o, label in OUTCOME_LABELS.items()],
        "levels": [(1, "Level 1"), (2, "Level 2"), (3, "Level 3")],
        "reports": [(item.id, KIND_LABELS[item.kind] + (f", {item.author}" if item.author else "")
                     + (f", issued {day(item.issued_date)}" if item.issued_date else "")) for item in reports],
    })


@rule35_router.get("/new", dependencies=[RecordClinical])
def rule35_new(request: Request, person: CaseInScope, db: DbSession) -> Response:
    return _rule35_form(request, db, person, None, {})


@rule35_router.post("/new")
def rule35_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                  data: Rule35Form = Posted(Rule35Form)) -> Response:
    record = service.create_rule35(db, user.id, person, data, organisation_today())
    audit.record("rule35.created", record, rule35_id=record.id)
    return done(f"/people/{person.reference}#rule35", "Rule 35 report recorded.")


@rule35_router.get("/{record_id}/edit", dependencies=[RecordClinical])
def rule35_edit(request: Request, person: CaseInScope, record: CaseRule35, db: DbSession) -> Response:
    # The saved values with the version they were read at: the conflict table of a stale form compares them.
    values = _plain(service.rule35_snapshot(record)) | {"version": person.version}
    return _rule35_form(request, db, person, record, values)


@rule35_router.post("/{record_id}/edit")
def rule35_update(person: CaseInScope, record: CaseRule35, db: DbSession, audit: Audit, user: User = RecordClinical,
                  data: Rule35Form = Posted(Rule35Form)) -> Response:
    changed = service.update_rule35(db, user.id, person, record, data, organisation_today())
    if changed:
        audit.record("rule35.changed", record, rule35_id=record.id, fields=changed)
    return done(f"/people/{person.reference}#rule35", "Changes saved." if changed else "Nothing was changed.")
