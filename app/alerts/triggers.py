"""For one person and the rules firing for them: the records that triggered each rule and the link that resolves it.

Cost, whatever the record holds: no statement at all for the detention rules (they read the episode and placements
the person page has already loaded) nor for torture_without_evidence (the indicator is the trigger); one statement
(a UNION ALL with a branch per firing rule that names records) for all the others together; none when none of
them fires. The branches repeat, record by record, the conditions app/alerts/service.py applies person by person;
a rule that fires with no record found (which the tests would catch) still shows, with a link to its section.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from app.alerts.rules import RULES, SEVERITY_LABELS, SEVERITY_ORDER, AlertRule, Severity
from app.alerts.service import UNSIGNED_REPORT, Cutoffs
from app.auth.permissions import Permission
from app.config import Settings
from app.consent import service as consent_service
from app.consent.models import Consent, ConsentPurpose
from app.dates import format_date, format_datetime
from app.db import UTCDateTime
from app.detention import clock
from app.detention.models import (
    HEARING_KIND_LABELS,
    BailOutcome,
    DetentionEpisode,
    Facility,
    FacilityType,
    Hearing,
    Placement,
    RemovalDirection,
    RemovalStatus,
)
from app.evidence.models import RULE35_LIMB_LABELS, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.medicolegal.models import MedicoLegalReport
from app.people.models import Person
from app.referrals.models import NrmReferral, Organisation, Referral, ReferralStatus
from app.visits.models import Visit

# Short names for the Rule 35 limbs, as a trigger's label reads them ("Rule 35(3) report sent ...").
_LIMB_SHORT = {limb: label.split(":", 1)[0] for limb, label in RULE35_LIMB_LABELS.items()}
_REFUSAL_WORDS = {HealthEventKind.food_refusal: "Food refusal", HealthEventKind.fluid_refusal: "Fluid refusal"}
_SELF_HARM_WORDS = {HealthEventKind.self_harm: "Self-harm", HealthEventKind.acdt_opened: "ACDT opened"}


@dataclass(frozen=True)
class Trigger:
    """One record that makes a rule fire, in words, with the page where it is resolved."""

    rule_id: str
    label: str
    href: str
    action: str | None = None  # the link's words when they differ from the rule's action
    severity: Severity | None = None  # when this record makes the alert more or less pressing than the rule says
    needs: Permission = Permission.record_clinical  # what the link's page asks of the user

    def action_for(self, rule: AlertRule) -> str:
        return self.action or rule.action


@dataclass(frozen=True)
class FiredAlert:
    rule: AlertRule
    triggers: list[Trigger] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        graded = [t.severity for t in self.triggers if t.severity is not None]
        return min(graded, key=SEVERITY_ORDER.__getitem__) if graded else self.rule.severity

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]


# Where a rule is resolved when no single record can be named (and for the detention rules' section), and where the
# work queue links to, since it names no record.
def fallback_link(rule_id: str, base: str) -> tuple[str, Permission]:
    """The page (under the person's page `base`) where the rule is resolved, and what that page asks of the user."""
    anchors = {
        "removal_imminent": ("#removals-section", Permission.view_person),
        "hearing_soon": ("#hearings-section", Permission.view_person),
        "rule35_response_overdue": ("#rule35-section", Permission.view_person),
        "self_harm_without_rule35": ("/rule35/new", Permission.record_clinical),
        "food_fluid_refusal": ("#health-events-section", Permission.view_person),
        "nrm_decision_outstanding": ("#referrals-section", Permission.view_person),
        "visit_follow_up_overdue": ("/visits/new", Permission.record_clinical),
        "referral_follow_up_overdue": ("#referrals-section", Permission.view_person),
        "consent_missing": ("#consent-section", Permission.view_person),
        "torture_without_evidence": ("/referrals/new", Permission.record_clinical),
    }
    anchor, needs = anchors.get(rule_id, ("#detention", Permission.view_person))
    return base + anchor, needs


def _fallback(rule_id: str, base: str) -> Trigger:
    href, needs = fallback_link(rule_id, base)
    return Trigger(rule_id, "See the record below.", href, needs=needs)


def for_person(db: Session, person: Person, fired: Iterable[AlertRule], cutoffs: Cutoffs, settings: Settings, *,
               episode: DetentionEpisode | None, placements: Sequence[Any]) -> list[FiredAlert]:
    """The firing rules with their triggers, urgent first (RULES order within a severity). `episode` is the
    person's open episode and `placements` their (Placement, Facility) rows, as the person page loads them."""
    base = f"/people/{person.reference}"
    rules = list(fired)
    found: dict[str, list[Trigger]] = {r.id: [] for r in rules}
    for rule_id in found:
        found[rule_id] = _from_episode(rule_id, base, cutoffs, settings, episode, placements)
    for trigger in _from_records(db, person.id, list(found), base, cutoffs, settings, episode):
        found[trigger.rule_id].append(trigger)
    if "torture_without_evidence" in found:
        found["torture_without_evidence"].append(Trigger(
            "torture_without_evidence", "Torture is recorded as an Adults at Risk indicator, with no Rule 35(3) "
            "report, no medico-legal report and no referral to a torture rehabilitation organisation.",
            base + "/referrals/new"))
    alerts = [FiredAlert(r, found[r.id] or [_fallback(r.id, base)]) for r in rules]
    position = {rule_id: i for i, rule_id in enumerate(RULES)}
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], position.get(a.rule.id, len(position))))


