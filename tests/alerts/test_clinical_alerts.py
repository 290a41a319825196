"""Clinical alert rules at their boundaries, evaluated by the same SQL the pages and dashboard use."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.alerts import service as alerts
from app.auth.models import Role
from app.config import get_settings
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.detention.models import DetentionEpisode, Facility, Placement
from app.evidence.models import EvidenceItem, EvidenceKind, Rule35Limb, Rule35Record
from app.health_events.models import HealthEvent, HealthEventKind
from app.people.models import AarIndicator, PersonAarIndicator
from app.referrals.models import NrmReferral, Organisation, Referral, ReferralStatus
from app.visits.models import Visit, VisitMode

TODAY = date(2026, 3, 12)  # a Thursday
NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)


@pytest.mark.no_database
@pytest.mark.parametrize(("day", "n", "cutoff"), [
    (date(2026, 3, 12), 2, date(2026, 3, 9)),   # Thu: sent Mon has waited Tue and Wed
    (date(2026, 3, 16), 2, date(2026, 3, 11)),  # Mon: sent Wed has waited Thu and Fri
    (date(2026, 3, 16), 5, date(2026, 3, 8)),   # Mon: a full working week back
])
def test_working_day_cutoffs(day, n, cutoff):
    assert alerts.working_days_before(day, n) == cutoff


@pytest.fixture
def setup(db, make_user, make_person):  # type: ignore[no-untyped-def]
    user = make_user(Role.coordinator)
    person = make_person("Alert", "Subject")
    db.rollback()

    def fires(rule_id: str) -> bool:
        db.flush()
        cutoffs = alerts.Cutoffs.for_day(TODAY, get_settings(), now=NOW)
        return rule_id in {r.id for r in alerts.firing(db, cutoffs, [person.id]).get(person.id, [])}

    def detain(start: date, facility: str = "Brook House", arrived: datetime | None = None,
               exam: datetime | None = None) -> DetentionEpisode:
        episode = DetentionEpisode(person_id=person.id, start_date=start)
        db.add(episode)
        db.flush()
        facility_id = db.scalar(select(Facility.id).where(Facility.name == facility))
        db.add(Placement(episode_id=episode.id, facility_id=facility_id, date_in=start, arrived_at=arrived,
                         gp_exam_at=exam))
        return episode

    return db, user, person, fires, detain


def test_no_admission_exam_after_24_hours_in_a_removal_centre(setup):
    db, _, _, fires, detain = setup
    detain(TODAY, arrived=NOW - timedelta(hours=23))
    assert not fires("no_admission_exam")
    db.scalars(select(Placement)).one().arrived_at = NOW - timedelta(hours=25)
    assert fires("no_admission_exam")
    db.scalars(select(Placement)).one().gp_exam_at = NOW - timedelta(hours=1)
    assert not fires("no_admission_exam")


def test_no_admission_exam_after_2_hours_in_a_holding_facility(setup):
    db, _, _, fires, detain = setup
    detain(TODAY, facility="Larne House", arrived=NOW - timedelta(minutes=90))
    assert not fires("no_admission_exam")
    db.scalars(select(Placement)).one().arrived_at = NOW - timedelta(hours=3)
    assert fires("no_admission_exam")


def test_rule35_response_overdue_after_two_working_days(setup):
    db, user, person, fires, _ = setup
    report = Rule35Record(person_id=person.id, limb=Rule35Limb.torture, written_date=date(2026, 3, 9),
                          sent_date=date(2026, 3, 10), consent_to_send=True, created_by_id=user.id)
    db.add(report)
    assert not fires("rule35_response_overdue")  # sent Tue: only Wed has passed
    report.sent_date = date(2026, 3, 9)
    assert fires("rule35_response_overdue")  # sent Mon: Tue and Wed have passed
    report.response_date = date(2026, 3, 11)
    assert not fires("rule35_response_overdue")


def test_torture_indicator_needs_a_rule35_3_an_mlr_or_a_referral(setup):
    db, user, person, fires, _ = setup
    assert not fires("torture_without_evidence")
    db.add(PersonAarIndicator(person_id=person.id, indicator=AarIndicator.torture))
    assert fires("torture_without_evidence")
    item = EvidenceItem(person_id=person.id, kind=EvidenceKind.medico_legal_report, created_by_id=user.id)
    db.add(item)
    assert not fires("torture_without_evidence")
    db.delete(item)
    organisation = db.scalar(select(Organisation).where(Organisation.name == "Freedom from Torture"))
    db.add(Referral(person_id=person.id, organisation_id=organisation.id, made_by_id=user.id))
    assert not fires("torture_without_evidence")


def test_self_harm_in_this_detention_needs_a_rule35_1_or_2(setup):
    db, user, person, fires, detain = setup
    detain(TODAY - timedelta(days=20))
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.self_harm, recorded_by_id=user.id,
                       started_at=NOW - timedelta(days=30)))  # before this detention
    assert not fires("self_harm_without_rule35")
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.acdt_opened, recorded_by_id=user.id,
                       started_at=NOW - timedelta(days=3)))
    assert fires("self_harm_without_rule35")
    db.add(Rule35Record(person_id=person.id, limb=Rule35Limb.suicidal_intentions, written_date=TODAY,
                        created_by_id=user.id))
    assert not fires("self_harm_without_rule35")


@pytest.mark.parametrize(("kind", "hours", "expected"), [
    (HealthEventKind.fluid_refusal, 23, False), (HealthEventKind.fluid_refusal, 25, True),
    (HealthEventKind.food_refusal, 47, False), (HealthEventKind.food_refusal, 49, True),
])
def test_food_and_fluid_refusal_thresholds(setup, kind, hours, expected):
    db, user, person, fires, _ = setup
    event = HealthEvent(person_id=person.id, kind=kind, recorded_by_id=user.id,
                        started_at=NOW - timedelta(hours=hours))
    db.add(event)
    assert fires("food_fluid_refusal") is expected
    event.ended_at = NOW
    assert not fires("food_fluid_refusal")


def test_nrm_decision_outstanding_after_five_working_days(setup):
    db, user, person, fires, _ = setup
    organisation = db.scalar(select(Organisation).where(Organisation.name == "Salvation Army"))
    referral = Referral(person_id=person.id, organisation_id=organisation.id, made_by_id=user.id,
                        status=ReferralStatus.sent, made_date=date(2026, 3, 5))
    db.add(referral)
    db.flush()
    nrm = NrmReferral(referral_id=referral.id)
    db.add(nrm)
    assert not fires("nrm_decision_outstanding")  # Thu 5th: Fri, Mon, Tue, Wed = 4 working days
    referral.made_date = date(2026, 3, 4)
    assert fires("nrm_decision_outstanding")
    nrm.reasonable_grounds_date = date(2026, 3, 11)
    assert not fires("nrm_decision_outstanding")


def test_visit_follow_up_overdue_until_a_later_visit(setup):
    db, user, person, fires, _ = setup
    db.add(Visit(person_id=person.id, clinician_id=user.id, visit_date=TODAY - timedelta(days=10),
                 mode=VisitMode.in_person, follow_up_date=TODAY))
    assert not fires("visit_follow_up_overdue")  # due today, not yet overdue
    db.scalars(select(Visit)).one().follow_up_date = TODAY - timedelta(days=1)
    assert fires("visit_follow_up_overdue")
    db.add(Visit(person_id=person.id, clinician_id=user.id, visit_date=TODAY, mode=VisitMode.phone))
    assert not fires("visit_follow_up_overdue")


def test_referral_follow_up_overdue_until_a_response(setup):
    db, user, person, fires, _ = setup
    organisation = db.scalar(select(Organisation).where(Organisation.name == "Helen Bamber Foundation"))
    referral = Referral(person_id=person.id, organisation_id=organisation.id, made_by_id=user.id,
                        status=ReferralStatus.sent, made_date=TODAY - timedelta(days=20),
                        follow_up_date=TODAY - timedelta(days=1))
    db.add(referral)
    assert fires("referral_follow_up_overdue")
    referral.status = ReferralStatus.accepted
    referral.response_date = TODAY
    assert not fires("referral_follow_up_overdue")


def test_consent_missing_for_the_care_record_or_a_sent_referral(setup):
    db, user, person, fires, _ = setup
    assert fires("consent_missing")
    care = Consent(person_id=person.id, purpose=ConsentPurpose.care_record, given_date=TODAY - timedelta(days=5),
                   method=ConsentMethod.written, recorded_by_id=user.id)
    db.add(care)
    assert not fires("consent_missing")
    organisation = db.scalar(select(Organisation).where(Organisation.name == "Helen Bamber Foundation"))
    db.add(Referral(person_id=person.id, organisation_id=organisation.id, made_by_id=user.id,
                    status=ReferralStatus.sent, made_date=TODAY))
    assert fires("consent_missing")
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.share_with_organisation,
                   organisation_id=organisation.id, given_date=TODAY, method=ConsentMethod.verbal,
                   recorded_by_id=user.id))
    assert not fires("consent_missing")
    care.withdrawn_date = TODAY
    care.withdrawal_recorded_by_id = user.id
    assert fires("consent_missing")
