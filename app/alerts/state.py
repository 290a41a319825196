"""Keeping every case's alert flags fresh: invalidated by any change to the case, recomputed when stale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, event, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from app.alerts import service as alerts
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES, AlertRule
from app.audit.models import AuditEvent
from app.detention.models import (
    DetentionEpisode,
    Facility,
    FacilityType,
    Hearing,
    Placement,
    RemovalDirection,
    RemovalStatus,
)
from app.health_events.models import HealthEvent, HealthEventKind
from app.people.models import Assignment, Person, PersonStatus
from app.referrals.models import NrmReferral, Referral

# Not alerts, but kept with them so that the dashboard counts everything it shows from the flags alone: nobody
# is assigned to the case; the case is open (not closed); the person is detained (their status).
UNASSIGNED = "unassigned"
OPEN_CASE = "open_case"
DETAINED = "detained"
# Bit i of PersonAlertState.flags is FLAGS[i]: a fixed order, not the order pages show the rules in. Append only:
# reordering would misread stored rows until they are recomputed (a new flag needs a migration that sets its
# bit on existing rows, as 0011 and 0013 do, or marks every row stale, as 0017 does).
FLAGS: tuple[str, ...] = (
    "detained_28_days", "length_band_crossed", "auto_bail_referral_due", "no_admission_exam",
    "rule35_response_overdue", "torture_without_evidence", "self_harm_without_rule35", "food_fluid_refusal",
    "nrm_decision_outstanding", "visit_follow_up_overdue", "referral_follow_up_overdue", "consent_missing",
    "bail_reapplication_open", alerts.UPCOMING, alerts.NO_RECENT_VISIT, UNASSIGNED, OPEN_CASE, DETAINED,
    "removal_imminent", "hearing_soon", "report_overdue",
)
BIT = {flag: 1 << i for i, flag in enumerate(FLAGS)}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Rules counted in hours (food and fluid refusal, the admission examination) can start firing between two
# writes; a case with one of them pending is re-checked this often.
HOURLY_RECHECK = timedelta(minutes=10)
_CHUNK = 2000


def _next_midnight(cutoffs: alerts.Cutoffs, zone: Any) -> datetime:
    local = datetime.combine(cutoffs.today + timedelta(days=1), time(0), zone)
    return local.astimezone(UTC)


def _condition(flag: str, cutoffs: alerts.Cutoffs, current: Any, among: Any) -> Any:
    if flag == UNASSIGNED:
        return ~exists().where(Assignment.person_id == Person.id, Assignment.ended_at.is_(None))
    if flag == OPEN_CASE:
        return Person.closed_date.is_(None)
    if flag == DETAINED:
        return Person.status == PersonStatus.detained
    return alerts.sql_condition(flag, cutoffs, current, among=among)


@dataclass(frozen=True)
class Computed:
    flags: int
    valid_until: datetime
    generation: int  # of the kept row when read (0 when there was none): the store only overwrites that one


def compute(db: Session, cutoffs: alerts.Cutoffs, person_ids: Sequence[int], zone: Any) -> dict[int, Computed]:
    """Flags and validity for these people, in one statement whatever their number."""
    if not person_ids:
        return {}
    current = aliased(DetentionEpisode)
    among = list(person_ids)
    # Whoever has something counted in hours still running, and not yet firing, is re-checked soon; everyone
    # else at midnight, when every day-counted rule next moves. (Once an hour-counted rule fires it stays on
    # until a change to the case, which marks the flags stale anyway.)
    refusing = exists().where(
        HealthEvent.person_id == Person.id, HealthEvent.ended_at.is_(None),
        HealthEvent.kind.in_([HealthEventKind.food_refusal, HealthEventKind.fluid_refusal]))
    awaiting_exam = exists().where(
        Placement.episode_id == current.id, Placement.date_out.is_(None), Placement.gp_exam_at.is_(None),
        Facility.id == Placement.facility_id, Facility.type.in_([FacilityType.irc, FacilityType.sthf]))
    # A removal direction or a hearing moves the flags at two moments: when it comes within its alert's window,
    # and when its time passes. The soonest of these still ahead is when these flags stop being true.
    next_removal = (select(func.min(RemovalDirection.removal_at))
                    .where(RemovalDirection.person_id == Person.id, RemovalDirection.status == RemovalStatus.set,
                           RemovalDirection.removal_at > cutoffs.now).scalar_subquery())
    next_hearing = (select(func.min(Hearing.hearing_at))
                    .where(Hearing.person_id == Person.id, Hearing.outcome.is_(None),
                           Hearing.hearing_at > cutoffs.now).scalar_subquery())
    rows = db.execute(
        select(Person.id, func.coalesce(PersonAlertState.generation, 0), refusing, awaiting_exam, next_removal,
               next_hearing, *(case((_condition(flag, cutoffs, current, among), BIT[flag]), else_=0)
                               for flag in FLAGS))
        .select_from(Person)
        .outerjoin(current, and_(current.person_id == Person.id, current.end_date.is_(None)))
        .outerjoin(PersonAlertState, PersonAlertState.person_id == Person.id)
        .where(Person.id.in_(among))
    ).all()
    midnight = _next_midnight(cutoffs, zone)
    soon = min(midnight, cutoffs.now + HOURLY_RECHECK)
    result: dict[int, Computed] = {}
    windows = (cutoffs.removal_until - cutoffs.now, cutoffs.hearing_until - cutoffs.now)
    for row in rows:
        person_id, generation, is_refusing, is_awaiting_exam, flags = row[0], row[1], row[2], row[3], sum(row[6:])
        pending = ((is_refusing and not flags & BIT["food_fluid_refusal"])
                   or (is_awaiting_exam and not flags & BIT["no_admission_exam"]))
        until = soon if pending else midnight
        for at, window in zip(row[4:6], windows, strict=True):
            if at is not None:
                at = _aware(at)
                until = min(until, at - window if at - window > cutoffs.now else at)
        result[person_id] = Computed(flags, until, generation)
    return result


def _upsert(db: Session, values: list[dict[str, Any]]) -> None:
    """Stores computed flags. A kept row is overwritten only while it is the generation they were computed
    from: a change to the case since (app/alerts/state.py's invalidation adds one to it) leaves it stale, to be
    computed again, rather than marked fresh with flags read before that change."""
    if not values:
        return
    dialect = db.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(PersonAlertState).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[PersonAlertState.person_id],
        set_={"flags": statement.excluded.flags, "valid_until": statement.excluded.valid_until,
              "computed_at": statement.excluded.computed_at},
        where=PersonAlertState.generation == statement.excluded.generation)
    db.execute(statement)


def _store(db: Session, cutoffs: alerts.Cutoffs, computed: dict[int, Computed]) -> None:
    _upsert(db, [{"person_id": pid, "flags": c.flags, "valid_until": c.valid_until, "computed_at": cutoffs.now,
                  "generation": c.generation} for pid, c in computed.items()])


def refresh(db: Session, cutoffs: alerts.Cutoffs, zone: Any, *, everyone: bool = False,
            budget: int | None = None) -> int:
    """Recomputes stale rows, the longest-stale first, at most `budget` of them, and returns how many stale rows
    remain. The budget keeps one request short after midnight, when every case goes stale at once; the rest
    follow on later requests (or `casework refresh-alerts` from cron). `everyone` also computes people with no
    row yet, as after a bulk load that bypassed the session.

    Flags may be computed from a page view's snapshot, before it takes the write lock: storing them is guarded
    by the row's generation (see _upsert), so a change committed meanwhile is never hidden."""
    stale = select(PersonAlertState.person_id).where(PersonAlertState.valid_until <= cutoffs.now)
    # Several PostgreSQL workers refreshing at once take disjoint rows (SKIP LOCKED) instead of colliding on the
    # same upserts; SQLite runs one writer at a time and renders no FOR UPDATE.
    due = stale.order_by(PersonAlertState.valid_until).limit(budget).with_for_update(skip_locked=True)
    ids = list(db.scalars(due))
    if everyone:
        ids += db.scalars(select(Person.id).outerjoin(PersonAlertState, PersonAlertState.person_id == Person.id)
                          .where(PersonAlertState.person_id.is_(None)))
    ids = sorted(set(ids))
    for start in range(0, len(ids), _CHUNK):
        _store(db, cutoffs, compute(db, cutoffs, ids[start:start + _CHUNK], zone))
    if budget is None and not everyone or budget is not None and len(ids) < budget:
        return 0  # fewer than the budget were stale: all of them are done
    return db.scalar(select(func.count()).select_from(PersonAlertState)
                     .where(PersonAlertState.valid_until <= cutoffs.now)) or 0


def firing(db: Session, cutoffs: alerts.Cutoffs, person_ids: list[int],
           read: Sequence[tuple[int, int | None, datetime | None]] | None = None) -> dict[int, list[AlertRule]]:
    """The same answer as `alerts.firing`, read from the kept flags: one indexed lookup for a page of people,
    with the live rules worked out only for those whose flags are stale (just changed, or not yet refreshed).
    `read` is (person id, flags, valid until) for each of them when the page's own query brought those along,
    which saves the lookup."""
    if read is None:
        kept = dict(db.execute(select(PersonAlertState.person_id, PersonAlertState.flags).where(
            PersonAlertState.person_id.in_(person_ids), PersonAlertState.valid_until > cutoffs.now)).all())
    else:
        kept = {pid: flags for pid, flags, until in read
                if flags is not None and until is not None and _aware(until) > cutoffs.now}
    answer = {pid: [rule for rule_id, rule in RULES.items() if flags & BIT[rule_id]] for pid, flags in kept.items()}
    stale = [pid for pid in person_ids if pid not in kept]
    return answer | (alerts.firing(db, cutoffs, stale) if stale else {})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def has(flag: str) -> Any:
    return PersonAlertState.flags.op("&")(BIT[flag]) != 0


# --- invalidation ------------------------------------------------------------------------------------------

def _person_ids_touched(session: Session) -> set[int]:
    ids: set[int] = set()
    episodes: set[int] = set()
    referrals: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, PersonAlertState | AuditEvent):  # an audit row (a view, a refusal) changes no case
            continue
        if isinstance(obj, Person):
            if obj.id is not None:
                ids.add(obj.id)
        elif isinstance(obj, Placement):
            episodes.add(obj.episode_id)
        elif isinstance(obj, NrmReferral):
            referrals.add(obj.referral_id)
        else:
            person_id = getattr(obj, "person_id", None)
            if isinstance(person_id, int):
                ids.add(person_id)
    if episodes:
        ids |= set(session.scalars(select(DetentionEpisode.person_id).where(DetentionEpisode.id.in_(episodes))))
    if referrals:
        ids |= set(session.scalars(select(Referral.person_id).where(Referral.id.in_(referrals))))
    return ids


@event.listens_for(Session, "after_flush")
def _invalidate(session: Session, _context: Any) -> None:
    """Any change to a case marks its flags stale in the same transaction, so no write path can forget to."""
    new_people = [obj.id for obj in session.new if isinstance(obj, Person)]
    ids = _person_ids_touched(session) - set(new_people)
    if ids:
        session.execute(update(PersonAlertState).where(PersonAlertState.person_id.in_(ids))
                        .values(valid_until=EPOCH, generation=PersonAlertState.generation + 1)
                        .execution_options(synchronize_session=False))
    if new_people:
        _upsert(session, [{"person_id": pid, "flags": 0, "valid_until": EPOCH, "computed_at": None,
                           "generation": 0} for pid in new_people])
