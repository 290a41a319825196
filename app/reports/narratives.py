"""De-identified case narratives: built from one person's record, scrubbed, approved by a second person."""

from __future__ import annotations

import re
import secrets
import string
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.consent import service as consent_service
from app.consent.models import Consent, ConsentPurpose
from app.consent.service import has_current_consent
from app.contacts import service as contacts
from app.db import check_version
from app.detention import clock
from app.detention.models import FACILITY_TYPE_LABELS, DetentionEpisode, Facility, Placement
from app.errors import FORM_ERROR, Refused, RuleBroken
from app.evidence.models import RULE35_LIMB_LABELS, EvidenceItem, Finding, Rule35Record
from app.evidence.schemas import CONSISTENCY_LABELS, OUTCOME_LABELS
from app.evidence.schemas import KIND_LABELS as EVIDENCE_KIND_LABELS
from app.health_events.models import HealthEvent
from app.health_events.schemas import KIND_LABELS as HEALTH_EVENT_LABELS
from app.people.models import (
    AAR_INDICATOR_LABELS,
    Identity,
    IdentityAlias,
    Person,
    PersonAarIndicator,
    PersonLanguage,
    Sex,
)
from app.people.schemas import nationality_name
from app.referrals.models import NrmReferral, Organisation, Referral, ReferralStatus
from app.referrals.schemas import ORGANISATION_TYPE_LABELS, STATUS_LABELS
from app.reports import place_names
from app.reports.models import CaseNarrative, NarrativeStatus
from app.reports.regions import world_region
from app.reports.scrub import Identifiers, scrub
from app.visits.models import Visit, VisitAddendum, VisitStatus
from app.visits.schemas import MODE_LABELS, RISK_LABELS

SEX_WORDS = {Sex.female: "Woman", Sex.male: "Man", Sex.intersex: "Intersex person", Sex.not_recorded: "Person"}
_PSEUDONYM_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IO")


def new_pseudonym() -> str:
    """Random, never derived from the person, so that it cannot be worked back to them."""
    return "Case " + "".join(secrets.choice(_PSEUDONYM_LETTERS) for _ in range(2)) + "-" + \
        "".join(secrets.choice(string.digits) for _ in range(4))


def research_consent(db: Session, person_id: int, today: date) -> bool:
    return has_current_consent(db, person_id, ConsentPurpose.anonymised_research, on=today)


def start(db: Session, user_id: int, person: Person, today: date) -> CaseNarrative:
    if not research_consent(db, person.id, today):
        raise RuleBroken.on(FORM_ERROR, "This person has no current consent to anonymised research, so no "
                                        "narrative can be made from their record. Record their consent first.")
    for _ in range(5):
        pseudonym = new_pseudonym()
        if db.scalar(select(func.count()).where(CaseNarrative.pseudonym == pseudonym)) == 0:
            break
    narrative = CaseNarrative(person_id=person.id, pseudonym=pseudonym, created_by_id=user_id)
    db.add(narrative)
    db.flush()
    return narrative


# --- building the content ---------------------------------------------------------------------------------

def age_band(person: Person, today: date) -> str:
    year = person.birth_date.year if person.birth_date else person.birth_year
    if year is None:
        return "Age not recorded"
    age = today.year - year
    if person.birth_date and (today.month, today.day) < (person.birth_date.month, person.birth_date.day):
        age -= 1
    low = max(0, age) // 5 * 5
    return f"Aged {low} to {low + 4}"


def _nationality(db: Session, person: Person, today: date, k: int) -> str:
    """The country only when at least k people who consented to research share it; otherwise its world region."""
    if person.nationality is None:
        return "Nationality not recorded"
    sharing = db.scalar(
        select(func.count()).select_from(Person).where(
            Person.nationality == person.nationality,
            Person.id.in_(consent_service.people_consenting(ConsentPurpose.anonymised_research, today)))
    ) or 0
    if sharing >= k:
        return nationality_name(person.nationality)
    return f"From {world_region(person.nationality)}"


