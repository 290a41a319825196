"""Evidence pages on a person's record: evidence items and their findings, the body map, document uploads and
downloads, Rule 35 records, and the person-page sections that list them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.audit import service as audit
from app.audit.models import Outcome
from app.auth.deps import client_ip, require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import get_settings
from app.db import DbSession
from app.evidence import service, storage
from app.evidence.models import RULE35_LIMB_LABELS, EvidenceItem, Rule35Record
from app.evidence.schemas import (
    BODY_REGIONS,
    CONSISTENCY_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    SENSITIVITY_LABELS,
    EvidenceItemForm,
    FindingForm,
    Rule35Form,
    day,
)
from app.people import sections
from app.people.models import Person
from app.people.service import VersionConflict, load_details
from app.people.views import person_or_refuse, stale_page
from app.web import flash
from app.web.forms import PostedForm, validate_form
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/evidence")
documents_router = APIRouter(prefix="/people/{reference}/documents")
rule35_router = APIRouter(prefix="/people/{reference}/rule35")

ViewPerson = Depends(require(Permission.view_person))
RecordClinical = Depends(require(Permission.record_clinical))
# Upload routes list this first in `dependencies`, so that it reads the body (within the limit) before the
# permission's CSRF check would read all of it.
UploadBody = Depends(storage.bounded_upload)

sections.register("evidence", order=20, template="evidence/_section.html", build=service.evidence_section)
sections.register("rule35", order=25, template="evidence/_rule35_section.html", build=service.rule35_section)


def _audit(db: DbSession, request: Request, action: str, user: User, person: Person, *, object_type: str,
           object_id: int | str, outcome: Outcome = Outcome.success, **details: Any) -> None:
    audit.record(db, action, actor_id=user.id, outcome=outcome, person_id=person.id, object_type=object_type,
                 object_id=object_id, ip_address=client_ip(request), correlation_id=request.state.correlation_id,
                 **details)


def _redirect(path: str, message: str, kind: str = "success") -> Response:
    response = RedirectResponse(path, status_code=303)
    flash.add(response, message, kind=kind)
    return response


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


def _item_or_404(db: DbSession, person: Person, item_id: int) -> EvidenceItem:
    item = service.get_item(db, person, item_id)
    if item is None:
        raise HTTPException(status_code=404)
    return item


# --- evidence items ------------------------------------------------------------------------------

def _item_form(request: Request, db: DbSession, person: Person, item: EvidenceItem | None, *,
               values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    return render(request, "evidence/item_form.html", {
        "person": person, "details": load_details(db, person), "item": item, "values": values, "errors": errors,
        "kinds": [(k.value, label) for k, label in KIND_LABELS.items()],
        "sensitivities": [(s.value, label) for s, label in SENSITIVITY_LABELS.items()],
    }, status_code=status_code)


@router.get("/new")
def item_new(request: Request, reference: str, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _item_form(request, db, person, None, values={"sensitivity": "standard"}, errors={})


@router.post("/new")
def item_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, EvidenceItemForm)
    data = result.data
    if data is not None:
        try:
            item = service.create_item(db, user.id, person, data, service.organisation_today())
        except service.RuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _item_form(request, db, person, None, values=result.values, errors=result.errors, status_code=422)
    _audit(db, request, "evidence.item_created", user, person, object_type="evidence_item", object_id=item.id,
           evidence_item_id=item.id, kind=item.kind.value)
    return _redirect(f"/people/{reference}/evidence/{item.id}", f"{KIND_LABELS[item.kind]} added.")


# Declared before /{item_id} so that "body-map" is never read as an item id.
@router.get("/body-map")
def body_map(request: Request, reference: str, db: DbSession, user: User = ViewPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    regions = service.body_map(db, person)
    findings = sum(len(region.entries) for region in regions)
    _audit(db, request, "evidence.body_map_viewed", user, person, object_type="person",
           object_id=person.reference, findings=findings)
    return render(request, "evidence/body_map.html", {
        "person": person, "details": load_details(db, person), "regions": regions, "findings": findings,
        "kind_labels": KIND_LABELS, "may_record": service.may_record(user),
    })


def _item_page(request: Request, db: DbSession, user: User, person: Person, item: EvidenceItem, *,
               finding_values: dict[str, Any] | None = None, finding_errors: dict[str, str] | None = None,
               upload_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    finding_errors, upload_errors = finding_errors or {}, upload_errors or {}
    return render(request, "evidence/item.html", {
        "person": person, "details": load_details(db, person), "item": item,
        "kind_label": KIND_LABELS[item.kind], "sensitivity_label": SENSITIVITY_LABELS[item.sensitivity],
        "recorded_by": service.author_name(db, item.created_by_id),
        "findings": service.findings_of(db, item.id), "documents": service.documents_of_item(db, item.id),
        "regions": list(BODY_REGIONS), "region_labels": dict(BODY_REGIONS),
        "consistencies": [(c.value, label) for c, label in CONSISTENCY_LABELS.items()],
        "consistency_labels": CONSISTENCY_LABELS,
        "values": finding_values or {}, "errors": finding_errors | upload_errors,
        "finding_errors": finding_errors, "upload_errors": upload_errors,
        "may_record": service.may_record(user), "upload_limit": storage.limit_words(get_settings().upload_limit_bytes),
        "upload_action": f"/people/{person.reference}/evidence/{item.id}/documents",
        "size_words": storage.size_words, "type_label": storage.type_label,
    }, status_code=status_code)


@router.get("/{item_id}")
def item_show(request: Request, reference: str, item_id: int, db: DbSession, user: User = ViewPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    _audit(db, request, "evidence.viewed", user, person, object_type="evidence_item", object_id=item.id,
           evidence_item_id=item.id)
    return _item_page(request, db, user, person, item)


@router.get("/{item_id}/edit")
def item_edit(request: Request, reference: str, item_id: int, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    values = _plain(service.item_snapshot(item)) | {"version": person.version}
    return _item_form(request, db, person, item, values=values, errors={})


@router.post("/{item_id}/edit")
def item_update(request: Request, reference: str, item_id: int, db: DbSession, form: PostedForm,
                user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    result = validate_form(form, EvidenceItemForm)
    data = result.data
    changed: list[str] = []
    if data is not None:
        try:
            changed = service.update_item(db, user.id, person, item, data, service.organisation_today())
        except VersionConflict:
            return stale_page(request, db, f"/people/{reference}/evidence/{item.id}")
        except service.RuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _item_form(request, db, person, item, values=result.values, errors=result.errors, status_code=422)
    if changed:
        _audit(db, request, "evidence.item_changed", user, person, object_type="evidence_item", object_id=item.id,
               evidence_item_id=item.id, fields=changed)
    return _redirect(f"/people/{reference}/evidence/{item.id}", "Changes saved." if changed else "Nothing was changed.")


# --- findings ------------------------------------------------------------------------------------

@router.post("/{item_id}/findings")
def finding_add(request: Request, reference: str, item_id: int, db: DbSession, form: PostedForm,
                user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    result = validate_form(form, FindingForm)
    if result.data is None:
        return _item_page(request, db, user, person, item, finding_values=result.values,
                          finding_errors=result.errors, status_code=422)
    finding = service.add_finding(db, user.id, person, item, result.data)
    _audit(db, request, "evidence.finding_added", user, person, object_type="finding", object_id=finding.id,
           evidence_item_id=item.id, finding_id=finding.id)
    return _redirect(f"/people/{reference}/evidence/{item.id}#findings", "Finding added.")


def _finding_or_404(db: DbSession, item: EvidenceItem, finding_id: int):  # type: ignore[no-untyped-def]
    finding = service.get_finding(db, item, finding_id)
    if finding is None:
        raise HTTPException(status_code=404)
    return finding


@router.get("/{item_id}/findings/{finding_id}/remove")
def finding_remove_confirm(request: Request, reference: str, item_id: int, finding_id: int, db: DbSession,
                           user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    finding = _finding_or_404(db, item, finding_id)
    return render(request, "evidence/finding_remove.html", {
        "person": person, "details": load_details(db, person), "item": item, "finding": finding,
        "kind_label": KIND_LABELS[item.kind], "region_labels": dict(BODY_REGIONS),
        "consistency_labels": CONSISTENCY_LABELS,
    })


@router.post("/{item_id}/findings/{finding_id}/remove")
def finding_remove(request: Request, reference: str, item_id: int, finding_id: int, db: DbSession,
                   user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    finding = service.get_finding(db, item, finding_id)
    if finding is None:
        return _redirect(f"/people/{reference}/evidence/{item.id}#findings", "That finding was already removed.",
                         kind="warning")
    service.remove_finding(db, user.id, person, finding)
    _audit(db, request, "evidence.finding_removed", user, person, object_type="finding", object_id=finding_id,
           evidence_item_id=item.id, finding_id=finding_id)
    return _redirect(f"/people/{reference}/evidence/{item.id}#findings",
                     "Finding removed. The history of changes keeps what it said.")


# --- documents -----------------------------------------------------------------------------------

def _receive_upload(db: DbSession, request: Request, user: User, person: Person, upload: storage.BoundedUpload, *,
                    evidence_item_id: int | None = None, visit_id: int | None = None) -> storage.UploadRefused | None:
    """Check and store an upload; returns the refusal (already audited) or None when the file was stored."""
    limit = get_settings().upload_limit_bytes
    parent = {"evidence_item_id": evidence_item_id} if evidence_item_id is not None else {"visit_id": visit_id}
    try:
        extra = sorted({name for name, _ in upload.fields} - {"csrf_token"})
        if upload.problem is not None or upload.file is None:
            raise storage.refusal_for(upload.problem or storage.UploadProblem.no_file, limit)
        if extra:
            raise storage.UploadRefused("unexpected_fields", f"The form sent a field this page does not accept "
                                                             f"({', '.join(extra)}).")
        checked = storage.check_file(upload.file.filename, upload.file.data, limit_bytes=limit)
        document = service.store_document(db, user.id, person, checked, evidence_item_id=evidence_item_id,
                                          visit_id=visit_id)
    except service.DuplicateDocument:
        refused = storage.UploadRefused("duplicate", "This file is already attached here: it was not added again.")
    except storage.UploadRefused as exc:
        refused = exc
    else:
        _audit(db, request, "document.uploaded", user, person, object_type="document", object_id=document.id,
               document_id=document.id, content_type=document.content_type, size_bytes=document.size_bytes,
               sha256=document.sha256, **parent)
        return None
    # The file name is not recorded: it can carry personal data. The reason and the size received are enough.
    _audit(db, request, "document.upload_refused", user, person, object_type="person", object_id=person.reference,
           outcome=Outcome.failure, reason=refused.reason, received_bytes=upload.received_bytes, **parent)
    return refused


@router.post("/{item_id}/documents", dependencies=[UploadBody])
def item_document_upload(request: Request, reference: str, item_id: int, db: DbSession,
                         upload: storage.BoundedUpload = UploadBody, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    item = _item_or_404(db, person, item_id)
    refused = _receive_upload(db, request, user, person, upload, evidence_item_id=item.id)
    if refused is not None:
        return _item_page(request, db, user, person, item, upload_errors={"file": refused.message},
                          status_code=refused.status_code)
    return _redirect(f"/people/{reference}/evidence/{item.id}#documents", "File uploaded.")


def _visit_or_404(db: DbSession, person: Person, visit_id: int):  # type: ignore[no-untyped-def]
    visit = service.get_visit(db, person, visit_id)
    if visit is None:
        raise HTTPException(status_code=404)
    return visit


def _visit_documents_page(request: Request, db: DbSession, user: User, person: Person, visit: Any, *,
                          errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "evidence/visit_documents.html", {
        "person": person, "details": load_details(db, person), "visit": visit,
        "documents": service.documents_of_visit(db, visit.id), "errors": errors or {},
        "upload_errors": errors or {}, "may_record": service.may_record(user),
        "upload_limit": storage.limit_words(get_settings().upload_limit_bytes),
        "upload_action": f"/people/{person.reference}/documents/visit/{visit.id}",
        "size_words": storage.size_words, "type_label": storage.type_label,
    }, status_code=status_code)


@documents_router.get("/visit/{visit_id}")
def visit_documents(request: Request, reference: str, visit_id: int, db: DbSession,
                    user: User = ViewPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    visit = _visit_or_404(db, person, visit_id)
    return _visit_documents_page(request, db, user, person, visit)


@documents_router.post("/visit/{visit_id}", dependencies=[UploadBody])
def visit_document_upload(request: Request, reference: str, visit_id: int, db: DbSession,
                          upload: storage.BoundedUpload = UploadBody, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    visit = _visit_or_404(db, person, visit_id)
    refused = _receive_upload(db, request, user, person, upload, visit_id=visit.id)
    if refused is not None:
        return _visit_documents_page(request, db, user, person, visit, errors={"file": refused.message},
                                     status_code=refused.status_code)
    return _redirect(f"/people/{reference}/documents/visit/{visit.id}", "File uploaded.")


@documents_router.get("/{document_id}")
def document_download(request: Request, reference: str, document_id: int, db: DbSession,
                      user: User = ViewPerson) -> Response:
    person = person_or_refuse(db, request, user, reference)
    document = service.get_document(db, person, document_id)
    if document is None:
        raise HTTPException(status_code=404)
    _audit(db, request, "document.downloaded", user, person, object_type="document", object_id=document.id,
           document_id=document.id)
    filename = storage.download_name(document.original_filename, document.content_type)
    return Response(content=document.content, media_type=document.content_type, headers={
        "Content-Disposition": storage.content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })


# --- Rule 35 records -----------------------------------------------------------------------------

def _rule35_form(request: Request, db: DbSession, person: Person, record: Rule35Record | None, *,
                 values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    reports = service.rule35_reports(db, person)
    return render(request, "evidence/rule35_form.html", {
        "person": person, "details": load_details(db, person), "record": record, "values": values,
        "errors": errors, "limbs": [(limb.value, label) for limb, label in RULE35_LIMB_LABELS.items()],
        "outcomes": [(o.value, label) for o, label in OUTCOME_LABELS.items()],
        "levels": [(1, "Level 1"), (2, "Level 2"), (3, "Level 3")],
        "reports": [(item.id, KIND_LABELS[item.kind] + (f", {item.author}" if item.author else "")
                     + (f", issued {day(item.issued_date)}" if item.issued_date else "")) for item in reports],
    }, status_code=status_code)


@rule35_router.get("/new")
def rule35_new(request: Request, reference: str, db: DbSession, user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    return _rule35_form(request, db, person, None, values={}, errors={})


@rule35_router.post("/new")
def rule35_create(request: Request, reference: str, db: DbSession, form: PostedForm,
                  user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    result = validate_form(form, Rule35Form)
    data = result.data
    if data is not None:
        try:
            record = service.create_rule35(db, user.id, person, data, service.organisation_today())
        except service.RuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _rule35_form(request, db, person, None, values=result.values, errors=result.errors, status_code=422)
    _audit(db, request, "rule35.created", user, person, object_type="rule35_record", object_id=record.id,
           rule35_id=record.id)
    return _redirect(f"/people/{reference}#rule35", "Rule 35 report recorded.")


def _rule35_or_404(db: DbSession, person: Person, record_id: int) -> Rule35Record:
    record = service.get_rule35(db, person, record_id)
    if record is None:
        raise HTTPException(status_code=404)
    return record


@rule35_router.get("/{record_id}/edit")
def rule35_edit(request: Request, reference: str, record_id: int, db: DbSession,
                user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    record = _rule35_or_404(db, person, record_id)
    values = _plain(service.rule35_snapshot(record)) | {"version": person.version}
    return _rule35_form(request, db, person, record, values=values, errors={})


@rule35_router.post("/{record_id}/edit")
def rule35_update(request: Request, reference: str, record_id: int, db: DbSession, form: PostedForm,
                  user: User = RecordClinical) -> Response:
    person = person_or_refuse(db, request, user, reference)
    record = _rule35_or_404(db, person, record_id)
    result = validate_form(form, Rule35Form)
    data = result.data
    changed: list[str] = []
    if data is not None:
        try:
            changed = service.update_rule35(db, user.id, person, record, data, service.organisation_today())
        except VersionConflict:
            return stale_page(request, db, f"/people/{reference}#rule35")
        except service.RuleError as exc:
            result.errors.update(exc.errors)
    if not result.ok or data is None:
        return _rule35_form(request, db, person, record, values=result.values, errors=result.errors,
                            status_code=422)
    if changed:
        _audit(db, request, "rule35.changed", user, person, object_type="rule35_record", object_id=record.id,
               rule35_id=record.id, fields=changed)
    return _redirect(f"/people/{reference}#rule35", "Changes saved." if changed else "Nothing was changed.")