# --- the detention rules: from what the page has loaded --------------------------------------------------------

def _from_episode(rule_id: str, base: str, cutoffs: Cutoffs, settings: Settings, episode: DetentionEpisode | None,
                  placements: Sequence[Any]) -> list[Trigger]:
    if episode is None:
        return []
    today = cutoffs.today
    since = f"Detained since {format_date(episode.start_date)}"
    bail = f"{base}/episodes/{episode.id}/bail"
    if rule_id == "detained_28_days":
        days = clock.days_between_inclusive(episode.start_date, today)
        return [Trigger(rule_id, f"{since}: {days} days.", bail, needs=Permission.edit_person)]
    if rule_id == "length_band_crossed":
        band = clock.band_on(episode.start_date, today)
        entered = f" on {format_date(clock.reached_on(episode.start_date, band.starts_at))}" if band.starts_at else ""
        return [Trigger(rule_id, f"{since}: entered the band “{band.label}”{entered}.", f"{base}#detention",
                        needs=Permission.view_person)]
    if rule_id == "auto_bail_referral_due":
        months = settings.alert_auto_bail_months
        reached = clock.reached_on(episode.start_date, clock.Threshold(
            key=f"month_{months}", days=None, months=months, label=f"{months} months"))
        last = (f" The last bail application was on {format_date(episode.last_bail_application_date)}."
                if episode.last_bail_application_date else " No bail application is recorded.")
        return [Trigger(rule_id, f"{since}: {months} months reached on {format_date(reached)}.{last}", bail,
                        action="Record the bail referral or application", needs=Permission.edit_person)]
    if rule_id == "bail_reapplication_open" and episode.last_bail_outcome == BailOutcome.refused:
        return [Trigger(rule_id, f"Bail refused on {format_date(episode.last_bail_application_date)}.", bail,
                        needs=Permission.edit_person)]
    if rule_id == "no_admission_exam":
        return [Trigger(rule_id, _arrival(facility, placement), f"{base}/episodes/{episode.id}/exam",
                        needs=Permission.edit_person)
                for placement, facility in placements
                if placement.episode_id == episode.id and placement.date_out is None and placement.gp_exam_at is None
                and facility.type in (FacilityType.irc, FacilityType.sthf)]
    return []


def _arrival(facility: Facility, placement: Placement) -> str:
    when = format_datetime(placement.arrived_at) if placement.arrived_at else format_date(placement.date_in)
    return f"Arrived at {facility.name} on {when}; no examination by the centre's GP is recorded."


# --- the rules about records: one UNION ALL ---------------------------------------------------------------------

_NO_INT = cast(null(), Integer)
_NO_DATE = cast(null(), Date)
_NO_TIME = cast(null(), UTCDateTime())
_NO_TEXT = cast(null(), String)


def _row(rule_id: str, record_id: Any = _NO_INT, organisation_id: Any = _NO_INT, day: Any = _NO_DATE,
         other_day: Any = _NO_DATE, at: Any = _NO_TIME, text: Any = _NO_TEXT) -> Any:
    """One branch's columns, the same types in every branch. Real columns are only re-typed (type_coerce), never
    CAST: SQLite casts a date-time string to a number."""

    def keep(value: Any, kind: Any) -> Any:
        return value if value is _NO_INT or value is _NO_DATE or value is _NO_TIME or value is _NO_TEXT \
            else type_coerce(value, kind)

    return select(cast(literal(rule_id), String).label("rule_id"), keep(record_id, Integer).label("record_id"),
                  keep(organisation_id, Integer).label("organisation_id"), keep(day, Date).label("day"),
                  keep(other_day, Date).label("other_day"), keep(at, UTCDateTime()).label("at"),
                  keep(text, String).label("text"))


