"""The content seal of a signed visit: a SHA-256 of one canonical form of everything the clinician signed, taken
at signing and kept with the visit, so that any later change of the stored content (a database edit behind the
application, a restore mixing backups) is detected and shown.

The canonical form (version 1) is UTF-8 JSON with sorted keys and no spaces, of: the visit's id, person, clinician,
date, facility, mode, interpreter and language, duration, presenting concerns, findings, risk, actions, follow-up
date, the AAR indicators observed (sorted), and who signed it and when (UTC, ISO 8601 to the microsecond). Sealed
text is taken as it opens, so re-sealing under a new master key or rotating keys keeps the seal.

A seal shows tampering; it is not a signature: someone who can rewrite the stored content and knows this form
can rewrite the seal too. The audit trail's hash chain (app/audit/chain.py), keyed outside the database, is what
records who signed and when.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app.visits.models import Visit

FORM = "visit-seal-v1"


class SealState(enum.StrEnum):
    intact = "intact"
    changed = "changed"
    none = "none"  # nothing sealed: a visit signed before visits were sealed, a report or letter not yet signed


@dataclass(frozen=True)
class SealCheck:
    state: SealState
    kept: str | None  # the SHA-256 taken at signing
    now: str | None  # the SHA-256 of the content as stored now


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def canonical_json(content: dict[str, Any]) -> bytes:
    """The one canonical form of every content seal (visits, medico-legal reports, letters): UTF-8 JSON with
    sorted keys and no spaces, enums as their values, moments in UTC to the microsecond, dates in ISO 8601."""
    return json.dumps({k: _plain(v) for k, v in content.items()}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def compare(kept: str | None, content: bytes) -> SealCheck:
    """A kept seal against the SHA-256 of the content as it is now (`none` when nothing was sealed)."""
    if kept is None:
        return SealCheck(SealState.none, None, None)
    now = hashlib.sha256(content).hexdigest()
    return SealCheck(SealState.intact if now == kept else SealState.changed, kept, now)


def canonical(visit: Visit, indicators: list[str]) -> bytes:
    content = {
        "form": FORM, "visit_id": visit.id, "person_id": visit.person_id, "clinician_id": visit.clinician_id,
        "visit_date": visit.visit_date, "facility_id": visit.facility_id, "mode": visit.mode,
        "interpreter_used": visit.interpreter_used, "interpreter_language": visit.interpreter_language,
        "duration_minutes": visit.duration_minutes, "presenting_concerns": visit.presenting_concerns,
        "findings": visit.findings, "risk": visit.risk, "actions": visit.actions,
        "follow_up_date": visit.follow_up_date, "aar_indicators": sorted(indicators),
        "signed_at": visit.signed_at, "signed_by_id": visit.signed_by_id,
    }
    return canonical_json(content)


def digest(visit: Visit, indicators: list[str]) -> str:
    return hashlib.sha256(canonical(visit, indicators)).hexdigest()


def check(visit: Visit, indicators: list[str]) -> SealCheck:
    """The seal of a signed visit checked against its content as stored now."""
    return compare(visit.content_sha256, canonical(visit, indicators))
