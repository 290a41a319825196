"""The content seal of a signed medico-legal report: a SHA-256 of one canonical form of everything the author
signed, taken at sign-off and kept with the report, so that a later change of the stored content shows.

The canonical form (version 1) is UTF-8 JSON with sorted keys and no spaces, of: the report's id, person, author,
linked visit, the instruction (legal representative, questions, received and due dates, the papers received),
the seven Annex IV sections, the reviewer and the time of approval, and who signed it and when (UTC, ISO 8601 to
the microsecond). Sealed text is taken as it opens, so rotating keys keeps the seal. The served date and outcome
come after signing and are not part of it.

Like the visit seal (app/visits/seal.py), this shows tampering; it is not a signature: the audit trail's hash
chain is what records who signed and when.
"""

from __future__ import annotations

import hashlib

from app.medicolegal.models import MedicoLegalReport
from app.visits.seal import SealCheck, SealState, canonical_json, compare

FORM = "medicolegal-report-seal-v1"

__all__ = ["FORM", "SealCheck", "SealState", "canonical", "check", "digest"]


def canonical(report: MedicoLegalReport) -> bytes:
    return canonical_json({
        "form": FORM, "report_id": report.id, "person_id": report.person_id, "author_id": report.author_id,
        "visit_id": report.visit_id, "legal_representative_id": report.legal_representative_id,
        "questions": report.questions, "received_date": report.received_date, "due_date": report.due_date,
        "papers": report.papers(), "sections": report.sections(), "reviewer_id": report.reviewer_id,
        "approved_at": report.approved_at, "signed_by_id": report.signed_by_id, "signed_at": report.signed_at,
    })


def digest(report: MedicoLegalReport) -> str:
    return hashlib.sha256(canonical(report)).hexdigest()


def check(report: MedicoLegalReport) -> SealCheck:
    """The seal of a signed report checked against its content as stored now."""
    return compare(report.content_sha256, canonical(report))
