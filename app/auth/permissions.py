"""The role -> permission map: the one place that says who may do what."""

from __future__ import annotations

import enum

from app.auth.models import Role


class Permission(enum.StrEnum):
    view_home = "view_home"
    view_caseload = "view_caseload"  # people lists and dashboards (clinicians: their own people only)
    view_person = "view_person"
    edit_person = "edit_person"
    record_clinical = "record_clinical"
    view_summaries = "view_summaries"
    prepare_narratives = "prepare_narratives"  # draft, redact and approve de-identified case narratives
    manage_users = "manage_users"
    manage_reference_data = "manage_reference_data"
    view_audit = "view_audit"
    # Break-glass: a clinician opening a person not assigned to them in an emergency, for a limited time.
    break_glass = "break_glass"
    review_emergency_access = "review_emergency_access"
    export_subject_access = "export_subject_access"  # a person's whole record for them (UK GDPR Art. 15)
    manage_legal_holds = "manage_legal_holds"  # set and lift the hold that keeps a record from erasure
    erase_people = "erase_people"  # erase a person's whole record (administrators only)
    # Requests for help: clinicians see those attached to their own people; coordinators triage every one.
    view_requests = "view_requests"
    triage_requests = "triage_requests"
    manage_contacts = "manage_contacts"  # the register of legal representatives
    export_caseload = "export_caseload"  # the people list, every matching row, as CSV or XLSX
    view_operations = "view_operations"  # internal monthly figures over all cases (not for publication)
    import_records = "import_records"  # bring people in from a spreadsheet, and undo an import


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Admins and coordinators see every person already: they never need to break glass.
    Role.admin: frozenset(Permission) - {Permission.break_glass},
    Role.coordinator: frozenset({
        Permission.view_home, Permission.view_caseload, Permission.view_person, Permission.edit_person,
        Permission.record_clinical, Permission.view_summaries, Permission.prepare_narratives,
        Permission.review_emergency_access,
        Permission.export_subject_access,
        Permission.manage_legal_holds,
        Permission.view_requests, Permission.triage_requests, Permission.manage_contacts,
        Permission.export_caseload, Permission.view_operations,
        Permission.import_records,
    }),
    Role.clinician: frozenset({
        Permission.view_home, Permission.view_caseload, Permission.view_person, Permission.record_clinical,
        Permission.break_glass, Permission.view_requests,
    }),
    # Researchers never see a person: aggregates and released narratives only.
    Role.researcher: frozenset({Permission.view_home, Permission.view_summaries}),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
