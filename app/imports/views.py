"""Spreadsheet import pages under /admin/import: upload and history, the column mapping, the dry run, the
import itself and its undo (admins and coordinators)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.audit.deps import Audit
from app.audit.models import Outcome
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import organisation_today
from app.db import DbSession
from app.errors import RuleBroken, StaleForm, found
from app.evidence import storage
from app.imports import background as importing
from app.imports import progress, reader, service
from app.imports.models import ImportRun, RunStatus
from app.imports.rows import FIELD_LABELS, guesses
from app.imports.schemas import MappingForm, RunForm, UndoForm
from app.web.forms import Posted, shown_on
from app.web.params import Id, query_id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/admin/import")
ImportRecords = Depends(require(Permission.import_records))
SavedParam = Annotated[str | None, Query(max_length=10)]
BASE = "/admin/import"
STATUS_LABELS = {RunStatus.uploaded: "Uploaded, columns not mapped", RunStatus.checked: "Checked, not imported",
                 RunStatus.completed: "Imported", RunStatus.undone: "Undone"}


async def import_upload(request: Request) -> storage.BoundedUpload:
    """The upload form's body, read within the import's own size limit while it streams in (see
    app/evidence/storage.py bounded_upload, which does the same within the documents' limit)."""
    upload = await storage._read(request, reader.LIMIT_BYTES)  # noqa: SLF001 - the shared bounded reader
    request._form = FormData(list(upload.fields))  # noqa: SLF001 - Starlette's cache for request.form()
    return upload


UploadBody = Depends(import_upload)


def run_or_404(run_id: Id, db: DbSession, user: User = ImportRecords) -> ImportRun:
    # The permission (and with it the CSRF check) comes first: nobody learns which runs exist by probing.
    return found(service.get_run(db, run_id))


ImportRunParam = Annotated[ImportRun, Depends(run_or_404)]


def _run_path(run: ImportRun) -> str:
    return f"{BASE}/{run.id}"


# --- upload and history --------------------------------------------------------------------------------

def _history_page(request: Request, db: Session, *, errors: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    return render(request, "imports/index.html", {
        "runs": service.history(db), "status_labels": STATUS_LABELS, "values": {}, "errors": errors or {},
        "limit_mb": reader.LIMIT_BYTES // (1024 * 1024), "max_rows": reader.MAX_ROWS,
    }, status_code=status_code)


@router.get("")
def import_index(request: Request, db: DbSession, user: User = ImportRecords) -> Response:
    return _history_page(request, db)


@router.post("", dependencies=[UploadBody])
def import_upload_file(request: Request, db: DbSession, audit: Audit, upload: storage.BoundedUpload = UploadBody,
                       user: User = ImportRecords) -> Response:
    try:
        if upload.problem is storage.UploadProblem.too_large:
            raise reader.too_large()
        if upload.problem is not None or upload.file is None:
            refusal = storage.refusal_for(upload.problem or storage.UploadProblem.no_file, reader.LIMIT_BYTES)
            raise reader.ImportRefused(refusal.reason, "Choose the spreadsheet to import."
                                       if refusal.reason == "no_file" else refusal.message)
        extra = sorted({name for name, _ in upload.fields} - {"csrf_token"})
        if extra:
            raise reader.ImportRefused("unexpected_fields", "The form sent a field this page does not accept.")
        sheet = reader.read(upload.file.filename, upload.file.data)
    except reader.ImportRefused as refused:
        # Neither the file nor its name is kept: the reason and the size received say enough.
        audit.record("import.refused", outcome=Outcome.failure, object_type="import_run", reason=refused.reason,
                     received_bytes=upload.received_bytes)
        return _history_page(request, db, errors={"file": refused.message}, status_code=refused.status_code)
    run = service.create_run(db, user, sheet, hashlib.sha256(upload.file.data).hexdigest())
    audit.record("import.uploaded", run, kind=sheet.kind, rows=len(sheet.rows), columns=len(sheet.headings),
                 sha256=run.file_sha256)
    return done(f"{_run_path(run)}/mapping", f"Read {len(sheet.rows):,} rows. Now say which field each column holds.")


# --- the mapping ---------------------------------------------------------------------------------------

@router.get("/{run_id}/mapping")
def import_mapping(request: Request, run: ImportRunParam, db: DbSession, user: User = ImportRecords,
                   saved: SavedParam = None) -> Response:
    if run.status not in (RunStatus.uploaded, RunStatus.checked) or not service.rows_kept(run):
        return done(_run_path(run), "This file can no longer be mapped.", kind="info")
    sheet = service.sheet_of(run)
    chosen_saved = next((m for m in service.saved_mappings(db) if m.id == query_id(saved)), None)
    if chosen_saved is not None:
        chosen = service.mapping_for(chosen_saved, sheet.headings)
    else:
        chosen = service.run_mapping(run) or guesses(sheet.headings)
    values: dict[str, Any] = {f"col_{index}": name for index, name in enumerate(chosen)}
    values["version"] = run.version
    return render(request, "imports/mapping.html", {
        "run": run, "headings": sheet.headings, "fields": list(FIELD_LABELS.items()), "values": values,
        "errors": {}, "saved_mappings": [(m.id, m.name) for m in service.saved_mappings(db)],
        "saved_values": {"saved": chosen_saved.id if chosen_saved else ""},
    })


@router.post("/{run_id}/mapping")
def import_mapping_save(run: ImportRunParam, db: DbSession, audit: Audit, user: User = ImportRecords,
                        data: Any = Posted(MappingForm)) -> Response:
    if data.version != run.version:
        raise StaleForm("This import changed since the page was loaded.")
    sheet = service.sheet_of(run)
    chosen = data.chosen(len(sheet.headings))
    service.check_mapping(sheet.headings, chosen)
    result = service.dry_run(db, sheet, chosen, organisation_today())
    service.set_mapping(run, chosen, result)
    if data.save_as:
        saved = service.save_mapping(db, user, data.save_as, sheet.headings, chosen)
        audit.record("import.mapping_saved", saved, columns=sum(1 for name in chosen if name))
    db.flush()
    audit.record("import.dry_run", run, rows=run.row_count, errors=result.error_count,
                 duplicates=len(result.duplicates))
    return done(_run_path(run), "Dry run done: nothing has been imported yet.")


# --- the dry run, the import and the undo ----------------------------------------------------------------

@router.get("/{run_id}")
def import_run_page(request: Request, run: ImportRunParam, db: DbSession, user: User = ImportRecords) -> Response:
    running = progress.read(run.id) if run.status is RunStatus.checked else None
    context: dict[str, Any] = {"run": run, "status_labels": STATUS_LABELS, "errors": {}, "running": running,
                               "values": {"version": run.version}, "rows_kept": service.rows_kept(run)}
    report = service.report_of(run) if run.status is RunStatus.checked and running is None else None
    if report is not None:
        context.update(duplicates=report.duplicates, messages=report.messages[:service.SHOWN_MESSAGES],
                       more=max(0, len(report.messages) - service.SHOWN_MESSAGES), people=report.rows)
    elif run.status in (RunStatus.completed, RunStatus.undone):
        context.update(records=service.records_of(run),
                       undo_problem=service.undo_problem(db, run) if run.status is RunStatus.completed else None)
    return render(request, "imports/run.html", context)


@router.post("/{run_id}/run")
@shown_on("/admin/import/{run_id}")
def import_run(request: Request, run: ImportRunParam, db: DbSession, audit: Audit, background: BackgroundTasks,
               user: User = ImportRecords, data: RunForm = Posted(RunForm)) -> Response:
    if run.duplicate_count and not data.duplicates_checked:
        raise RuleBroken.on("duplicates_checked", "Check the likely duplicates listed below, then tick the box to "
                                                  "import these rows as new people.")
    service.check_startable(run, data.version)
    if progress.read(run.id) is not None:
        return done(_run_path(run), "This import is already running: this page shows how far it has got.")
    audit.record("import.started", run, rows=run.row_count)
    # After this request has committed and answered: the import is one long transaction of its own.
    background.add_task(importing.perform, importing.Started(
        run.id, user.id, data.version, organisation_today(), audit.ip_address, audit.correlation_id))
    return done(_run_path(run), "The import has started. This page shows how far it has got, and then what it "
                                "made; nothing is saved unless every row is.")


@router.post("/{run_id}/undo")
@shown_on("/admin/import/{run_id}")
def import_undo(request: Request, run: ImportRunParam, db: DbSession, audit: Audit, user: User = ImportRecords,
                data: UndoForm = Posted(UndoForm)) -> Response:
    removed = service.undo(db, user, run, data.version, ip_address=audit.ip_address,
                           correlation_id=audit.correlation_id)
    audit.record("import.undone", run, people=removed)
    return done(_run_path(run), f"Import undone: {removed:,} people removed.")