@dataclass
class _Clock:
    """Turns calendar dates into "day N of detention" (or month and year outside any detention)."""

    episodes: list[DetentionEpisode]
    today: date

    def when(self, day: date | None) -> str:
        if day is None:
            return "date not recorded"
        for episode in self.episodes:
            end = episode.end_date or self.today
            if episode.start_date <= day <= end:
                return f"day {clock.days_between_inclusive(episode.start_date, day)} of detention"
        return day.strftime("%B %Y")


def _record_dates(db: Session, person: Person, episodes: list[DetentionEpisode]) -> set[date]:
    """Every calendar date the person's record holds: each could be written in free text and give them away."""
    found: set[date | None] = {person.opened_date, person.closed_date, person.aar_level_date}
    for episode in episodes:
        found |= {episode.start_date, episode.end_date, episode.last_bail_application_date}
    pid = person.id
    statements: list[Any] = [
        select(Placement.date_in, Placement.date_out, Placement.arrived_at, Placement.gp_exam_at)
        .join(DetentionEpisode, DetentionEpisode.id == Placement.episode_id).where(DetentionEpisode.person_id == pid),
        select(Visit.visit_date, Visit.follow_up_date, Visit.signed_at).where(Visit.person_id == pid),
        select(EvidenceItem.issued_date, EvidenceItem.received_date).where(EvidenceItem.person_id == pid),
        select(Rule35Record.written_date, Rule35Record.sent_date, Rule35Record.response_date)
        .where(Rule35Record.person_id == pid),
        select(HealthEvent.started_at, HealthEvent.ended_at).where(HealthEvent.person_id == pid),
        select(Referral.made_date, Referral.response_date, Referral.follow_up_date, NrmReferral.reasonable_grounds_date,
               NrmReferral.conclusive_grounds_date)
        .outerjoin(NrmReferral, NrmReferral.referral_id == Referral.id).where(Referral.person_id == pid),
        select(Consent.given_date, Consent.withdrawn_date).where(Consent.person_id == pid),
        select(PersonAarIndicator.recorded_date).where(PersonAarIndicator.person_id == pid),
    ]
    for statement in statements:
        for row in db.execute(statement):
            for value in row:
                found.add(value.date() if isinstance(value, datetime) else value)
    return {d for d in found if isinstance(d, date)}


def _ages(person: Person, earliest: date, today: date) -> tuple[int, ...]:
    """Every age the person had from the record's first date to today (a year either side when only the year of
    birth is known), so that an exact age written at any time is found."""
    if person.birth_date is not None:
        born = person.birth_date
        low = earliest.year - born.year - ((earliest.month, earliest.day) < (born.month, born.day))
        high = today.year - born.year
    elif person.birth_year is not None:
        low, high = earliest.year - person.birth_year - 1, today.year - person.birth_year
    else:
        return ()
    return tuple(range(max(0, low), high + 1))


