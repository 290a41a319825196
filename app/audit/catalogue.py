"""Every audit event the application writes, with the detail keys each must carry."""

from __future__ import annotations

CATALOGUE: dict[str, frozenset[str]] = {
    "auth.sign_in": frozenset(),
    "auth.sign_in_failed": frozenset({"reason"}),
    "auth.sign_in_throttled": frozenset({"scope"}),
    "auth.sign_out": frozenset(),
    "auth.session_expired": frozenset({"reason"}),
    # --- two-factor sign-in (app/auth/mfa.py) ---
    "auth.password_accepted": frozenset({"next_step"}),
    "auth.mfa_verified": frozenset({"method", "recovery_codes_left"}),
    "auth.mfa_failed": frozenset({"reason", "step"}),
    "auth.mfa_enrolled": frozenset({"via"}),
    "admin.user_mfa_reset": frozenset({"was_enrolled", "sessions_ended"}),
    "security.csrf_rejected": frozenset({"reason", "path"}),
    "security.permission_denied": frozenset({"permission", "path"}),
    "admin.user_created": frozenset({"role"}),
    "admin.user_changed": frozenset({"changes"}),
    "admin.user_deactivated": frozenset({"sessions_ended"}),
    "admin.user_reactivated": frozenset(),
    "admin.facility_created": frozenset({"name", "type"}),
    "admin.facility_changed": frozenset({"changes"}),
    "admin.facility_closed": frozenset({"closed_date"}),
    "admin.facility_reopened": frozenset({"previous_closed_date"}),
    "person.created": frozenset(),
    "person.changed": frozenset({"fields"}),
    "person.viewed": frozenset(),
    "person.clinician_assigned": frozenset({"clinician_id"}),
    "person.clinician_unassigned": frozenset({"clinician_id"}),
    # --- legal holds and erasure (app/casefile/erasure.py). No free text and no names: the hold's reason stays
    # with the record (and goes when it is erased); an erasure keeps only its category and row counts.
    "person.legal_hold_set": frozenset({"hold_id"}),
    "person.legal_hold_lifted": frozenset({"hold_id"}),
    "person.erasure_viewed": frozenset({"held"}),
    "person.erased": frozenset({"reason", "rows"}),
    "person.erasure_refused": frozenset({"reason"}),
    "people.listed": frozenset({"filters", "results"}),
    "people.exported": frozenset({"format", "filters", "rows"}),
    # --- spreadsheet import (app/imports). Counts only: a run's audit rows never hold a name or a cell.
    "import.uploaded": frozenset({"kind", "rows", "columns", "sha256"}),
    "import.refused": frozenset({"reason", "received_bytes"}),
    "import.dry_run": frozenset({"rows", "errors", "duplicates"}),
    "import.started": frozenset({"rows"}),
    "import.completed": frozenset({"rows", "people", "records"}),
    "import.failed": frozenset({"rows", "errors"}),
    "import.undone": frozenset({"people"}),
    "import.mapping_saved": frozenset({"columns"}),
    # --- break-glass (app/people/emergency.py): every use of emergency access carries its reason ---
    # The reason and the review note are free text about a person: they stay sealed on the grant (access_id),
    # never copied into the audit log, which is not sealed.
    "emergency_access.opened": frozenset({"access_id", "expires_at"}),
    "emergency_access.used": frozenset({"access_id", "path"}),
    "emergency_access.reviewed": frozenset({"access_id", "clinician_id", "has_note", "was_live"}),
    # --- subject access (app/casefile/subject_access.py) ---
    "person.subject_access_exported": frozenset({"documents", "size_bytes", "sha256"}),
    "person.subject_access_refused": frozenset({"reason", "size_bytes", "limit_bytes"}),
    "detention.episode_started": frozenset({"episode_id"}),
    "detention.episode_ended": frozenset({"episode_id", "reason"}),
    "detention.transferred": frozenset({"episode_id", "placement_id"}),
    "detention.bail_recorded": frozenset({"episode_id", "bail_outcome"}),
    "detention.gp_exam_recorded": frozenset({"episode_id", "placement_id"}),
    # --- visits and health events (app/visits, app/health_events) ---
    "visit.created": frozenset(),
    "visit.changed": frozenset({"fields"}),
    "visit.signed": frozenset({"content_sha256"}),
    "visit.seal_broken": frozenset({"kept", "now"}),
    "visit.viewed": frozenset(),
    "visit.addendum_added": frozenset({"addendum_id"}),
    # --- planned visits and the week calendar (app/visits/planned*.py). The calendar file holds the case
    # reference and the centre only; `week` is an ISO week ("2026-W49").
    "planned_visit.created": frozenset(),
    "planned_visit.viewed": frozenset(),
    "planned_visit.changed": frozenset({"fields"}),
    "planned_visit.cancelled": frozenset(),
    "planned_visit.logged": frozenset({"visit_id"}),
    "planned_visit.ics_downloaded": frozenset(),
    # --- letters (app/medicolegal/letters.py): the template used, never the text
    "letter.drafted": frozenset({"template"}),
    "letter.changed": frozenset(),
    "letter.issued": frozenset({"content_sha256"}),
    "letter.viewed": frozenset(),
    "letter.pdf_downloaded": frozenset(),
    "letter.seal_broken": frozenset({"kept", "now"}),
    "calendar.viewed": frozenset({"week", "shown"}),
    # --- medico-legal reports (app/medicolegal/service.py): states, people and hashes, never the text
    "report.instructed": frozenset({"author_id", "due_date"}),
    "report.viewed": frozenset(),
    "report.version_viewed": frozenset({"number"}),
    "report.draft_started": frozenset(),
    "report.draft_saved": frozenset({"sections"}),
    "report.sent_for_review": frozenset({"reviewer_id", "round"}),
    "report.approved": frozenset({"comments", "round"}),
    "report.returned": frozenset({"comments", "round"}),
    "report.signed": frozenset({"content_sha256"}),
    "report.seal_broken": frozenset({"kept", "now"}),
    "report.pdf_downloaded": frozenset({"content_sha256"}),
    "report.served": frozenset({"served_date"}),
    "health_event.recorded": frozenset({"kind"}),
    "health_event.ended": frozenset({"kind"}),
    # --- evidence, documents and Rule 35 (app/evidence) ---
    "evidence.item_created": frozenset({"evidence_item_id", "kind"}),
    "evidence.item_changed": frozenset({"evidence_item_id", "fields"}),
    "evidence.viewed": frozenset({"evidence_item_id"}),
    "evidence.body_map_viewed": frozenset({"findings"}),
    "evidence.finding_added": frozenset({"evidence_item_id", "finding_id"}),
    "evidence.finding_removed": frozenset({"evidence_item_id", "finding_id"}),
    # With `removed` (the kinds of active content stripped from a PDF, app/evidence/pdf.py) when there were any.
    "document.uploaded": frozenset({"document_id", "content_type", "size_bytes", "sha256"}),
    "document.upload_refused": frozenset({"reason", "received_bytes"}),
    "document.downloaded": frozenset({"document_id"}),
    "rule35.created": frozenset({"rule35_id"}),
    "rule35.changed": frozenset({"rule35_id", "fields"}),
    # --- referrals, organisations and consent (app/referrals, app/consent) ---
    "admin.organisation_created": frozenset({"name", "type"}),
    "admin.organisation_changed": frozenset({"fields"}),
    "admin.organisation_deactivated": frozenset({"name"}),
    "admin.organisation_reactivated": frozenset({"name"}),
    "referral.created": frozenset({"referral_id", "organisation_id", "nrm"}),
    "referral.viewed": frozenset({"referral_id"}),
    "referral.sent": frozenset({"referral_id", "organisation_id"}),
    "referral.send_refused": frozenset({"referral_id", "reason", "organisation_id"}),
    "referral.status_changed": frozenset({"referral_id", "status", "previous_status"}),
    "referral.nrm_changed": frozenset({"referral_id", "fields"}),
    "case.closed": frozenset({"closed_date", "closing_reason"}),
    "removal.recorded": frozenset({"removal_id", "status"}),
    "hearing.recorded": frozenset({"hearing_id", "kind"}),
    "hearing.outcome_recorded": frozenset({"hearing_id", "hearing_outcome", "bail_updated"}),
    "removal.status_changed": frozenset({"removal_id", "status", "previous_status", "detention_ended"}),
    "case.reopened": frozenset({"closed_date", "closing_reason"}),
    # --- handover and legal representatives (app/casefile/handover.py, app/contacts) ---
    "case.handed_over": frozenset({"from_user_id", "to_user_id"}),
    "contacts.representative_created": frozenset(),
    "contacts.representative_changed": frozenset({"fields"}),
    "contacts.representative_archived": frozenset(),
    "contacts.representative_restored": frozenset(),
    "person.representative_changed": frozenset({"legal_representative_id"}),
    # --- daily work: case notes, tasks, reminders (app/work) ---
    "note.recorded": frozenset({"note_id", "kind", "with_whom"}),
    "note.addendum_added": frozenset({"note_id", "addendum_id"}),
    "task.created": frozenset({"task_id", "from_alert"}),
    "task.done": frozenset({"task_id"}),
    "task.reopened": frozenset({"task_id"}),
    "task.list_viewed": frozenset({"shown"}),
    "work_queue.viewed": frozenset({"tasks", "alerts", "caseload"}),
    "reminders.sent": frozenset({"messages", "failed"}),
    "account.reminders_changed": frozenset({"choice"}),
    # --- requests for help (app/intake) ---
    "request.recorded": frozenset({"channel", "urgency"}),
    "request.submitted_online": frozenset({"urgency", "with_document"}),
    "request.online_refused": frozenset({"reason"}),
    "request.queue_viewed": frozenset({"shown"}),
    "request.viewed": frozenset(),
    "request.document_downloaded": frozenset(),
    "request.decided": frozenset({"decision", "opened_new"}),
    "consent.recorded": frozenset({"consent_id", "purpose"}),
    "consent.withdrawn": frozenset({"consent_id", "purpose"}),
    # --- anonymised summaries and narratives (app/reports) ---
    "summary.released": frozenset({"release_id", "output_format", "output_sha256", "parameters", "overridden"}),
    "summary.refused": frozenset({"reason", "parameters"}),
    "summary.viewed": frozenset({"release_id", "withdrawn"}),
    "summary.downloaded": frozenset({"release_id", "withdrawn"}),
    "summary.download_refused": frozenset({"release_id", "reason"}),
    "narrative.created": frozenset({"narrative_id"}),
    "narrative.viewed": frozenset({"narrative_id", "status"}),
    "narrative.redactions_changed": frozenset({"narrative_id", "terms", "keep_facility"}),
    "narrative.submitted": frozenset({"narrative_id", "replacements"}),
    "narrative.returned": frozenset({"narrative_id"}),
    "narrative.approved": frozenset({"narrative_id"}),
    "narrative.refused": frozenset({"narrative_id", "reason"}),
    "narrative.exported": frozenset({"narrative_id", "release_id", "output_format", "output_sha256"}),
    # Internal operational figures (app/reports/operations.py): counts over every case, never published.
    "reports.operations_viewed": frozenset({"year"}),
    # --- the audit viewer and session administration (app/audit/views.py, app/auth/views.py) ---
    "audit.viewed": frozenset({"filters", "page"}),
    "audit.exported": frozenset({"filters"}),
    "admin.session_ended": frozenset({"session_user_id"}),
    "admin.user_sessions_ended": frozenset({"sessions_ended"}),
    "admin.user_password_set": frozenset({"sessions_ended"}),
    # --- the JSON API (app/api): tokens by their id only, never the token's text ---
    "api.token_created": frozenset({"token_id", "access", "domains"}),
    "api.token_revoked": frozenset({"token_id"}),
    "api.refused": frozenset({"reason"}),
}


class UnknownAuditEvent(ValueError):
    pass


def check(action: str, details: dict[str, object]) -> None:
    try:
        required = CATALOGUE[action]
    except KeyError:
        raise UnknownAuditEvent(f"{action!r} is not in the audit catalogue") from None
    missing = required - details.keys()
    if missing:
        raise UnknownAuditEvent(f"audit event {action!r} is missing {sorted(missing)}")
