"""The import itself, run after the request that starts it has answered (FastAPI's background tasks): its own
transaction, committed here as the command line's are, because no request holds it open."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from app.audit.deps import AuditContext
from app.audit.models import Outcome
from app.auth.models import User
from app.db import get_sessionmaker
from app.errors import StaleForm
from app.imports import progress, service
from app.imports.models import RunStatus

UNEXPECTED = ("The import stopped on an unexpected error, so nothing was imported. Try again; if it happens again, "
              "tell an administrator (the error is in the application's log).")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """Who started an import, from where, and the run as their page showed it."""

    run_id: int
    actor_id: int
    version: int | None
    today: date
    ip_address: str
    correlation_id: str | None


def perform(started: Started) -> None:
    """All rows or none, the progress in a file (app/imports/progress.py), the outcome audited as a page's
    would be. A run already imported or undone meanwhile (a second click) is left as it is."""
    with get_sessionmaker()() as db:
        audit = AuditContext(db, started.actor_id, started.ip_address, started.correlation_id)
        run = service.get_run(db, started.run_id, for_update=True)
        actor = db.get(User, started.actor_id)
        if run is None or actor is None:
            return
        total = run.row_count
        try:
            progress.write(run.id, 0, total)
            imported = service.run_import(db, actor, run, started.version, started.today,
                                          on_row=lambda done: progress.write(started.run_id, done, total))
            audit.record("import.completed", run, rows=run.row_count, people=imported.people,
                         records=imported.records)
            db.commit()
        except StaleForm:
            db.rollback()
        except Exception as error:  # noqa: BLE001 - any failure leaves nothing imported, and says so
            db.rollback()
            messages = error.messages if isinstance(error, service.ImportFailed) else [UNEXPECTED]
            if not isinstance(error, service.ImportFailed):
                logger.exception("import %s stopped on an unexpected error correlation_id=%s", started.run_id,
                                 started.correlation_id)
            run = service.get_run(db, started.run_id, for_update=True)
            if run is not None and run.status is RunStatus.checked:
                service.record_failure(run, messages)
                audit.record("import.failed", run, outcome=Outcome.failure, rows=run.row_count, errors=len(messages))
                db.commit()
        finally:
            progress.clear(started.run_id)