def _branches(rule_ids: list[str], person_id: int, cutoffs: Cutoffs,
              episode: DetentionEpisode | None) -> list[Any]:
    today = cutoffs.today
    wanted = set(rule_ids)
    branches: list[Any] = []
    if "removal_imminent" in wanted:
        branches.append(_row("removal_imminent", RemovalDirection.id, at=RemovalDirection.removal_at,
                             text=RemovalDirection.destination).where(
            RemovalDirection.person_id == person_id, RemovalDirection.status == RemovalStatus.set,
            RemovalDirection.removal_at > cutoffs.now, RemovalDirection.removal_at <= cutoffs.removal_until))
    if "hearing_soon" in wanted:
        branches.append(_row("hearing_soon", Hearing.id, at=Hearing.hearing_at, text=Hearing.kind).where(
            Hearing.person_id == person_id, Hearing.outcome.is_(None), Hearing.hearing_at > cutoffs.now,
            Hearing.hearing_at <= cutoffs.hearing_until))
    if "rule35_response_overdue" in wanted:
        branches.append(_row("rule35_response_overdue", Rule35Record.id, day=Rule35Record.sent_date,
                             text=Rule35Record.limb).where(
            Rule35Record.person_id == person_id, Rule35Record.sent_date.is_not(None),
            Rule35Record.response_date.is_(None), Rule35Record.outcome.is_(None),
            Rule35Record.sent_date <= cutoffs.rule35_sent))
    if "self_harm_without_rule35" in wanted and episode is not None:
        branches.append(_row("self_harm_without_rule35", HealthEvent.id, at=HealthEvent.started_at,
                             text=HealthEvent.kind).where(
            HealthEvent.person_id == person_id,
            HealthEvent.kind.in_([HealthEventKind.self_harm, HealthEventKind.acdt_opened]),
            HealthEvent.started_at >= datetime.combine(episode.start_date, time(0), UTC)))
    if "food_fluid_refusal" in wanted:
        branches.append(_row("food_fluid_refusal", HealthEvent.id, at=HealthEvent.started_at,
                             text=HealthEvent.kind).where(
            HealthEvent.person_id == person_id, HealthEvent.ended_at.is_(None), or_(
                and_(HealthEvent.kind == HealthEventKind.fluid_refusal, HealthEvent.started_at <= cutoffs.fluid_since),
                and_(HealthEvent.kind == HealthEventKind.food_refusal, HealthEvent.started_at <= cutoffs.food_since))))
    if "nrm_decision_outstanding" in wanted:
        branches.append(_row("nrm_decision_outstanding", Referral.id, day=Referral.made_date)
                        .join(NrmReferral, NrmReferral.referral_id == Referral.id).where(
            Referral.person_id == person_id, Referral.status.in_([ReferralStatus.sent, ReferralStatus.accepted]),
            Referral.made_date <= cutoffs.nrm_made, NrmReferral.reasonable_grounds_date.is_(None)))
    if "visit_follow_up_overdue" in wanted:
        latest = select(func.max(Visit.visit_date)).where(Visit.person_id == person_id).scalar_subquery()
        branches.append(_row("visit_follow_up_overdue", Visit.id, day=Visit.follow_up_date,
                             other_day=Visit.visit_date).where(
            Visit.person_id == person_id, Visit.follow_up_date < today, Visit.visit_date == latest))
    if "referral_follow_up_overdue" in wanted:
        branches.append(_row("referral_follow_up_overdue", Referral.id, Referral.organisation_id,
                             day=Referral.follow_up_date, other_day=Referral.made_date, text=Organisation.name)
                        .join(Organisation, Organisation.id == Referral.organisation_id).where(
            Referral.person_id == person_id, Referral.follow_up_date < today, Referral.response_date.is_(None),
            Referral.status.in_([ReferralStatus.draft, ReferralStatus.sent])))
    if "report_overdue" in wanted:
        branches.append(_row("report_overdue", MedicoLegalReport.id, day=MedicoLegalReport.due_date).where(
            MedicoLegalReport.person_id == person_id, MedicoLegalReport.due_date < today,
            MedicoLegalReport.state.in_(UNSIGNED_REPORT)))
    if "consent_missing" in wanted:
        current = consent_service.current_on(today)
        branches.append(_row("consent_missing", Referral.id, Referral.organisation_id, day=Referral.made_date,
                             text=Organisation.name)
                        .join(Organisation, Organisation.id == Referral.organisation_id).where(
            Referral.person_id == person_id, Referral.status.in_([ReferralStatus.sent, ReferralStatus.accepted]),
            ~exists().where(Consent.person_id == person_id, Consent.organisation_id == Referral.organisation_id,
                            Consent.purpose == ConsentPurpose.share_with_organisation, current)))
        # No record at all stands behind a missing care-record consent: a row with no FROM, present or not.
        branches.append(_row("consent_missing", text=cast(literal(ConsentPurpose.care_record.value), String)).where(
            ~exists().where(Consent.person_id == person_id, Consent.purpose == ConsentPurpose.care_record, current)))
    return branches