def identifiers(db: Session, person: Person, extra: list[str], facility_names: list[str], *, today: date,
                origin_hidden: bool = False) -> Identifiers:
    """Everything in the record that must not survive in the narrative's free text.

    `origin_hidden`: the facts line names only a world region, so the country's names, its people's adjective,
    its languages and its regions must go from the text too.
    """
    identity = db.get(Identity, person.id)
    aliases = [a.name for a in db.scalars(select(IdentityAlias).where(IdentityAlias.person_id == person.id))]
    names: list[str] = list(aliases)
    references: list[str] = [person.reference]
    phones: list[str] = []
    addresses: list[str] = []
    if identity is not None:
        names += [identity.given_names, identity.family_name, f"{identity.given_names} {identity.family_name}"]
        references += [r for r in (identity.home_office_reference, identity.port_reference, identity.cid_number) if r]
        if identity.other_numbers:
            references += [r.strip() for r in re.split(r"[,;\n]", identity.other_numbers) if r.strip()]
        if identity.phone_in_detention:
            phones.append(identity.phone_in_detention)
    # Their representatives' firms, caseworkers and contact details point to them as much as an address does.
    for rep in contacts.acting_for(db, person.id):
        addresses += [part for part in (rep.firm, rep.caseworker, rep.address, rep.phone, rep.email) if part]
    # The organisations the person was referred to (and their NRM first responder) are near where they are:
    # their contact addresses hold street and place names too.
    responders = select(NrmReferral.first_responder_id).join(Referral, Referral.id == NrmReferral.referral_id) \
        .where(Referral.person_id == person.id)
    referred = select(Referral.organisation_id).where(Referral.person_id == person.id)
    addresses += [c for c in db.scalars(select(Organisation.contact).where(
        Organisation.id.in_(referred) | Organisation.id.in_(responders))) if c]
    episodes = list(db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id)))
    dates = _record_dates(db, person, episodes)
    recorded_languages = tuple(db.scalars(select(PersonLanguage.language)
                                          .where(PersonLanguage.person_id == person.id)))
    origins: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    if origin_hidden:
        if person.nationality:
            origins = place_names.origin_words(person.nationality)
            regions = place_names.region_words(person.nationality)
        languages = place_names.language_words(person.nationality, recorded_languages)
    return Identifiers(
        names=tuple(n for n in names if n), references=tuple(references),
        birth_dates=(person.birth_date,) if person.birth_date else (), phones=tuple(phones),
        addresses=tuple(addresses), extra=tuple(extra) + tuple(facility_names),
        record_dates=tuple(sorted(dates - ({person.birth_date} if person.birth_date else set()))),
        detention=tuple((e.start_date, e.end_date or today) for e in sorted(episodes, key=lambda e: e.start_date)),
        ages=_ages(person, min(dates, default=today), today), age_band=age_band(person, today).lower(),
        origins=origins, languages=languages, regions=regions)


class _Writer:
    def __init__(self, ids: Identifiers, pseudonym: str) -> None:
        self.ids = ids
        self.pseudonym = pseudonym
        self.reasons: Counter[str] = Counter()
        self.changes: list[list[str]] = []
        self.uncertain: list[list[str]] = []

    def parts(self, text: str | None, where: str) -> list[list[Any]]:
        """The scrubbed text as pieces with the reason of each replacement; records what it replaced and what it
        was unsure of, with where, for the preview."""
        if not text or not text.strip():
            return []
        scrubbed = scrub(text, self.ids, pseudonym=self.pseudonym)
        out: list[list[Any]] = []
        for piece, replacement in scrubbed.segments():
            if replacement is not None:
                self.reasons[replacement.reason] += 1
                self.changes.append([where, replacement.replacement, replacement.reason])
            out.append([piece, replacement.reason if replacement is not None else None])
        self.uncertain += [[where, item.text, item.reason] for item in scrubbed.uncertain]
        return out

    def text(self, text: str, where: str) -> str:
        """A short free-text label (a finding's body region) scrubbed to plain text."""
        return "".join(piece for piece, _ in self.parts(text, where)) if text.strip() else text


def _duration(days: int) -> str:
    """A number of days as its Home Office band: exact, it would give the start date back from the export's."""
    anchor = date(2001, 1, 1)
    return clock.band_on(anchor, anchor + timedelta(days=max(days, 1) - 1)).label


class _Places:
    """How a place of detention is named: never by a type and region that together hold a single facility."""

    def __init__(self, db: Session) -> None:
        rows = db.execute(select(Facility.id, Facility.type, Facility.region, Facility.is_active)).all()
        self.rows = rows

    def _count(self, facility_id: int, test: Any) -> int:
        return sum(1 for r in self.rows if test(r) and (r.is_active or r.id == facility_id))

    def label(self, facility_id: int, kind: Any, region: str | None) -> str:
        same_type = self._count(facility_id, lambda r: r.type == kind)
        if region and self._count(facility_id, lambda r: r.type == kind and r.region == region) >= 2:
            return f"{FACILITY_TYPE_LABELS[kind]}, {region}"
        if same_type >= 2:
            return FACILITY_TYPE_LABELS[kind]
        if region and self._count(facility_id, lambda r: r.region == region) >= 2:
            return f"A place of detention in {region}"
        return "A place of detention"


