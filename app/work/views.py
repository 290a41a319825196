"""Daily work pages: the contact log's forms on the person page (a note, an addendum); tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app.alerts.rules import RULES
from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import get_settings, organisation_today
from app.db import DbSession
from app.errors import found
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.web.forms import Posted, shown_on
from app.web.params import Id, query_id
from app.web.redirects import done
from app.web.templating import render
from app.work import notes, tasks
from app.work.models import CaseNote, Task
from app.work.schemas import AddendumForm, NoteForm, TaskDoneForm, TaskForm

RecordClinical = Depends(require(Permission.record_clinical))

# --- case notes (forms on the person page) ----------------------------------------------------------------------
# A note is never changed once saved: there is no route to edit or delete one, only to add an addendum.

notes_router = APIRouter(prefix="/people/{reference}/notes")


def note_in_case(person: CaseInScope, note_id: Id, db: DbSession) -> CaseNote:
    return found(notes.get(db, person.id, note_id))


CaseNoteInScope = Annotated[CaseNote, Depends(note_in_case)]


def _notes_url(person: Person) -> str:
    return f"/people/{person.reference}#notes-section"


@notes_router.post("")
@shown_on("/people/{reference}")
def note_record(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                data: NoteForm = Posted(NoteForm)) -> Response:
    note = notes.record(db, user, person, data)
    audit.record("note.recorded", note, note_id=note.id, kind=note.kind.value, with_whom=note.with_whom.value)
    return done(_notes_url(person), "Note recorded.")


@notes_router.post("/{note_id}/addenda")
@shown_on("/people/{reference}")
def note_addendum(person: CaseInScope, note: CaseNoteInScope, db: DbSession, audit: Audit,
                  user: User = RecordClinical, data: AddendumForm = Posted(AddendumForm)) -> Response:
    addendum = notes.add_addendum(db, user, person, note, data.text)
    audit.record("note.addendum_added", note, note_id=note.id, addendum_id=addendum.id)
    return done(_notes_url(person), "Addendum added.")


# --- tasks -------------------------------------------------------------------------------------------------------
# A task about a person is reached only through that person's address (so the case scope is checked every time);
# /tasks holds the user's own list and the tasks about no one.

tasks_router = APIRouter(prefix="/tasks")
person_tasks_router = APIRouter(prefix="/people/{reference}/tasks")
ViewHome = Depends(require(Permission.view_home))
ViewPerson = Depends(require(Permission.view_person))
TASKS_PATH = "/tasks"
TASKS_PAGE = 50  # open tasks per page of a user's list
WORK_QUEUE = "/#work-queue"
# An alert rule's id, as the link from an alert carries it: anything longer names no rule.
AlertRuleId = Annotated[str | None, Query(max_length=40)]


def own_task(task_id: Id, db: DbSession, user: User = ViewHome) -> Task:
    return found(tasks.get_own(db, user, task_id))


OwnTask = Annotated[Task, Depends(own_task)]


def task_in_case(person: CaseInScope, task_id: Id, db: DbSession) -> Task:
    return found(tasks.get(db, person.id, task_id))


CaseTask = Annotated[Task, Depends(task_in_case)]


def _tasks_url(person: Person) -> str:
    return f"/people/{person.reference}#tasks-section"


def _task_form(request: Request, db: DbSession, user: User, person: Person | None,
               values: dict[str, object]) -> Response:
    assignees = tasks.assignee_choices(db, person)
    if "assignee_id" not in values and any(user_id == user.id for user_id, _ in assignees):
        values["assignee_id"] = user.id
    settings = get_settings()
    return render(request, "work/task_form.html", {
        "person": person, "details": load_details(db, person) if person is not None else None,
        "assignees": assignees, "values": values, "errors": {},
        "alert_headings": {rule_id: rule.heading(settings) for rule_id, rule in RULES.items()},
        "action": f"/people/{person.reference}/tasks/new" if person is not None else "/tasks/new",
    })


@dataclass(frozen=True)
class TaskPage:
    page: int
    pages: int
    total: int


@tasks_router.get("")
def my_tasks(request: Request, db: DbSession, audit: Audit, user: User = ViewHome,
             page: Annotated[str | None, Query()] = None) -> Response:
    """The user's open tasks, a page at a time (a page number out of range shows the nearest page), and on the
    first page those done lately."""
    total = tasks.count_for_user(db, user)
    pages = max(1, -(-total // TASKS_PAGE))
    number = min(query_id(page) or 1, pages)
    open_rows = tasks.list_for_user(db, user, limit=TASKS_PAGE, offset=(number - 1) * TASKS_PAGE)
    done_rows = tasks.recently_done_for_user(db, user, TASKS_PAGE) if number == 1 else []
    audit.record("task.list_viewed", object_type="task_list", shown=len(open_rows) + len(done_rows))
    today = organisation_today()
    return render(request, "work/tasks.html", {
        "open": open_rows, "done": done_rows, "today": today,
        "overdue": {r.task.id for r in open_rows if r.overdue(today)}, "pager": TaskPage(number, pages, total),
        "page_link": lambda n: f"{TASKS_PATH}?page={n}", "done_days": tasks.DONE_SHOWN_DAYS, "done_shown": TASKS_PAGE,
        "values": {}, "errors": {},
    })


@tasks_router.get("/new")
def task_new(request: Request, db: DbSession, user: User = ViewHome) -> Response:
    return _task_form(request, db, user, None, {})


@tasks_router.post("/new")
def task_create(db: DbSession, audit: Audit, user: User = ViewHome, data: TaskForm = Posted(TaskForm)) -> Response:
    task = tasks.create(db, user, data, None, organisation_today())
    audit.record("task.created", task, task_id=task.id, from_alert=None)
    return done(TASKS_PATH, "Task added.")


@tasks_router.post("/{task_id}/done")
@shown_on(TASKS_PATH)
def task_done(task: OwnTask, db: DbSession, audit: Audit, user: User = ViewHome,
              data: TaskDoneForm = Posted(TaskDoneForm)) -> Response:
    tasks.mark_done(db, user, task, data.version)
    audit.record("task.done", task, task_id=task.id)
    return done(_back(None, data), "Task done.")


@tasks_router.post("/{task_id}/reopen")
@shown_on(TASKS_PATH)
def task_reopen(task: OwnTask, db: DbSession, audit: Audit, user: User = ViewHome,
                data: TaskDoneForm = Posted(TaskDoneForm)) -> Response:
    tasks.reopen(db, user, task, data.version)
    audit.record("task.reopened", task, task_id=task.id)
    return done(_back(None, data), "Task open again.")


@person_tasks_router.get("/new")
def person_task_new(request: Request, person: CaseInScope, db: DbSession, from_alert: AlertRuleId = None,
                    user: User = ViewPerson) -> Response:
    values: dict[str, object] = {}
    title = tasks.task_title_for(from_alert)
    # A link naming no rule (an alert since renamed, or typed by hand) opens the plain form: nothing is refused.
    if from_alert is not None and title is not None:
        values = {"title": title, "from_alert": from_alert,
                  "due_date": tasks.suggested_due(from_alert, organisation_today()).isoformat()}
    return _task_form(request, db, user, person, values)


@person_tasks_router.post("/new")
def person_task_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = ViewPerson,
                       data: TaskForm = Posted(TaskForm)) -> Response:
    task = tasks.create(db, user, data, person, organisation_today())
    audit.record("task.created", task, task_id=task.id, from_alert=task.from_alert)
    return done(_tasks_url(person), "Task added.")


def _back(person: Person | None, data: TaskDoneForm) -> str:
    if data.back == "home":
        return WORK_QUEUE
    return TASKS_PATH if data.back == "tasks" or person is None else _tasks_url(person)


@person_tasks_router.post("/{task_id}/done")
@shown_on("/people/{reference}")
def person_task_done(person: CaseInScope, task: CaseTask, db: DbSession, audit: Audit, user: User = ViewPerson,
                     data: TaskDoneForm = Posted(TaskDoneForm)) -> Response:
    tasks.mark_done(db, user, task, data.version)
    audit.record("task.done", task, task_id=task.id)
    return done(_back(person, data), "Task done.")


@person_tasks_router.post("/{task_id}/reopen")
@shown_on("/people/{reference}")
def person_task_reopen(person: CaseInScope, task: CaseTask, db: DbSession, audit: Audit, user: User = ViewPerson,
                       data: TaskDoneForm = Posted(TaskDoneForm)) -> Response:
    tasks.reopen(db, user, task, data.version)
    audit.record("task.reopened", task, task_id=task.id)
    return done(_back(person, data), "Task open again.")
