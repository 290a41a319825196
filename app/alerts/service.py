"""When each alert fires, as SQL over indexed columns: a condition per rule for list filters and dashboard
counts, and one query that tells a page which rules fire for the people it shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.alerts.rules import RULES, AlertRule
from app.config import Settings
from app.consent import service as consent_service
from app.consent.models import Consent, ConsentPurpose
from app.db import utcnow
from app.detention import clock
from app.detention.models import (
    BailOutcome,
    DetentionEpisode,
    Facility,
    FacilityType,
    Hearing,
    Placement,
    RemovalDirection,
    RemovalStatus,
)
from app.evidence.models import EvidenceItem, EvidenceKind, Rule35Limb, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.medicolegal.models import MedicoLegalReport, ReportState
from app.people.models import AarIndicator, Person, PersonAarIndicator
from app.referrals.models import NrmReferral, Organisation, OrganisationType, Referral, ReferralStatus
from app.visits.models import Visit

# Bands whose crossing raises length_band_crossed: the month bands, where reviews are due.
BAND_ALERT_THRESHOLDS = tuple(t for t in clock.THRESHOLDS if t.months is not None)
UPCOMING = "crossing_soon"
NO_RECENT_VISIT = "no_recent_visit"
# Filters that are not alert rules but are offered beside them on the people list and the dashboard.
EXTRA_FILTERS = {UPCOMING: "Crossing a threshold soon", NO_RECENT_VISIT: "Detained, no recent visit"}


def _months(n: int) -> clock.Threshold:
    return clock.Threshold(key=f"month_{n}", days=None, months=n, label=f"{n} months")


def working_days_before(day: date, n: int) -> date:
    """The latest date d such that at least `n` working days (Monday to Friday) lie strictly between d and
    `day`: something sent on or before it has waited `n` whole working days.

    Bank holidays are not counted out: the alert may fire a day early around them, never late."""
    current = day
    counted = 0
    while counted < n:
        current -= timedelta(days=1)
        if current.weekday() < 5:
            counted += 1
    return current - timedelta(days=1)


@dataclass(frozen=True)
class Cutoffs:
    """Every date and time the rules compare against, worked out once for `today`. An open episode is past a
    length threshold exactly when its start date is on or before the cut-off, so the clock rules are range
    conditions on detention_episodes.start_date."""

    today: date
    now: datetime
    detained_days: date
    band_windows: tuple[tuple[date, date], ...]  # (exclusive lower, inclusive upper) start dates
    auto_bail: date
    bail_reapplication: date
    upcoming_windows: tuple[tuple[date, date], ...]
    visit_since: date
    exam_irc: datetime
    exam_sthf: datetime
    rule35_sent: date
    fluid_since: datetime
    food_since: datetime
    nrm_made: date
    removal_until: datetime
    hearing_until: datetime

    @classmethod
    def for_day(cls, today: date, settings: Settings, now: datetime | None = None) -> Cutoffs:
        now = now or utcnow()
        recent = today - timedelta(days=settings.alert_band_crossed_recent_days)
        soon = today + timedelta(days=settings.dashboard_upcoming_days)
        upcoming = tuple(clock.THRESHOLDS) + (_months(settings.alert_auto_bail_months),)
        return cls(
            today=today,
            now=now,
            detained_days=today - timedelta(days=settings.alert_detained_days),
            band_windows=tuple((clock.latest_start_reaching(t, recent), clock.latest_start_reaching(t, today))
                               for t in BAND_ALERT_THRESHOLDS),
            auto_bail=clock.latest_start_reaching(_months(settings.alert_auto_bail_months), today),
            bail_reapplication=today - timedelta(days=settings.alert_bail_reapplication_days),
            upcoming_windows=tuple((clock.latest_start_reaching(t, today), clock.latest_start_reaching(t, soon))
                                   for t in upcoming),
            visit_since=today - timedelta(days=settings.dashboard_no_visit_days - 1),
            exam_irc=now - timedelta(hours=settings.alert_admission_exam_irc_hours),
            exam_sthf=now - timedelta(hours=settings.alert_admission_exam_sthf_hours),
            rule35_sent=working_days_before(today, settings.alert_rule35_response_working_days),
            fluid_since=now - timedelta(hours=settings.alert_fluid_refusal_hours),
            food_since=now - timedelta(hours=settings.alert_food_refusal_hours),
            nrm_made=working_days_before(today, settings.alert_nrm_decision_working_days),
            removal_until=now + timedelta(hours=settings.alert_removal_hours),
            hearing_until=now + timedelta(days=settings.alert_hearing_days),
        )


def _in_windows(start: Any, windows: tuple[tuple[date, date], ...]) -> list[ColumnElement[bool]]:
    return [and_(start > low, start <= high) for low, high in windows]


def _consent_is_current(purpose: ConsentPurpose, today: date) -> list[ColumnElement[bool]]:
    return [Consent.purpose == purpose, consent_service.current_on(today)]


def sql_condition(rule_id: str, cutoffs: Cutoffs, episode: Any = DetentionEpisode,
                  person_id: Any = Person.id, among: list[int] | None = None) -> ColumnElement[bool]:
    """The rule as a WHERE condition. `episode` is the person's open episode (outer-joined: its columns are
    NULL when there is none) and `person_id` the person's id column in the same query. `among` limits the
    subqueries to those people, when a page asks about a few people only."""

    def of(column: Any, *conditions: Any) -> Any:
        statement = select(column).where(*conditions)
        return statement.where(column.in_(among)) if among is not None else statement

    # start_date is NOT NULL in the table, so this also rules out the empty side of an outer join.
    open_episode = and_(episode.start_date.is_not(None), episode.end_date.is_(None))
    if rule_id == "detained_28_days":
        return and_(open_episode, episode.start_date <= cutoffs.detained_days)
    if rule_id == "length_band_crossed":
        return and_(open_episode, or_(*_in_windows(episode.start_date, cutoffs.band_windows)))
    if rule_id == "auto_bail_referral_due":
        return and_(open_episode, episode.start_date <= cutoffs.auto_bail,
                    or_(episode.last_bail_application_date.is_(None),
                        episode.last_bail_application_date <= cutoffs.auto_bail))
    if rule_id == "bail_reapplication_open":
        return and_(open_episode, episode.last_bail_outcome == BailOutcome.refused,
                    episode.last_bail_application_date <= cutoffs.bail_reapplication)
    if rule_id == UPCOMING:
        return and_(open_episode, or_(*_in_windows(episode.start_date, cutoffs.upcoming_windows)))
    if rule_id == NO_RECENT_VISIT:
        return and_(open_episode, ~exists().where(Visit.person_id == person_id,
                                                  Visit.visit_date >= cutoffs.visit_since))
    if rule_id == "no_admission_exam":
        at_centre = and_(Placement.episode_id == episode.id, Placement.date_out.is_(None),
                         Placement.gp_exam_at.is_(None), Facility.id == Placement.facility_id)
        # Without a recorded arrival time, count from the end of the arrival day (never earlier than true).
        late_irc = or_(Placement.arrived_at <= cutoffs.exam_irc,
                       and_(Placement.arrived_at.is_(None), Placement.date_in < cutoffs.exam_irc.date()))
        late_sthf = or_(Placement.arrived_at <= cutoffs.exam_sthf,
                        and_(Placement.arrived_at.is_(None), Placement.date_in < cutoffs.exam_sthf.date()))
        return and_(open_episode, exists().where(at_centre, or_(
            and_(Facility.type == FacilityType.irc, late_irc), and_(Facility.type == FacilityType.sthf, late_sthf))))
    # Rules about a person's clinical records are written as `person_id IN (subquery)`: the subquery runs once
    # over its own index and the result is probed per person, where a correlated EXISTS can make SQLite
    # walk an index per person.
    if rule_id == "rule35_response_overdue":
        return person_id.in_(of(
            Rule35Record.person_id, Rule35Record.sent_date.is_not(None), Rule35Record.response_date.is_(None),
            Rule35Record.outcome.is_(None), Rule35Record.sent_date <= cutoffs.rule35_sent))
    if rule_id == "torture_without_evidence":
        return and_(
            person_id.in_(of(PersonAarIndicator.person_id, PersonAarIndicator.indicator == AarIndicator.torture)),
            person_id.not_in(of(Rule35Record.person_id, Rule35Record.limb == Rule35Limb.torture)),
            person_id.not_in(of(EvidenceItem.person_id, EvidenceItem.kind == EvidenceKind.medico_legal_report)),
            person_id.not_in(of(Referral.person_id, Organisation.type == OrganisationType.torture_rehabilitation)
                             .join(Organisation, Organisation.id == Referral.organisation_id)),
        )
    if rule_id == "self_harm_without_rule35":
        return and_(
            open_episode,
            person_id.in_(of(HealthEvent.person_id,
                             HealthEvent.kind.in_([HealthEventKind.self_harm, HealthEventKind.acdt_opened]))),
            exists().where(HealthEvent.person_id == person_id,
                           HealthEvent.kind.in_([HealthEventKind.self_harm, HealthEventKind.acdt_opened]),
                           HealthEvent.started_at >= episode.start_date),
            ~exists().where(Rule35Record.person_id == person_id,
                            Rule35Record.limb.in_([Rule35Limb.health_injuriously_affected,
                                                   Rule35Limb.suicidal_intentions]),
                            Rule35Record.written_date >= episode.start_date),
        )
    if rule_id == "food_fluid_refusal":
        return person_id.in_(of(HealthEvent.person_id, HealthEvent.ended_at.is_(None), or_(
            and_(HealthEvent.kind == HealthEventKind.fluid_refusal, HealthEvent.started_at <= cutoffs.fluid_since),
            and_(HealthEvent.kind == HealthEventKind.food_refusal, HealthEvent.started_at <= cutoffs.food_since))))
    if rule_id == "nrm_decision_outstanding":
        return person_id.in_(of(Referral.person_id, Referral.status.in_([ReferralStatus.sent, ReferralStatus.accepted]),
                                Referral.made_date <= cutoffs.nrm_made, NrmReferral.reasonable_grounds_date.is_(None))
                             .join(NrmReferral, NrmReferral.referral_id == Referral.id))
    if rule_id == "visit_follow_up_overdue":
        # Overdue when the latest visit's follow-up date has passed: one grouped pass over the visits index
        # rather than a search for a later visit behind every visit that ever set a follow-up.
        overdue_date = case((Visit.follow_up_date < cutoffs.today, Visit.visit_date))
        return person_id.in_(of(Visit.person_id).group_by(Visit.person_id)
                             .having(func.max(Visit.visit_date) == func.max(overdue_date)))
    if rule_id == "referral_follow_up_overdue":
        return person_id.in_(of(
            Referral.person_id, Referral.follow_up_date < cutoffs.today, Referral.response_date.is_(None),
            Referral.status.in_([ReferralStatus.draft, ReferralStatus.sent])))
    return _casework_condition(rule_id, cutoffs, person_id, of)


# A report is overdue until it is signed off; once signed, its service is the representative's to make.
UNSIGNED_REPORT = (ReportState.instructed, ReportState.drafting, ReportState.in_review)


def _casework_condition(rule_id: str, cutoffs: Cutoffs, person_id: Any, of: Any) -> ColumnElement[bool]:
    """The rules about the case's paperwork and deadlines, written like the clinical ones above."""
    if rule_id == "removal_imminent":
        return person_id.in_(of(RemovalDirection.person_id, RemovalDirection.status == RemovalStatus.set,
                                RemovalDirection.removal_at > cutoffs.now,
                                RemovalDirection.removal_at <= cutoffs.removal_until))
    if rule_id == "report_overdue":
        return person_id.in_(of(MedicoLegalReport.person_id, MedicoLegalReport.due_date < cutoffs.today,
                                MedicoLegalReport.state.in_(UNSIGNED_REPORT)))
    if rule_id == "hearing_soon":
        return person_id.in_(of(Hearing.person_id, Hearing.outcome.is_(None), Hearing.hearing_at > cutoffs.now,
                                Hearing.hearing_at <= cutoffs.hearing_until))
    if rule_id == "consent_missing":
        sent = aliased(Referral)
        return or_(
            person_id.not_in(of(Consent.person_id, *_consent_is_current(ConsentPurpose.care_record, cutoffs.today))),
            person_id.in_(of(
                sent.person_id, sent.status.in_([ReferralStatus.sent, ReferralStatus.accepted]),
                ~exists().where(Consent.person_id == sent.person_id, Consent.organisation_id == sent.organisation_id,
                                *_consent_is_current(ConsentPurpose.share_with_organisation, cutoffs.today)))),
        )
    return false()


def firing(db: Session, cutoffs: Cutoffs, person_ids: list[int]) -> dict[int, list[AlertRule]]:
    """Which rules fire for each of these people: one query, however many people and rules."""
    if not person_ids:
        return {}
    current = aliased(DetentionEpisode)
    rule_ids = list(RULES)
    rows = db.execute(
        select(Person.id, *(case((sql_condition(r, cutoffs, current, among=person_ids), True), else_=False)
                            for r in rule_ids))
        .select_from(Person)
        .outerjoin(current, and_(current.person_id == Person.id, current.end_date.is_(None)))
        .where(Person.id.in_(person_ids))
    ).all()
    return {row[0]: [RULES[r] for r, hit in zip(rule_ids, row[1:], strict=True) if hit] for row in rows}