def compose(db: Session, narrative: CaseNarrative, today: date, k: int) -> dict[str, Any]:
    """The narrative's content from the live record: generated facts, and free text scrubbed of identifiers."""
    person = db.get(Person, narrative.person_id)
    assert person is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    episodes = list(db.scalars(select(DetentionEpisode).where(DetentionEpisode.person_id == person.id)
                               .order_by(DetentionEpisode.start_date)))
    placements = db.execute(
        select(Placement.episode_id, Placement.date_in, Facility.id, Facility.name, Facility.type, Facility.region)
        .join(Facility, Facility.id == Placement.facility_id)
        .join(DetentionEpisode, DetentionEpisode.id == Placement.episode_id)
        .where(DetentionEpisode.person_id == person.id).order_by(Placement.date_in)
    ).all()
    facility_names = sorted({p.name for p in placements})
    origin = _nationality(db, person, today, k)
    origin_hidden = person.nationality is None or origin != nationality_name(person.nationality)
    ids = identifiers(db, person, list(narrative.extra_redactions),
                      [] if narrative.keep_facility else facility_names, today=today, origin_hidden=origin_hidden)
    writer = _Writer(ids, narrative.pseudonym)
    when = _Clock(episodes, today).when
    facilities = _Places(db)

    def place(facility_id: int, name: str, kind: Any, region: str | None) -> str:
        if narrative.keep_facility:
            return name
        return facilities.label(facility_id, kind, region)

    facts: list[list[str]] = [
        ["Pseudonym", narrative.pseudonym],
        ["Who", f"{SEX_WORDS[person.sex]}, {age_band(person, today).lower()}"],
        ["Origin", origin],
    ]
    readings = [clock.Episode(start=e.start_date, end=e.end_date) for e in episodes]
    if readings:
        reading = clock.read_clock(readings, today)
        facts.append(["Detention", f"{len(episodes)} period{'s' if len(episodes) != 1 else ''} of detention, "
                      f"{_duration(reading.cumulative_days).lower()} in all"])
        last = episodes[-1]
        band = clock.band_on(last.start_date, last.end_date or today).label
        facts.append(["Latest detention", f"{band}{' (still detained)' if last.end_date is None else ''}"])
    places = []
    for p in placements:
        label = place(p.id, p.name, p.type, p.region)
        if label not in places:
            places.append(label)
    if places:
        facts.append(["Held at", "; ".join(places)])
    indicators = sorted(AAR_INDICATOR_LABELS[i] for i in db.scalars(
        select(PersonAarIndicator.indicator).where(PersonAarIndicator.person_id == person.id)))
    if indicators:
        facts.append(["Adults at Risk indicators", "; ".join(indicators)])
    if person.aar_level:
        facts.append(["Adults at Risk level", f"Level {person.aar_level}"])

    sections: list[dict[str, Any]] = []
    visits = list(db.scalars(select(Visit).where(Visit.person_id == person.id, Visit.status == VisitStatus.signed)
                             .order_by(Visit.visit_date, Visit.id)))
    addenda: dict[int, list[str]] = {}
    for addendum in db.scalars(select(VisitAddendum).join(Visit, Visit.id == VisitAddendum.visit_id)
                               .where(Visit.person_id == person.id).order_by(VisitAddendum.id)):
        addenda.setdefault(addendum.visit_id, []).append(addendum.text)
    entries = []
    for visit in visits:
        title = f"Visit on {when(visit.visit_date)}, {MODE_LABELS[visit.mode].lower()}"
        if visit.risk is not None:
            title += f"; self-harm or suicide risk: {RISK_LABELS[visit.risk].lower()}"
        body = [("Presenting concerns", visit.presenting_concerns), ("Findings", visit.findings),
                ("Actions", visit.actions)] + [("Addendum", text) for text in addenda.get(visit.id, [])]
        entries.append({"title": title, "fields": [[label, writer.parts(text, f"{title}: {label}")]
                                                   for label, text in body if text]})
    if entries:
        sections.append({"heading": "Clinical visits", "entries": entries})

    items = list(db.scalars(select(EvidenceItem).where(EvidenceItem.person_id == person.id)
                            .order_by(EvidenceItem.issued_date, EvidenceItem.id)))
    findings: dict[int, list[Finding]] = {}
    for finding in db.scalars(select(Finding).join(EvidenceItem, EvidenceItem.id == Finding.evidence_item_id)
                              .where(EvidenceItem.person_id == person.id).order_by(Finding.id)):
        findings.setdefault(finding.evidence_item_id, []).append(finding)
    entries = []
    for item in items:
        title = f"{EVIDENCE_KIND_LABELS[item.kind]}, issued {when(item.issued_date)}"
        fields = [["Summary", writer.parts(item.summary, f"{title}: Summary")]] if item.summary else []
        for finding in findings.get(item.id, []):
            consistency = f" ({CONSISTENCY_LABELS[finding.consistency].lower()})" if finding.consistency else ""
            label = f"Finding: {writer.text(finding.body_region, title)}{consistency}"
            fields.append([label, writer.parts(finding.description, f"{title}: {label}")
                           + ([[" Attributed to: ", None], *writer.parts(finding.attributed_cause, f"{title}: {label}")]
                              if finding.attributed_cause else [])])
        entries.append({"title": title, "fields": fields})
    rule35s = list(db.scalars(select(Rule35Record).where(Rule35Record.person_id == person.id)
                              .order_by(Rule35Record.written_date)))
    for record in rule35s:
        outcome = OUTCOME_LABELS[record.outcome].lower() if record.outcome else "no response recorded"
        entries.append({"title": f"{RULE35_LIMB_LABELS[record.limb]}, written on {when(record.written_date)}; "
                                 f"Home Office: {outcome}", "fields": []})
    if entries:
        sections.append({"heading": "Medical evidence", "entries": entries})

    events = list(db.scalars(select(HealthEvent).where(HealthEvent.person_id == person.id)
                             .order_by(HealthEvent.started_at)))
    entries = []
    for event in events:
        title = f"{HEALTH_EVENT_LABELS[event.kind]} on {when(event.started_at.date())}"
        entries.append({"title": title,
                        "fields": [["Notes", writer.parts(event.notes, f"{title}: Notes")]] if event.notes else []})
    if entries:
        sections.append({"heading": "Health events in detention", "entries": entries})

    referrals = db.execute(select(Referral.status, Referral.made_date, Organisation.type)
                           .join(Organisation, Organisation.id == Referral.organisation_id)
                           .where(Referral.person_id == person.id, Referral.status != ReferralStatus.draft)
                           .order_by(Referral.made_date)).all()
    entries = [{"title": f"Referred to {ORGANISATION_TYPE_LABELS[r.type].lower()} on {when(r.made_date)}: "
                         f"{STATUS_LABELS[r.status].lower()}", "fields": []} for r in referrals]
    if entries:
        sections.append({"heading": "Referrals", "entries": entries})
    return {"pseudonym": narrative.pseudonym, "facts": facts, "sections": sections,
            "replacements": sum(writer.reasons.values()), "reasons": dict(sorted(writer.reasons.items())),
            "changes": writer.changes, "uncertain": writer.uncertain}


