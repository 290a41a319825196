"""Tasks: making one (from an alert in one click, or not), marking it done or open again, and the lists of a
user and of a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from app.alerts.rules import RULES, Severity
from app.audit import revisions
from app.auth.models import Role, User
from app.config import organisation_today
from app.crypto.keyring import session_keyring
from app.crypto.models import PersonKey
from app.db import check_version, utcnow
from app.errors import FORM_ERROR, RuleBroken
from app.people.models import Assignment, Person
from app.work.models import Task

if TYPE_CHECKING:
    from app.work.schemas import TaskForm

# The title a task made from an alert starts with, one per alert rule (app/alerts/rules.py): what a coordinator
# or clinician does about it. A rule not declared (yet) in RULES is never offered, whatever is listed here.
TASK_TITLES: dict[str, str] = {
    "removal_imminent": "Tell the solicitor about the removal and send any medical evidence",
    "hearing_soon": "Check the evidence and any medical report have reached the representative before the hearing",
    "detained_28_days": "Consider a bail application with the representative",
    "length_band_crossed": "Review whether detention is still justified in its new length band",
    "auto_bail_referral_due": "Check the Home Office has referred the case to the Tribunal for bail",
    "no_admission_exam": "Ask the centre's healthcare team for the admission GP examination",
    "rule35_response_overdue": "Chase the Home Office for the Rule 35 response",
    "torture_without_evidence": "Arrange a Rule 35(3) report or a medico-legal report",
    "self_harm_without_rule35": "Ask the centre's GP for a Rule 35(1) or 35(2) report",
    "food_fluid_refusal": "Arrange an urgent medical review of the food or fluid refusal",
    "nrm_decision_outstanding": "Chase the reasonable-grounds decision on the NRM referral",
    "visit_follow_up_overdue": "Arrange the follow-up visit",
    "referral_follow_up_overdue": "Chase the referral for a response",
    "consent_missing": "Record the missing consent",
    "bail_reapplication_open": "Discuss a new bail application with the representative",
    "request_untriaged": "Triage the waiting request for help",
    "report_overdue": "Finish and sign the medico-legal report",
    "task_overdue": "Finish the overdue task or agree a new date",
}
# A task made from an urgent alert (safety, or a deadline today) is due today; from any other, in two working days.
FROM_ALERT_WORKING_DAYS = 2
# How long a task done stays on its assignee's list.
DONE_SHOWN_DAYS = 14

_FIELDS = ("title", "assignee_id", "due_date", "from_alert", "done_at", "done_by_id")


def task_title_for(rule_id: str | None) -> str | None:
    """The pre-filled title of a task made from the alert `rule_id`; None for anything that is not a rule."""
    if rule_id is None or rule_id not in RULES:
        return None
    return TASK_TITLES.get(rule_id)


def add_working_days(day: date, n: int) -> date:
    """The n-th working day (Monday to Friday) after `day`. Bank holidays count as working days."""
    current, counted = day, 0
    while counted < n:
        current += timedelta(days=1)
        if current.weekday() < 5:
            counted += 1
    return current


def suggested_due(rule_id: str, today: date) -> date:
    rule = RULES.get(rule_id)
    if rule is not None and rule.severity is Severity.urgent:
        return today
    return add_working_days(today, FROM_ALERT_WORKING_DAYS)


def overdue(task: Task, today: date) -> bool:
    return task.done_at is None and task.due_date is not None and task.due_date < today


def _snapshot(task: Task) -> dict[str, Any]:
    return {name: getattr(task, name) for name in _FIELDS}


def _assigned(person_id: int) -> Any:
    """Condition on User: a clinician with an open assignment to this person."""
    return exists().where(Assignment.person_id == person_id, Assignment.clinician_id == User.id,
                          Assignment.ended_at.is_(None))


def _may_hold(person: Person | None) -> Any:
    """Condition on User: an active user who may be given a task about `person` (None: a task about no one).
    About a person, only someone who may see them: coordinators and admins, and the clinicians assigned."""
    if person is None:
        return User.is_active.is_(True)
    return and_(User.is_active.is_(True),
                or_(User.role.in_([Role.admin, Role.coordinator]),
                    and_(User.role == Role.clinician, _assigned(person.id))))


def assignee_choices(db: Session, person: Person | None) -> list[tuple[int, str]]:
    return [(user_id, f"{name} ({role.label.lower()})") for user_id, name, role in db.execute(
        select(User.id, User.display_name, User.role).where(_may_hold(person)).order_by(User.display_name, User.id))]


def _check_assignee(db: Session, person: Person | None, assignee_id: int) -> User:
    assignee = db.get(User, assignee_id)
    if assignee is None or not assignee.is_active:
        raise RuleBroken.on("assignee_id", "Choose who will do it from the list.")
    if person is None:
        return assignee
    if assignee.role is Role.researcher:
        raise RuleBroken.on("assignee_id", f"{assignee.display_name} cannot see this person's record: choose a "
                                           "coordinator or a clinician assigned to them.")
    if assignee.role is Role.clinician and not db.scalar(select(_assigned(person.id)).where(User.id == assignee.id)):
        raise RuleBroken.on("assignee_id", f"{assignee.display_name} is not assigned to this person: choose a "
                                           "clinician assigned to them, or a coordinator.")
    return assignee


def create(db: Session, actor: User, data: TaskForm, person: Person | None, today: date) -> Task:
    """A new task, open. Its title is sealed with the person's key, or kept plain when it is about no one (and
    then no alert can be its origin). A new task conflicts with nothing, so the form's version is not checked."""
    assignee = _check_assignee(db, person, data.assignee_id)
    if data.due_date is not None and data.due_date < today:
        raise RuleBroken.on("due_date", "The due date cannot be in the past.")
    task = Task(person_id=person.id if person is not None else None, title=data.title, assignee_id=assignee.id,
                due_date=data.due_date, from_alert=data.from_alert if person is not None else None,
                made_by_id=actor.id)
    db.add(task)
    db.flush()
    revisions.record(db, actor_id=actor.id, table="tasks", row_id=task.id, person_id=task.person_id,
                     before=None, after=_snapshot(task))
    return task