def _from_records(db: Session, person_id: int, rule_ids: list[str], base: str, cutoffs: Cutoffs,
                  settings: Settings, episode: DetentionEpisode | None) -> list[Trigger]:
    branches = _branches(rule_ids, person_id, cutoffs, episode)
    if not branches:
        return []
    rows = list(db.execute(union_all(*branches)).all())
    # The newest record first within a rule; SQL leaves a UNION's order undefined, so it is sorted here.
    rows.sort(key=lambda r: (r.rule_id, -(r.record_id or 0)))
    triggers: list[Trigger] = []
    self_harm = [r for r in rows if r.rule_id == "self_harm_without_rule35"]
    if self_harm:
        latest = max(self_harm, key=lambda r: r.at)
        more = f" ({len(self_harm) - 1} more in this detention)" if len(self_harm) > 1 else ""
        triggers.append(Trigger("self_harm_without_rule35",
                                f"{_SELF_HARM_WORDS.get(latest.text, 'Self-harm')} on {format_datetime(latest.at)}"
                                f"{more}; no Rule 35(1) or 35(2) report since the detention began.",
                                f"{base}/rule35/new"))
    for row in rows:
        trigger = _record_trigger(row, base, cutoffs, settings)
        if trigger is not None:
            triggers.append(trigger)
    return triggers


def _record_trigger(row: Any, base: str, cutoffs: Cutoffs, settings: Settings) -> Trigger | None:
    rule_id = row.rule_id
    if rule_id == "removal_imminent":
        hours = max(0, int((row.at - cutoffs.now).total_seconds() // 3600))
        urgent = row.at - cutoffs.now <= timedelta(hours=settings.alert_removal_urgent_hours)
        return Trigger(rule_id, f"Removal direction to {row.text} on {format_datetime(row.at)}, in {hours} "
                                f"{'hour' if hours == 1 else 'hours'}.", f"{base}#removals-section",
                       severity=Severity.urgent if urgent else Severity.due_soon, needs=Permission.view_person)
    if rule_id == "hearing_soon":
        today = row.at.astimezone(settings.zone).date() == cutoffs.today
        kind = HEARING_KIND_LABELS.get(row.text, "Hearing")  # StrEnum keys: their values find them
        return Trigger(rule_id, f"{kind} on {format_datetime(row.at)}{', today' if today else ''}; no outcome "
                                f"recorded yet.", f"{base}#hearings-section",
                       severity=Severity.urgent if today else None, needs=Permission.view_person)
    if rule_id == "rule35_response_overdue":
        limb = _LIMB_SHORT.get(row.text, "Rule 35")
        return Trigger(rule_id, f"{limb} report sent {format_date(row.day)}; no Home Office response recorded.",
                       f"{base}/rule35/{row.record_id}/edit")
    if rule_id == "food_fluid_refusal":
        hours = int((cutoffs.now - row.at).total_seconds() // 3600)
        return Trigger(rule_id, f"{_REFUSAL_WORDS.get(row.text, 'Refusal')} since {format_datetime(row.at)}: "
                                f"{hours} hours.", f"{base}/health-events/{row.record_id}/end")
    if rule_id == "nrm_decision_outstanding":
        return Trigger(rule_id, f"National Referral Mechanism referral made {format_date(row.day)}; no "
                                f"reasonable-grounds decision recorded.", f"{base}/referrals/{row.record_id}/nrm")
    if rule_id == "visit_follow_up_overdue":
        return Trigger(rule_id, f"The visit of {format_date(row.other_day)} set a follow-up for "
                                f"{format_date(row.day)}; no visit has been logged since.", f"{base}/visits/new")
    if rule_id == "referral_follow_up_overdue":
        made = f", made {format_date(row.other_day)}," if row.other_day else ""
        return Trigger(rule_id, f"Referral to {row.text}{made} was due a follow-up on {format_date(row.day)}; no "
                                f"response recorded.", f"{base}/referrals/{row.record_id}")
    if rule_id == "consent_missing":
        return _consent_trigger(row, base)
    if rule_id == "report_overdue":
        return Trigger(rule_id, f"Medico-legal report {row.record_id} was due on {format_date(row.day)} and is not "
                                "signed off yet.", f"{base}/reports/{row.record_id}")
    return None


def _consent_trigger(row: Any, base: str) -> Trigger:
    if row.record_id is None:
        return Trigger("consent_missing", "No current consent to keep a care record.",
                       f"{base}/consents/new?purpose={ConsentPurpose.care_record.value}",
                       action="Record consent to keep a care record")
    made = f", made {format_date(row.day)}," if row.day else ""
    return Trigger("consent_missing", f"Referral to {row.text}{made} has no current consent to share.",
                   f"{base}/consents/new?purpose={ConsentPurpose.share_with_organisation.value}"
                   f"&organisation={row.organisation_id}",
                   action=f"Record consent to share with {row.text}")