# --- the workflow -----------------------------------------------------------------------------------------
# Each step takes the version the page was loaded at: a narrative changed since is a StaleForm, before any rule.

def _refused(narrative: CaseNarrative, actor_id: int, reason: str) -> Refused:
    """A release or export that must not happen, recorded as narrative.refused with the narrative's person."""
    return Refused(action="narrative.refused", actor_id=actor_id, object_type="case_narrative",
                   object_id=narrative.id, person_id=narrative.person_id, narrative_id=narrative.id, reason=reason)


def set_redactions(db: Session, narrative: CaseNarrative, version: int | None, terms: list[str],
                   keep_facility: bool) -> None:
    check_version(narrative, version)
    if narrative.status is not NarrativeStatus.draft:
        raise RuleBroken.on(FORM_ERROR, "Redactions can be changed only while the narrative is a draft.")
    narrative.extra_redactions = terms
    narrative.keep_facility = keep_facility
    db.flush()


def submit(db: Session, narrative: CaseNarrative, version: int | None, today: date, k: int,
           now: datetime) -> dict[str, Any]:
    """Freezes the content as composed now: what is approved is exactly what the submitter read. Returns it."""
    check_version(narrative, version)
    if narrative.status is not NarrativeStatus.draft:
        raise RuleBroken.on(FORM_ERROR, "Only a draft can be submitted for approval.")
    content = compose(db, narrative, today, k)
    narrative.content = content
    narrative.status = NarrativeStatus.awaiting_approval
    narrative.submitted_at = now
    db.flush()
    return content