def mark_done(db: Session, actor: User, task: Task, version: int | None, *, now: datetime | None = None) -> None:
    check_version(task, version)
    if task.done_at is not None:
        raise RuleBroken.on(FORM_ERROR, "This task is already done.")
    before = _snapshot(task)
    task.done_at, task.done_by_id = now or utcnow(), actor.id
    db.flush()
    revisions.record(db, actor_id=actor.id, table="tasks", row_id=task.id, person_id=task.person_id,
                     before=before, after=_snapshot(task))


def reopen(db: Session, actor: User, task: Task, version: int | None) -> None:
    check_version(task, version)
    if task.done_at is None:
        raise RuleBroken.on(FORM_ERROR, "This task is not done: there is nothing to reopen.")
    before = _snapshot(task)
    task.done_at, task.done_by_id = None, None
    db.flush()
    revisions.record(db, actor_id=actor.id, table="tasks", row_id=task.id, person_id=task.person_id,
                     before=before, after=_snapshot(task))


@dataclass(frozen=True)
class TaskRow:
    task: Task
    reference: str | None  # the person's, for a task about someone
    assignee: str
    made_by: str

    def overdue(self, today: date) -> bool:
        return overdue(self.task, today)


def _order() -> list[Any]:
    """Open first, then by due date (none last), then oldest made first."""
    return [Task.done_at.is_not(None), Task.due_date.is_(None), Task.due_date, Task.made_at, Task.id]


