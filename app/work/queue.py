"""The work queue at the top of every start page: what needs this user now, across the tasks given to them and the
alerts of their cases, most pressing first, each with the link that does it.

"Their cases" are the people a clinician is assigned to and the cases a coordinator or administrator leads; a
researcher has no cases, so only their own tasks about no one. The alerts come from the kept flags
(app/alerts/state.py), which the dashboard has just brought up to date, so the queue costs two statements
whatever the caseload: the user's open tasks, and their cases with an urgent or due-soon alert. Administrative
alerts (a consent to record, a review point of the detention clock) fire for many cases at once and are not
listed person by person here: the dashboard counts them, and the people list filters by them.

Order: urgent, then due soon, then admin; within a severity the earliest due first (an alert is due today, the
day it fires; a task on its due date; a task with no date last), then tasks before alerts, then by case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, select, union_all
from sqlalchemy.orm import Session

from app.alerts import state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES, SEVERITY_LABELS, SEVERITY_ORDER, AlertRule, Severity
from app.alerts.triggers import fallback_link
from app.auth.models import Role, User
from app.config import Settings
from app.crypto.fields import open_value
from app.crypto.keyring import session_keyring
from app.crypto.models import PersonKey
from app.people import service as people_service
from app.people.models import Identity, Person
from app.people.service import PersonRow
from app.work import tasks

# How many cases with an urgent alert, and then with a due-soon one, the queue reads, and how many of the user's
# open tasks: beyond these the page says there are more, and the people list and the task list show them all.
CASES_SHOWN = 50
TASKS_READ = 50
# How many items the start page lists before "Show all".
FIRST_SHOWN = 10
PRESSING = (Severity.urgent, Severity.due_soon)
_MASKS = {severity: sum(state.BIT[rule_id] for rule_id, rule in RULES.items() if rule.severity is severity)
          for severity in Severity}


@dataclass(frozen=True)
class QueueItem:
    severity: Severity
    due: date | None
    title: str
    action: str  # the link's words
    href: str
    reference: str | None = None
    names: _Names | None = None  # a case's names, for an alert's item
    why: str | None = None  # the alert's explanation, folded away on the page
    task: tasks.TaskRow | None = None
    rule: AlertRule | None = None

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    def overdue(self, today: date) -> bool:
        return self.due is not None and self.due < today

    def sort_key(self) -> tuple[Any, ...]:
        return (SEVERITY_ORDER[self.severity], self.due is None, self.due or date.max, self.task is None,
                self.reference or "", self.task.task.id if self.task else 0, self.rule.id if self.rule else "")


@dataclass(frozen=True)
class Queue:
    items: list[QueueItem]
    more_cases: bool  # more of this user's cases have a pressing alert than the queue read
    more_tasks: bool  # and more open tasks
    own_cases: str  # how the page names this user's cases ("the people assigned to you")


def own_cases(user: User) -> ColumnElement[bool] | None:
    """Condition on Person for this user's cases; None for a user with no cases (a researcher)."""
    if user.role is Role.clinician:
        return people_service.assigned_to(user.id)
    if user.role in (Role.admin, Role.coordinator):
        return Person.lead_coordinator_id == user.id
    return None


def _task_severity(row: tasks.TaskRow, today: date) -> Severity:
    """A task made from an alert is as pressing as the alert; any other is due soon when overdue or due within
    the working days a task from an alert is given, and admin otherwise. An overdue task is never admin."""
    task = row.task
    rule = RULES.get(task.from_alert) if task.from_alert else None
    soon = task.due_date is not None and task.due_date <= tasks.add_working_days(today, tasks.FROM_ALERT_WORKING_DAYS)
    graded = rule.severity if rule is not None else (Severity.due_soon if soon else Severity.admin)
    if graded is Severity.admin and tasks.overdue(task, today):
        return Severity.due_soon
    return graded


def _task_item(row: tasks.TaskRow, today: date) -> QueueItem:
    task = row.task
    rule = RULES.get(task.from_alert) if task.from_alert else None
    if row.reference is None:
        href, action = f"/tasks#task-{task.id}", "See it in your tasks"
    elif rule is not None:
        href, action = fallback_link(rule.id, f"/people/{row.reference}")[0], rule.action
    else:
        href, action = f"/people/{row.reference}#tasks-section", "Open the case"
    return QueueItem(severity=_task_severity(row, today), due=task.due_date, title=task.title, action=action,
                     href=href, reference=row.reference, task=row, rule=rule)