def send_back(db: Session, narrative: CaseNarrative, version: int | None) -> None:
    check_version(narrative, version)
    if narrative.status is not NarrativeStatus.awaiting_approval:
        raise RuleBroken.on(FORM_ERROR, "Only a narrative awaiting approval can be sent back to draft.")
    narrative.status = NarrativeStatus.draft
    narrative.content = None
    narrative.submitted_at = None
    db.flush()


def approve(db: Session, narrative: CaseNarrative, version: int | None, approver_id: int, today: date) -> None:
    check_version(narrative, version)
    if narrative.status is not NarrativeStatus.awaiting_approval:
        raise RuleBroken.on(FORM_ERROR, "Only a narrative awaiting approval can be approved.")
    if approver_id == narrative.created_by_id:
        raise _refused(narrative, approver_id,
                       "A narrative must be approved by someone other than the person who wrote it.")
    if not research_consent(db, narrative.person_id, today):
        raise _refused(narrative, approver_id, "The person's consent to anonymised research no longer stands, so "
                                               "this narrative cannot be released.")
    narrative.status = NarrativeStatus.released
    narrative.approved_by_id = approver_id
    narrative.approved_at = datetime.now(UTC)
    db.flush()


def check_exportable(db: Session, narrative: CaseNarrative, actor_id: int, today: date) -> None:
    """Consent is checked at the moment of export, not only when the narrative was approved."""
    if narrative.status is not NarrativeStatus.released or not research_consent(db, narrative.person_id, today):
        raise _refused(narrative, actor_id, "not released or consent withdrawn")


# --- reading ----------------------------------------------------------------------------------------------

def find(db: Session, narrative_id: int, today: date, *, drafts: bool) -> CaseNarrative | None:
    """The narrative, for someone who prepares them (`drafts`); for anyone else only a released one whose person's
    consent still stands, so that a researcher cannot even learn that a draft exists."""
    narrative = db.get(CaseNarrative, narrative_id)
    if narrative is None or drafts:
        return narrative
    if narrative.status is not NarrativeStatus.released or not research_consent(db, narrative.person_id, today):
        return None
    return narrative


def visible_to_researchers(db: Session, today: date) -> list[CaseNarrative]:
    """Released narratives whose person's consent still stands: a withdrawal takes them out of sight at once."""
    return list(db.scalars(
        select(CaseNarrative).where(
            CaseNarrative.status == NarrativeStatus.released,
            CaseNarrative.person_id.in_(consent_service.people_consenting(ConsentPurpose.anonymised_research,
                                                                          today)))
        .order_by(CaseNarrative.approved_at.desc())))


def all_narratives(db: Session) -> list[tuple[CaseNarrative, str]]:
    """For coordinators: every narrative with its person's reference (they may open the person anyway)."""
    return [(n, ref) for n, ref in db.execute(
        select(CaseNarrative, Person.reference).join(Person, Person.id == CaseNarrative.person_id)
        .order_by(CaseNarrative.created_at.desc()))]