def _rows(db: Session, statement: Any, order: list[Any] | None = None) -> list[TaskRow]:
    """The tasks with their case, assignee and maker. The titles are sealed: each row brings its person's
    wrapped key along, so opening them needs no key query of its own."""
    assignee, maker = aliased(User), aliased(User)
    rows = db.execute(statement.add_columns(Person.reference, assignee.display_name, maker.display_name,
                                            PersonKey.wrapped_key, PersonKey.master_key_id)
                      .outerjoin(Person, Person.id == Task.person_id)
                      .outerjoin(PersonKey, PersonKey.person_id == Task.person_id)
                      .join(assignee, assignee.id == Task.assignee_id)
                      .join(maker, maker.id == Task.made_by_id)
                      .order_by(*(order or _order()))).all()
    ring = session_keyring(db)
    for row in rows:
        if row.Task.person_id is not None:
            ring.remember_wrapped(row.Task.person_id, row.wrapped_key, row.master_key_id)
    return [TaskRow(task, reference, assignee_name, maker_name)
            for task, reference, assignee_name, maker_name, _wrapped, _key_id in rows]


def _given_to(user: User) -> ColumnElement[bool]:
    """The tasks given to `user` that they may still see. A clinician sees a task about a person only while
    assigned to them (their need-to-know lapses with it); a researcher never one about a person."""
    shown = Task.assignee_id == user.id
    if user.role is Role.clinician:
        return and_(shown, or_(Task.person_id.is_(None), Task.person_id.in_(
            select(Assignment.person_id).where(Assignment.clinician_id == user.id, Assignment.ended_at.is_(None)))))
    if user.role is Role.researcher:
        return and_(shown, Task.person_id.is_(None))
    return shown


def list_for_user(db: Session, user: User, *, limit: int | None = None, offset: int = 0) -> list[TaskRow]:
    """The open tasks given to `user`, soonest due first; `limit` and `offset` take a page of them."""
    return _rows(db, select(Task).where(_given_to(user), Task.done_at.is_(None)).limit(limit).offset(offset))


def recently_done_for_user(db: Session, user: User, limit: int, *, now: datetime | None = None) -> list[TaskRow]:
    """The tasks given to `user` done in the last DONE_SHOWN_DAYS, the latest first (at most `limit`)."""
    since = (now or utcnow()) - timedelta(days=DONE_SHOWN_DAYS)
    return _rows(db, select(Task).where(_given_to(user), Task.done_at >= since).limit(limit),
                 [Task.done_at.desc(), Task.id.desc()])


def most_pressing_for_user(db: Session, user: User, limit: int) -> list[TaskRow]:
    """At most `limit` of the user's open tasks, soonest due first, those with no date last. Those with a date
    and those without are each read in the order of the open-tasks index up to the limit, so that a user with
    thousands of open tasks does not have them all sorted for a few."""
    open_given = and_(_given_to(user), Task.done_at.is_(None))
    dated = select(Task.id).where(open_given, Task.due_date.is_not(None)).order_by(Task.due_date, Task.id)
    undated = select(Task.id).where(open_given, Task.due_date.is_(None)).order_by(Task.id)
    both = union_all(select(dated.limit(limit).subquery()), select(undated.limit(limit).subquery())).subquery()
    return _rows(db, select(Task).join(both, both.c.id == Task.id))[:limit]


def count_for_user(db: Session, user: User) -> int:
    return db.scalar(select(func.count()).select_from(Task).where(_given_to(user), Task.done_at.is_(None))) or 0


def for_person(db: Session, person_id: int) -> list[TaskRow]:
    """Every task about the person, open first by due date (one statement, whatever the record holds)."""
    return _rows(db, select(Task).where(Task.person_id == person_id))


def get(db: Session, person_id: int, task_id: int) -> Task | None:
    return db.scalar(select(Task).where(Task.id == task_id, Task.person_id == person_id))


def get_own(db: Session, user: User, task_id: int) -> Task | None:
    """A task about no one that `user` was given or made."""
    return db.scalar(select(Task).where(Task.id == task_id, Task.person_id.is_(None),
                                        or_(Task.assignee_id == user.id, Task.made_by_id == user.id)))


def tasks_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person page's tasks: open ones with their assignee and due date, and those done (one statement)."""
    rows = for_person(db, person.id)
    today = organisation_today()
    return {"open": [r for r in rows if r.task.done_at is None], "done": [r for r in rows if r.task.done_at],
            "today": today, "overdue": {r.task.id for r in rows if r.overdue(today)}}
