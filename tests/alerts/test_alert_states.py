"""The kept alert flags behind the dashboard: marked stale by any change, recomputed to match the live rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from app.alerts import service as alerts
from app.alerts import state
from app.alerts.models import PersonAlertState
from app.audit import service as audit
from app.auth.models import Role, User
from app.config import get_settings
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.demo.generator import refresh_alert_states
from app.health_events.models import HealthEvent, HealthEventKind
from app.home import dashboard
from app.people.models import Assignment, Person, PersonStatus
from app.visits.models import Visit, VisitMode


def _cutoffs(today, now=None):  # type: ignore[no-untyped-def]
    return alerts.Cutoffs.for_day(today, get_settings(), now=now)


def _row(db, person_id: int) -> PersonAlertState | None:  # type: ignore[no-untyped-def]
    # Refreshed from the database: the flags are written by Core statements, behind the identity map.
    return db.get(PersonAlertState, person_id, populate_existing=True)


def _kept(db, person_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    row = _row(db, person_id)
    assert row is not None
    return {flag for flag, bit in state.BIT.items() if row.flags & bit}


def _live(db, cutoffs, person_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    fired = {rule.id for rule in alerts.firing(db, cutoffs, [person_id])[person_id]}
    extra = {flag for flag in (alerts.UPCOMING, alerts.NO_RECENT_VISIT)
             if db.scalar(select(Person.id).outerjoin(alerts.DetentionEpisode, (alerts.DetentionEpisode.person_id
                                                                                == Person.id)
                                                      & alerts.DetentionEpisode.end_date.is_(None))
                          .where(Person.id == person_id, alerts.sql_condition(flag, cutoffs)))}
    assigned = db.scalar(select(Assignment.id).where(Assignment.person_id == person_id, Assignment.ended_at.is_(None))
                         .limit(1))
    person = db.get(Person, person_id)
    facts = {state.UNASSIGNED: not assigned, state.OPEN_CASE: person.closed_date is None,
             state.DETAINED: person.status is PersonStatus.detained}
    return fired | extra | {flag for flag, holds in facts.items() if holds}


def test_a_new_case_starts_stale_and_is_worked_out_to_match_the_live_rules(db, make_person, today):
    person = make_person("Fictiva", "Fresh", detained_days=40)
    db.rollback()
    assert _row(db, person.id).valid_until <= datetime.now(UTC)
    cutoffs = _cutoffs(today)
    assert state.refresh(db, cutoffs, get_settings().zone, budget=100) == 0
    assert _kept(db, person.id) == _live(db, cutoffs, person.id)
    assert {"detained_28_days", "consent_missing", "no_recent_visit"} <= _kept(db, person.id)


def test_any_change_to_the_case_marks_its_flags_stale(db, make_person, today):
    person = make_person("Fictivo", "Changed", detained_days=40)
    other = make_person("Fictiva", "Untouched", detained_days=40)
    db.rollback()
    cutoffs = _cutoffs(today)
    state.refresh(db, cutoffs, get_settings().zone)
    db.commit()
    assert "consent_missing" in _kept(db, person.id)
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.care_record, given_date=today,
                   method=ConsentMethod.verbal, recorded_by_id=actor))
    db.flush()
    assert _row(db, person.id).valid_until == state.EPOCH
    assert _row(db, other.id).valid_until > datetime.now(UTC)
    state.refresh(db, cutoffs, get_settings().zone)
    assert "consent_missing" not in _kept(db, person.id)
    assert _kept(db, person.id) == _live(db, cutoffs, person.id)


def test_viewing_a_case_leaves_its_flags_valid(db, make_person, today):
    # A view writes an audit row that names the person; it changes nothing the alerts read.
    person = make_person("Fictivo", "Viewed", detained_days=40)
    db.rollback()
    state.refresh(db, _cutoffs(today), get_settings().zone)
    db.commit()
    valid_until = _row(db, person.id).valid_until
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    audit.record(db, "person.viewed", actor_id=actor, person_id=person.id, object_type="person",
                 object_id=person.id)
    db.flush()
    assert _row(db, person.id).valid_until == valid_until > datetime.now(UTC)


def test_flags_expire_at_midnight_and_sooner_while_something_counted_in_hours_runs(db, make_person, today):
    person = make_person("Fictivo", "Waiting", detained_days=20)
    db.rollback()
    zone = get_settings().zone
    state.refresh(db, _cutoffs(today), zone)
    row = _row(db, person.id)
    assert "detained_28_days" not in _kept(db, person.id)
    assert row.valid_until == datetime.combine(today + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    # Ten days on, the same kept row is stale and the clock rule now fires.
    later = _cutoffs(today + timedelta(days=10), now=datetime.now(UTC) + timedelta(days=10))
    assert state.refresh(db, later, zone, budget=100) == 0
    assert "detained_28_days" in _kept(db, person.id)
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    # A fluid refusal two hours old is not yet an alert but will be within the day: re-checked soon.
    db.add(HealthEvent(person_id=person.id, kind=HealthEventKind.fluid_refusal, recorded_by_id=actor,
                       started_at=datetime.now(UTC) - timedelta(hours=2)))
    db.flush()
    now = datetime.now(UTC)
    state.refresh(db, _cutoffs(today, now=now), zone)
    assert _row(db, person.id).valid_until <= now + state.HOURLY_RECHECK


def test_the_budget_bounds_one_refresh_and_reports_what_is_left(db, make_person, today):
    people = [make_person("Fictiva", f"Budget{i}", detained_days=30) for i in range(5)]
    db.rollback()
    zone = get_settings().zone
    assert state.refresh(db, _cutoffs(today), zone, budget=2) == 3
    assert state.refresh(db, _cutoffs(today), zone, budget=2) == 1
    assert state.refresh(db, _cutoffs(today), zone, budget=2) == 0
    assert all(_kept(db, p.id) for p in people)


def test_bulk_loaded_cases_without_a_row_are_worked_out(db, make_person, engine, today):
    person = make_person("Fictivo", "Bulk", detained_days=35)
    db.rollback()
    db.execute(delete(PersonAlertState))
    db.commit()
    assert refresh_alert_states(engine) >= 1
    db.rollback()
    assert "detained_28_days" in _kept(db, person.id)


def test_dashboard_counts_follow_a_change_at_once_and_say_when_cases_are_still_to_be_checked(
        client, signed_in, make_person, db, today):
    signed_in(Role.coordinator)
    person = make_person("Fictiva", "Visited", detained_days=10)
    page = client.get("/").text
    assert "still to be re-checked" not in page
    db.rollback()
    actor = db.scalars(select(User.id).where(User.role == Role.admin)).first()
    db.add(Visit(person_id=person.id, clinician_id=actor, visit_date=today - timedelta(days=3),
                 mode=VisitMode.phone, follow_up_date=today - timedelta(days=1)))
    db.commit()
    page = client.get("/").text
    assert '<a href="/people?alert=visit_follow_up_overdue" class="figure-link">1<' in page
    many = [make_person("Fictivo", f"Stale{i}") for i in range(3)]
    db.rollback()
    db.execute(update(PersonAlertState).where(PersonAlertState.person_id.in_([p.id for p in many]))
               .values(valid_until=state.EPOCH))
    db.commit()
    settings = get_settings()
    original = settings.alert_refresh_budget
    settings.alert_refresh_budget = 1
    try:
        assert "2 cases are still to be re-checked" in client.get("/").text
        assert "1 case is still to be re-checked" in client.get("/").text
        assert "still to be re-checked" not in client.get("/").text
    finally:
        settings.alert_refresh_budget = original


def test_assigning_and_ending_an_assignment_moves_the_unassigned_count(db, make_person, make_user, today):
    person = make_person("Fictiva", "Unassigned", detained_days=5)
    db.rollback()
    cutoffs = _cutoffs(today)
    zone = get_settings().zone
    coordinator = make_user(Role.coordinator)
    clinician = make_user(Role.clinician).id
    state.refresh(db, cutoffs, zone)
    before = dashboard.figures(db, coordinator, cutoffs).unassigned
    assert state.UNASSIGNED in _kept(db, person.id)
    assignment = Assignment(person_id=person.id, clinician_id=clinician, assigned_by_id=coordinator.id)
    db.add(assignment)
    db.flush()
    assert _row(db, person.id).valid_until == state.EPOCH
    assert dashboard.figures(db, coordinator, cutoffs).unassigned == before - 1
    assert state.UNASSIGNED not in _kept(db, person.id)
    assignment.ended_at = datetime.now(UTC)
    db.flush()
    assert dashboard.figures(db, coordinator, cutoffs).unassigned == before
    assert _kept(db, person.id) == _live(db, cutoffs, person.id)