def _case_rows(db: Session, mine: ColumnElement[bool]) -> tuple[list[_Case], bool]:
    """Up to CASES_SHOWN of the user's open cases with an urgent alert, then as many with a due-soon one, with
    their names, and whether there are more than that: one statement. Each half walks the user's open cases in
    id order and stops at its limit (no sort of every case they have)."""
    flags = PersonAlertState.flags

    def half(condition: ColumnElement[bool], rank: int) -> Any:
        return (select(Person.id, Person.reference, Identity.given_names_sealed.label("given_names"),
                       Identity.family_name_sealed.label("family_name"), flags, literal(rank).label("rank"),
                       PersonKey.wrapped_key, PersonKey.master_key_id)
                .select_from(PersonAlertState)
                .join(Person, Person.id == PersonAlertState.person_id)
                .join(Identity, Identity.person_id == Person.id)
                .outerjoin(PersonKey, PersonKey.person_id == Person.id)
                .where(mine, Person.closed_date.is_(None), condition)
                .order_by(Person.id).limit(CASES_SHOWN + 1).subquery())

    urgent = flags.op("&")(_MASKS[Severity.urgent]) != 0
    due_soon = and_(flags.op("&")(_MASKS[Severity.urgent]) == 0, flags.op("&")(_MASKS[Severity.due_soon]) != 0)
    both = union_all(select(half(urgent, 0)), select(half(due_soon, 1))).subquery()
    rows = db.execute(select(both).order_by(both.c.rank, both.c.id)).all()
    return [_case_from_row(db, row) for row in rows[:CASES_SHOWN]], len(rows) > CASES_SHOWN


class _Names:
    """A case's names as the queue shows them: opened only for the items a page lists (each opening unwraps the
    person's key, and the queue reads more cases than it shows)."""

    def __init__(self, db: Session | None, person_id: int, given: Any, family: Any) -> None:
        self._db, self._person_id, self._given, self._family = db, person_id, given, family

    def _open(self, blob: Any, where: str) -> str:
        if self._db is None:
            return blob  # already opened (a clinician's caseload)
        return open_value(session_keyring(self._db).key(self._person_id), "text", blob, where)

    @cached_property
    def given_names(self) -> str:
        return self._open(self._given, "identities.given_names")

    @cached_property
    def family_name(self) -> str:
        return self._open(self._family, "identities.family_name")


@dataclass(frozen=True)
class _Case:
    reference: str
    names: _Names
    rules: list[AlertRule]


def _pressing(rules: Sequence[AlertRule]) -> list[AlertRule]:
    return [rule for rule in rules if rule.severity in PRESSING]


def _case_from_row(db: Session, row: Any) -> _Case:
    session_keyring(db).remember_wrapped(row.id, row.wrapped_key, row.master_key_id)
    return _Case(row.reference, _Names(db, row.id, row.given_names, row.family_name),
                 _pressing([rule for rule_id, rule in RULES.items() if row.flags & state.BIT[rule_id]]))


def _alert_items(cases: Sequence[_Case], own_tasks: set[tuple[str | None, str]], today: date,
                 settings: Settings) -> list[QueueItem]:
    items = []
    for case in cases:
        for rule in case.rules:
            if (case.reference, rule.id) in own_tasks:
                continue
            href = fallback_link(rule.id, f"/people/{case.reference}")[0]
            items.append(QueueItem(severity=rule.severity, due=today, title=rule.heading(settings),
                                   action=rule.action, href=href, reference=case.reference, names=case.names,
                                   why=rule.describe(settings), rule=rule))
    return items


OWN_CASES_WORDS = {Role.clinician: "the people assigned to you", Role.admin: "the cases you lead",
                   Role.coordinator: "the cases you lead"}


def for_user(db: Session, user: User, today: date, settings: Settings, *,
             caseload: Sequence[PersonRow] | None = None) -> Queue:
    """This user's queue: two statements, or one for a researcher and for a clinician whose whole `caseload`
    (their open cases, each with the alerts firing for them) the page has already read."""
    task_rows = tasks.most_pressing_for_user(db, user, TASKS_READ + 1)
    more_tasks = len(task_rows) > TASKS_READ
    task_rows = task_rows[:TASKS_READ]
    # An alert the user already has a task for appears once, as that task.
    own = {(row.reference, row.task.from_alert) for row in task_rows if row.task.from_alert}
    items = [_task_item(row, today) for row in task_rows]
    mine = own_cases(user)
    more_cases = False
    if caseload is not None:
        cases = [_Case(row.reference, _Names(None, row.id, row.given_names, row.family_name), _pressing(row.alerts))
                 for row in caseload]
        cases = [case for case in cases if case.rules]
    elif mine is not None:
        cases, more_cases = _case_rows(db, mine)
    else:
        cases = []
    items += _alert_items(cases, own, today, settings)
    items.sort(key=QueueItem.sort_key)
    return Queue(items, more_cases, more_tasks, OWN_CASES_WORDS.get(user.role, ""))
