"""Tasks through the pages: made on the person page and from an alert's link (pre-filled), their field errors and
assignee rules, a user's list and its order, done and reopened (stale forms refused), a clinician's tasks kept to
their own people, a task about no one, and the title sealed at rest."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.alerts.rules import RULES
from app.auth.models import Role, User
from app.config import organisation_today
from app.people.models import Person
from app.work import tasks
from app.work.models import Task
from tests.pages import audit_events, count, form_fields, post_form

RULE35_TITLE = "Chase the Home Office for the Rule 35 response"


def _new_form(client, person: Person, query: str = "") -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    page = client.get(f"/people/{person.reference}/tasks/new{query}")
    assert page.status_code == 200, page.status_code
    return page.text, form_fields(page.text, f"/people/{person.reference}/tasks/new")


def _add(client, person: Person, **fields):  # type: ignore[no-untyped-def]
    _, sent = _new_form(client, person)
    return client.post(f"/people/{person.reference}/tasks/new", data=sent | fields, follow_redirects=False)


def _task(db, person: Person | None, assignee: User, title: str, *, due: int | None = None, made_by: User | None = None,
          done_days_ago: int | None = None, made_minutes_ago: int = 60) -> Task:  # type: ignore[no-untyped-def]
    """A task put straight into the database (a due date in the past is what the pages refuse to make)."""
    now = datetime.now(UTC)
    task = Task(person_id=person.id if person else None, title=title, assignee_id=assignee.id,
                due_date=organisation_today() + timedelta(days=due) if due is not None else None,
                made_by_id=(made_by or assignee).id, made_at=now - timedelta(minutes=made_minutes_ago))
    if done_days_ago is not None:
        task.done_at, task.done_by_id = now - timedelta(days=done_days_ago), assignee.id
    db.add(task)
    db.commit()
    return task


def _post(client, path: str, **fields):  # type: ignore[no-untyped-def]
    return post_form(client, path, fields, form_page="/tasks")


def test_a_coordinator_adds_a_task_on_the_person_page_and_sees_it_there(client, db, signed_in, make_person, today):
    coordinator = signed_in(Role.coordinator, name="Cora Tasker")
    person = make_person("Fictiva", "Taskperson", detained_days=10)
    page = client.get(f"/people/{person.reference}").text
    assert f'href="/people/{person.reference}/tasks/new"' in page and "No open tasks." in page
    due = today + timedelta(days=3)
    response = _add(client, person, title="Ring the Fictional Law Centre back", assignee_id=str(coordinator.id),
                    due_date=due.isoformat())
    assert response.status_code == 303
    assert response.headers["location"] == f"/people/{person.reference}#tasks-section"
    db.rollback()
    [task] = db.scalars(select(Task)).all()
    assert (task.person_id, task.title, task.assignee_id, task.made_by_id, task.due_date, task.from_alert,
            task.done_at) == (person.id, "Ring the Fictional Law Centre back", coordinator.id, coordinator.id,
                              due, None, None)
    [event] = audit_events(db, "task.created")
    assert event.person_id == person.id and event.details == {"task_id": task.id, "from_alert": None}
    section = client.get(f"/people/{person.reference}").text.split('id="tasks-section"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "Ring the Fictional Law Centre back" in section and "Cora Tasker" in section
    assert f"/people/{person.reference}/tasks/{task.id}/done" in section and "Overdue" not in section


def test_the_title_is_sealed_with_the_persons_key(client, db, signed_in, make_person, engine):
    coordinator = signed_in(Role.coordinator)
    person = make_person("Fictivo", "Sealedtask")
    assert _add(client, person, title="Zqtaskmarkerwv visit", assignee_id=str(coordinator.id)).status_code == 303
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT title FROM tasks")).scalar_one()
    assert isinstance(raw, bytes) and b"Zqtaskmarkerwv" not in raw
    db.rollback()
    assert db.scalars(select(Task)).one().title == "Zqtaskmarkerwv visit"  # opens again through the application


def test_a_task_from_an_alert_link_is_prefilled_and_remembers_the_alert(client, db, signed_in, make_person, today):
    coordinator = signed_in(Role.coordinator)
    person = make_person("Fictiva", "Alerted", detained_days=20)
    page, sent = _new_form(client, person, "?from_alert=rule35_response_overdue")
    assert sent["title"] == RULE35_TITLE and sent["from_alert"] == "rule35_response_overdue"
    assert "Rule 35 response overdue" in page  # the alert it came from, by its heading
    assert sent["due_date"] == tasks.add_working_days(today, 2).isoformat()
    assert sent["assignee_id"] == str(coordinator.id)  # the user themselves, until they choose someone else
    # One click more: the form sent as it stands.
    response = client.post(f"/people/{person.reference}/tasks/new", data=sent, follow_redirects=False)
    assert response.status_code == 303
    db.rollback()
    task = db.scalars(select(Task)).one()
    assert (task.title, task.from_alert, task.due_date) == (RULE35_TITLE, "rule35_response_overdue",
                                                            tasks.add_working_days(today, 2))
    [event] = audit_events(db, "task.created")
    assert event.details == {"task_id": task.id, "from_alert": "rule35_response_overdue"}
    # An urgent alert's task is due today.
    _, urgent = _new_form(client, person, "?from_alert=removal_imminent")
    assert urgent["due_date"] == today.isoformat()
    assert urgent["title"] == "Tell the solicitor about the removal and send any medical evidence"


def test_an_alert_on_the_person_page_leads_to_its_task_in_one_click(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Fictivo", "Longdetained", detained_days=30)
    page = client.get(f"/people/{person.reference}").text
    link = f"/people/{person.reference}/tasks/new?from_alert=detained_28_days"
    assert f'href="{link}"' in page
    form = client.get(link).text
    sent = form_fields(form, f"/people/{person.reference}/tasks/new")
    assert sent["title"] == tasks.TASK_TITLES["detained_28_days"] and sent["from_alert"] == "detained_28_days"
    assert client.post(f"/people/{person.reference}/tasks/new", data=sent, follow_redirects=False).status_code == 303
    db.rollback()
    assert db.scalars(select(Task.from_alert)).one() == "detained_28_days"


def test_an_unknown_alert_is_ignored_by_the_link_and_refused_when_posted(client, db, signed_in, make_person):
    coordinator = signed_in(Role.coordinator)
    person = make_person("Fictivo", "Unknownalert")
    # The link opens the plain form: nothing pre-filled, nothing remembered.
    _, sent = _new_form(client, person, "?from_alert=no_such_rule")
    assert "from_alert" not in sent and sent["title"] == "" and sent["due_date"] == ""
    too_long = client.get(f"/people/{person.reference}/tasks/new?from_alert={'x' * 41}")
    assert too_long.status_code == 422
    # Posted anyway (a tampered form), it is refused and nothing is saved.
    response = _add(client, person, title="Something", assignee_id=str(coordinator.id), from_alert="no_such_rule")
    assert response.status_code == 422 and 'id="f-from_alert-error"' in response.text
    assert "only be made from an alert this system knows" in response.text
    assert count(db, Task) == 0


def test_every_alert_rule_has_a_task_title():
    assert {rule_id for rule_id in RULES if tasks.task_title_for(rule_id) is None} == set()
    assert tasks.task_title_for("consent_missing") == "Record the missing consent"
    assert tasks.task_title_for("not_a_rule") is None and tasks.task_title_for(None) is None


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"title": ""}, "title", "Enter what needs doing."),
    ({"title": "x" * 201}, "title", "200 characters or fewer"),
    ({"due_date": "next tuesday"}, "due_date", "as a real date"),
    ({"due_date": "past"}, "due_date", "The due date cannot be in the past."),
    ({"assignee_id": ""}, "assignee_id", None),
    ({"assignee_id": str(2**31)}, "assignee_id", "from the list"),
    ({"assignee_id": "999999"}, "assignee_id", "Choose who will do it from the list."),
])
def test_field_errors_are_shown_beside_the_field_with_what_was_typed_and_nothing_is_saved(
        client, db, signed_in, make_person, today, fields, field, message):
    coordinator = signed_in(Role.coordinator)
    person = make_person("Fictiva", "Erroneous")
    if fields.get("due_date") == "past":
        fields = {"due_date": (today - timedelta(days=1)).isoformat()}
    typed = {"title": "Fictional title kept as typed", "assignee_id": str(coordinator.id)} | fields
    response = _add(client, person, **typed)
    assert response.status_code == 422
    assert f'id="f-{field}-error"' in response.text
    assert message is None or message in html.unescape(response.text)
    if field != "title":
        assert 'value="Fictional title kept as typed"' in response.text
    assert count(db, Task) == 0


def test_a_task_about_a_person_goes_only_to_someone_who_may_see_them(client, db, signed_in, make_person, make_user):
    signed_in(Role.coordinator)
    assigned = make_user(Role.clinician, name="Dr Assigned Fictional")
    other_clinician = make_user(Role.clinician, name="Dr Elsewhere Fictional")
    researcher = make_user(Role.researcher, name="Rae Searcher")
    gone = make_user(Role.coordinator, name="Former Coordinator", active=False)
    person = make_person("Fictivo", "Assigneeperson", assigned_to=assigned)
    page, _ = _new_form(client, person)
    assert "Dr Assigned Fictional" in page
    assert "Dr Elsewhere Fictional" not in page and "Rae Searcher" not in page and "Former Coordinator" not in page
    refusals = [(other_clinician, "is not assigned to this person"), (researcher, "cannot see this person"),
                (gone, "Choose who will do it from the list.")]
    for user, message in refusals:
        response = _add(client, person, title="Fictional follow-up", assignee_id=str(user.id))
        assert response.status_code == 422 and 'id="f-assignee_id-error"' in response.text, user.display_name
        assert message in html.unescape(response.text)
    assert count(db, Task) == 0
    assert _add(client, person, title="Fictional follow-up", assignee_id=str(assigned.id)).status_code == 303
    db.rollback()
    assert db.scalars(select(Task.assignee_id)).one() == assigned.id


def test_my_task_list_puts_the_overdue_first_by_due_date_and_no_date_last(client, db, signed_in, make_person,
                                                                          make_user):
    me = signed_in(Role.coordinator)
    someone_else = make_user(Role.coordinator)
    person = make_person("Fictiva", "Listperson")
    _task(db, person, me, "Fictional no date, older", made_minutes_ago=90)
    _task(db, None, me, "Fictional no date, newer", made_minutes_ago=10)
    _task(db, person, me, "Fictional due in a week", due=7)
    _task(db, None, me, "Fictional overdue by 3 days", due=-3)
    _task(db, person, me, "Fictional due today", due=0)
    _task(db, person, me, "Fictional overdue by 1 day", due=-1)
    _task(db, person, someone_else, "Fictional given to someone else", due=-5)
    _task(db, person, me, "Fictional done yesterday", due=-2, done_days_ago=1)
    _task(db, person, me, "Fictional done long ago", due=-30, done_days_ago=20)
    page = client.get("/tasks").text
    expected = ["Fictional overdue by 3 days", "Fictional overdue by 1 day", "Fictional due today",
                "Fictional due in a week", "Fictional no date, older", "Fictional no date, newer",
                "Fictional done yesterday"]
    positions = [page.index(title) for title in expected]
    assert positions == sorted(positions)
    assert "Fictional given to someone else" not in page and "Fictional done long ago" not in page
    open_part = page.split('id="open-tasks"', 1)[1].split("</section>", 1)[0]
    assert open_part.count("Overdue") == 2 and "Fictional done yesterday" not in open_part
    assert person.reference in open_part
    [event] = audit_events(db, "task.list_viewed")
    assert event.actor_user_id == me.id and event.details == {"shown": 7}


def test_done_and_reopen_and_a_stale_form_is_refused(client, db, signed_in, make_person):
    me = signed_in(Role.coordinator)
    person = make_person("Fictivo", "Doneperson")
    task = _task(db, person, me, "Fictional chase", due=1)
    page = client.get(f"/people/{person.reference}").text
    done_form = form_fields(page, f"/people/{person.reference}/tasks/{task.id}/done")
    assert done_form["version"] == "1"
    response = client.post(f"/people/{person.reference}/tasks/{task.id}/done", data=done_form,
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("#tasks-section")
    db.rollback()
    saved = db.get(Task, task.id)
    assert saved.done_at is not None and saved.done_by_id == me.id and saved.version == 2
    [event] = audit_events(db, "task.done")
    assert event.person_id == person.id and event.details == {"task_id": task.id}
    # The same button sent again from the page loaded before: someone else's change, not saved twice.
    stale = client.post(f"/people/{person.reference}/tasks/{task.id}/done", data=done_form, follow_redirects=False)
    assert stale.status_code == 409 and "Someone else saved changes" in html.unescape(stale.text)
    # With the current version: a task already done is not done again.
    again = _post(client, f"/people/{person.reference}/tasks/{task.id}/done", version="2")
    assert again.status_code == 422 and "This task is already done." in again.text
    # Reopened from the person page's list of tasks done.
    page = client.get(f"/people/{person.reference}").text
    reopen_form = form_fields(page, f"/people/{person.reference}/tasks/{task.id}/reopen")
    assert reopen_form["version"] == "2"
    assert _post(client, f"/people/{person.reference}/tasks/{task.id}/reopen", version="1").status_code == 409
    reopened = client.post(f"/people/{person.reference}/tasks/{task.id}/reopen", data=reopen_form,
                           follow_redirects=False)
    assert reopened.status_code == 303
    db.rollback()
    saved = db.get(Task, task.id)
    assert saved.done_at is None and saved.done_by_id is None and saved.version == 3
    assert [e.details for e in audit_events(db, "task.reopened")] == [{"task_id": task.id}]


def test_a_clinician_sees_and_completes_tasks_for_their_own_people_only(client, db, signed_in, make_person,
                                                                         make_user):
    clinician = signed_in(Role.clinician)
    coordinator = make_user(Role.coordinator)
    mine = make_person("Fictiva", "Mypatient", assigned_to=clinician)
    theirs = make_person("Fictivo", "Notmine")
    own = _task(db, mine, clinician, "Fictional review of my patient", due=2, made_by=coordinator)
    # Given while the clinician was assigned to the other person; they are no longer.
    lapsed = _task(db, theirs, clinician, "Fictional lapsed task", due=1, made_by=coordinator)
    page = client.get("/tasks").text
    assert "Fictional review of my patient" in page and "Fictional lapsed task" not in page
    sent = form_fields(page, f"/people/{mine.reference}/tasks/{own.id}/done")
    assert sent["back"] == "tasks"
    response = client.post(f"/people/{mine.reference}/tasks/{own.id}/done", data=sent, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/tasks"
    db.rollback()
    assert db.get(Task, own.id).done_by_id == clinician.id
    # The other person's task routes refuse them (and record it); their task cannot be reached through mine.
    assert client.get(f"/people/{theirs.reference}/tasks/new").status_code == 403
    assert _post(client, f"/people/{theirs.reference}/tasks/{lapsed.id}/done", version="1").status_code == 403
    assert _post(client, f"/people/{mine.reference}/tasks/{lapsed.id}/done", version="1").status_code == 404
    assert _post(client, f"/tasks/{lapsed.id}/done", version="1").status_code == 404
    db.rollback()
    assert db.get(Task, lapsed.id).done_at is None
    assert len(audit_events(db, "security.permission_denied")) == 2
    # A clinician may give a task about their own person to themselves.
    assert _add(client, mine, title="Fictional letter to the GP", assignee_id=str(clinician.id)).status_code == 303


def test_a_task_about_no_one_is_kept_plain_and_stays_with_its_people(client, db, signed_in, make_user, make_person,
                                                                     engine):
    researcher = signed_in(Role.researcher, name="Rae Searcher")
    make_user(Role.coordinator, name="Cole League")
    page = client.get("/tasks/new")
    assert page.status_code == 200
    sent = form_fields(page.text, "/tasks/new")
    assert sent["assignee_id"] == str(researcher.id) and "from_alert" not in sent
    assert "Rae Searcher (researcher)" in page.text and "Cole League (coordinator)" in page.text
    response = client.post("/tasks/new", data=sent | {"title": "Fictional draft of the annual report"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/tasks"
    db.rollback()
    task = db.scalars(select(Task)).one()
    assert (task.person_id, task.title, task.made_by_id) == (None, "Fictional draft of the annual report",
                                                             researcher.id)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT title FROM tasks")).scalar_one()
    assert b"Fictional draft of the annual report" in raw  # no person, no key: plain on purpose
    [event] = audit_events(db, "task.created")
    assert event.person_id is None and event.details == {"task_id": task.id, "from_alert": None}
    listed = client.get("/tasks").text
    assert "Fictional draft of the annual report" in listed
    done_form = form_fields(listed, f"/tasks/{task.id}/done")
    assert client.post(f"/tasks/{task.id}/done", data=done_form, follow_redirects=False).status_code == 303
    assert _post(client, f"/tasks/{task.id}/done", version="1").status_code == 409
    listed = client.get("/tasks").text
    reopen_form = form_fields(listed, f"/tasks/{task.id}/reopen")
    assert client.post(f"/tasks/{task.id}/reopen", data=reopen_form, follow_redirects=False).status_code == 303
    db.rollback()
    assert db.get(Task, task.id).done_at is None
    # A researcher sees no person, so cannot make a task about one.
    person = make_person("Fictiva", "Notforresearch")
    assert client.get(f"/people/{person.reference}/tasks/new").status_code == 403
    # Someone neither given nor making the task cannot reach it.
    client.cookies.clear()
    signed_in(Role.coordinator)
    assert _post(client, f"/tasks/{task.id}/done", version="3").status_code == 404
    db.rollback()
    assert db.get(Task, task.id).done_at is None
