"""The person page's timeline: detention, transfers and every clinical record, newest first, in one
query per kind of record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.config import get_settings
from app.detention import service as detention_service
from app.detention.models import FACILITY_TYPE_LABELS, DetentionEpisode, Facility, Placement
from app.evidence.models import RULE35_LIMB_LABELS, EvidenceItem, Rule35Record
from app.evidence.schemas import KIND_LABELS as EVIDENCE_KIND_LABELS
from app.evidence.schemas import OUTCOME_LABELS as RULE35_OUTCOME_LABELS
from app.health_events.models import HealthEvent
from app.health_events.schemas import KIND_LABELS as HEALTH_EVENT_LABELS
from app.referrals.models import Organisation, Referral
from app.visits.models import Visit
from app.visits.schemas import MODE_LABELS
from app.work import notes
from app.work.models import CaseNote

LIMIT_PER_KIND = 200


@dataclass(frozen=True)
class Entry:
    on: date
    kind: str  # css modifier and the plain label below
    label: str
    title: str
    detail: str = ""


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _humanise(value: object) -> str:
    text = str(getattr(value, "value", value) or "")
    return text.replace("_", " ").capitalize()


def build(db: Session, person_id: int, episodes: list[DetentionEpisode],
          placements: list[Row[Placement, Facility]]) -> list[Entry]:
    entries: list[Entry] = []
    for episode in episodes:
        entries.append(Entry(episode.start_date, "detention", "Detention", "Detained"))
        if episode.end_date:
            entries.append(Entry(episode.end_date, "detention", "Detention", "Detention ended",
                                 _humanise(episode.end_reason)))
        if episode.last_bail_application_date:
            outcome = _humanise(episode.last_bail_outcome) if episode.last_bail_outcome else "Outcome not recorded"
            entries.append(Entry(episode.last_bail_application_date, "bail", "Bail", "Bail application", outcome))
    first_placements = {min((p for p, _ in placements if p.episode_id == e.id), key=lambda p: p.date_in,
                            default=None) for e in episodes}
    for placement, facility in placements:
        title = "Arrived at " if placement in first_placements else "Transferred to "
        entries.append(Entry(placement.date_in, "transfer", "Placement", title + facility.name,
                             FACILITY_TYPE_LABELS[facility.type]))

    visits = db.execute(
        select(Visit.visit_date, Visit.mode, Visit.status, User.display_name)
        .join(User, User.id == Visit.clinician_id)
        .where(Visit.person_id == person_id).order_by(Visit.visit_date.desc()).limit(LIMIT_PER_KIND)
    ).all()
    for visit_date, mode, status, clinician in visits:
        state = "signed" if status.value == "signed" else "draft"
        entries.append(Entry(visit_date, "visit", "Visit", f"Visit by {clinician}",
                             f"{MODE_LABELS.get(mode, _humanise(mode))}; {state}"))
    evidence = db.execute(
        select(EvidenceItem.kind, EvidenceItem.issued_date, EvidenceItem.received_date, EvidenceItem.created_at)
        .where(EvidenceItem.person_id == person_id).order_by(EvidenceItem.created_at.desc()).limit(LIMIT_PER_KIND)
    ).all()
    for kind, issued, received, created in evidence:
        entries.append(Entry(received or issued or _day(created), "evidence", "Evidence",
                             EVIDENCE_KIND_LABELS.get(kind, _humanise(kind))))
    for limb, written, sent, response, r35_outcome in db.execute(
        select(Rule35Record.limb, Rule35Record.written_date, Rule35Record.sent_date, Rule35Record.response_date,
               Rule35Record.outcome)
        .where(Rule35Record.person_id == person_id).order_by(Rule35Record.written_date.desc()).limit(LIMIT_PER_KIND)
    ):
        answer = RULE35_OUTCOME_LABELS.get(r35_outcome, _humanise(r35_outcome)) if r35_outcome else "not recorded"
        state = (f"Home Office response: {answer}" if response else
                 "Sent, awaiting Home Office response" if sent else "Written, not yet sent")
        entries.append(Entry(written, "rule35", "Rule 35", RULE35_LIMB_LABELS[limb], state))
    for made, created, referral_status, organisation in db.execute(
        select(Referral.made_date, Referral.created_at, Referral.status, Organisation.name)
        .join(Organisation, Organisation.id == Referral.organisation_id)
        .where(Referral.person_id == person_id).order_by(Referral.created_at.desc()).limit(LIMIT_PER_KIND)
    ):
        entries.append(Entry(made or _day(created), "referral", "Referral", f"Referral to {organisation}",
                             _humanise(referral_status)))
    for event_kind, started in db.execute(
        select(HealthEvent.kind, HealthEvent.started_at)
        .where(HealthEvent.person_id == person_id).order_by(HealthEvent.started_at.desc()).limit(LIMIT_PER_KIND)
    ):
        entries.append(Entry(_day(started), "health", "Health event",
                             HEALTH_EVENT_LABELS.get(event_kind, _humanise(event_kind))))
    zone = get_settings().zone
    for note_kind, with_whom, happened, organisation, recorder in db.execute(
        select(CaseNote.kind, CaseNote.with_whom, CaseNote.happened_at, Organisation.name, User.display_name)
        .join(User, User.id == CaseNote.recorded_by_id)
        .outerjoin(Organisation, Organisation.id == CaseNote.organisation_id)
        .where(CaseNote.person_id == person_id).order_by(CaseNote.happened_at.desc()).limit(LIMIT_PER_KIND)
    ):
        # The day it happened where the organisation is: a call at 00:30 in summer is not the day before.
        entries.append(Entry(happened.astimezone(zone).date(), "note", "Contact",
                             notes.title(note_kind, with_whom, organisation), f"Recorded by {recorder}"))
    return sorted(entries, key=lambda e: e.on, reverse=True)


def detention_history(db: Session, person_id: int) -> tuple[list[DetentionEpisode],
                                                           list[Row[Placement, Facility]]]:
    episodes = detention_service.episodes_of(db, person_id)
    placements = list(db.execute(
        select(Placement, Facility).join(Facility, Facility.id == Placement.facility_id)
        .join(DetentionEpisode, DetentionEpisode.id == Placement.episode_id)
        .where(DetentionEpisode.person_id == person_id).order_by(Placement.date_in, Placement.id)
    ).all())
    return episodes, placements
