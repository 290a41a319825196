"""The work queue on the start page: for each role, what needs this user (their tasks and the urgent and due-soon
alerts of their cases), most pressing first, each with its action link and its explanation folded away; and a
clinician's caseload first, with the last visit and the next follow-up."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.alerts import service as alerts
from app.alerts import state
from app.alerts.models import PersonAlertState
from app.alerts.rules import RULES
from app.auth.models import Role, User
from app.config import get_settings
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.people.models import Person
from app.visits.models import Visit, VisitMode
from app.work import queue, tasks
from tests.alerts.test_alert_triggers import refusal, removal_soon, rule35_overdue, visit_follow_up
from tests.pages import audit_events, post_form
from tests.work.test_tasks import _task


def _lead(db, person: Person, user: User) -> None:  # type: ignore[no-untyped-def]
    db.execute(update(Person).where(Person.id == person.id).values(lead_coordinator_id=user.id))
    db.commit()


def _consent(db, person: Person, today) -> None:  # type: ignore[no-untyped-def]
    """The care-record consent, so that consent_missing (admin) does not fire for this person."""
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.care_record, given_date=today,
                   method=ConsentMethod.verbal,
                   recorded_by_id=db.scalars(select(User).where(User.role == Role.admin)).first().id))
    db.commit()


def _items(page: str) -> list[str]:
    """Each work-queue item's block, in the order the page lists them."""
    section = page.split('id="work-queue"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<tr class="queue-item.*?</tr>', section, re.S)


def _severity(block: str) -> str:
    return re.search(r'tag--severity-[a-z-]+">([^<]+)<', block).group(1)


def _title(block: str) -> str:
    return html.unescape(re.search(r'<span class="alert__title">(.*?)</span>', block, re.S).group(1))


def _arrange(db, make_person, today, arrange):  # type: ignore[no-untyped-def]
    person, _, _ = arrange(db, make_person, today, datetime.now(UTC))
    db.commit()
    return person


def test_a_coordinator_sees_their_cases_alerts_and_their_tasks_most_pressing_first(
        client, db, signed_in, make_person, make_user, today):
    coordinator = signed_in(Role.coordinator, name="Cora Queue")
    other = make_user(Role.coordinator)
    removal = _arrange(db, make_person, today, removal_soon)  # urgent
    overdue_report = _arrange(db, make_person, today, rule35_overdue)  # due soon
    not_mine = _arrange(db, make_person, today, refusal)  # urgent, but led by someone else
    for person in (removal, overdue_report):
        _lead(db, person, coordinator)
        _consent(db, person, today)
    _lead(db, not_mine, other)
    late = _task(db, None, coordinator, "Send the quarterly figures to the trustees", due=-2)
    later = _task(db, None, coordinator, "Book the training room", due=20)

    page = client.get("/").text
    blocks = _items(page)
    titles = [_title(b) for b in blocks]
    assert titles == [RULES["removal_imminent"].heading(get_settings()),
                      "Task: " + late.title,
                      RULES["rule35_response_overdue"].heading(get_settings()),
                      "Task: " + later.title]
    assert [_severity(b) for b in blocks] == ["Urgent", "Due soon", "Due soon", "Admin"]
    # Each alert names its case and links to what resolves it; why it exists is folded away.
    first = blocks[0]
    assert removal.reference in first and f'href="/people/{removal.reference}#removals-section"' in first
    assert f'class="alert__action">{html.escape(RULES["removal_imminent"].action)}<' in first
    assert "<details" in first and "Why this alert" in first
    assert f'/people/{removal.reference}/tasks/new?from_alert=removal_imminent' in first
    # The person's name is shown beside the reference (the coordinator may see every case).
    assert "FICTIVO, Rema" in html.unescape(first)
    assert "Overdue" in blocks[1]
    # Someone else's case stays off this queue, and the administrative consent alert is not listed per person.
    assert not_mine.reference not in page.split('id="work-queue"', 1)[1].split("</section>", 1)[0]
    assert not any(RULES["consent_missing"].heading(get_settings()) in b for b in blocks)
    [viewed] = audit_events(db, "work_queue.viewed")
    assert viewed.details["tasks"] == 2 and viewed.details["alerts"] == 2 and viewed.actor_user_id == coordinator.id


def test_an_alert_already_given_as_a_task_appears_once_as_that_task(client, db, signed_in, make_person, today):
    coordinator = signed_in(Role.coordinator)
    person = _arrange(db, make_person, today, rule35_overdue)
    _lead(db, person, coordinator)
    task = _task(db, person, coordinator, tasks.TASK_TITLES["rule35_response_overdue"], due=1)
    db.execute(update(type(task)).where(type(task).id == task.id).values(from_alert="rule35_response_overdue"))
    db.commit()
    blocks = _items(client.get("/").text)
    assert [_title(b) for b in blocks] == ["Task: " + task.title]
    # As pressing as its alert, with the alert's action link and a button to mark it done.
    assert _severity(blocks[0]) == "Due soon"
    assert f'href="/people/{person.reference}#rule35-section"' in blocks[0]
    assert f'action="/people/{person.reference}/tasks/{task.id}/done"' in blocks[0]


def test_marking_a_task_done_from_the_queue_returns_to_the_queue(client, db, signed_in, today):
    user = signed_in(Role.coordinator)
    task = _task(db, None, user, "Renew the visiting orders", due=0)
    response = post_form(client, f"/tasks/{task.id}/done", {"version": str(task.version), "back": "home"})
    assert response.status_code == 303 and response.headers["location"] == "/#work-queue"
    page = client.get("/").text
    assert "Renew the visiting orders" not in page.split('id="work-queue"', 1)[1].split("</section>", 1)[0]
    assert "Nothing needs you now" in page


def test_a_clinician_sees_their_caseload_first_with_last_visit_and_next_follow_up(
        client, db, signed_in, make_person, make_user, today):
    clinician = signed_in(Role.clinician, name="Dr Fictional")
    mine = _arrange(db, make_person, today, visit_follow_up)  # a visit 10 days ago, follow-up 2 days ago
    db.execute(update(Visit).where(Visit.person_id == mine.id).values(clinician_id=clinician.id))
    db.commit()
    quiet = make_person("Quieta", "Fictiva", detained_days=5, assigned_to=clinician)
    db.add(Visit(person_id=quiet.id, clinician_id=clinician.id, visit_date=today - timedelta(days=1),
                 mode=VisitMode.in_person, follow_up_date=today + timedelta(days=6)))
    db.commit()
    from app.people.models import Assignment
    db.add(Assignment(person_id=mine.id, clinician_id=clinician.id))
    db.commit()
    someone_else = _arrange(db, make_person, today, refusal)
    someone_else_clinician = make_user(Role.clinician)
    db.add(Assignment(person_id=someone_else.id, clinician_id=someone_else_clinician.id))
    db.commit()

    page = client.get("/").text
    assert page.index('id="caseload-title"') < page.index('id="overview"') < page.index('id="work-queue"')
    caseload = page.split('id="caseload-title"', 1)[1].split("</table>", 1)[0]
    assert "<th scope=\"col\">Last visit</th>" in caseload and "<th scope=\"col\">Next follow-up</th>" in caseload
    row_mine = caseload.split(f'/people/{mine.reference}"', 1)[1].split("</tr>", 1)[0]
    row_quiet = caseload.split(f'/people/{quiet.reference}"', 1)[1].split("</tr>", 1)[0]
    assert "Overdue" in row_mine and "Overdue" not in row_quiet
    assert "Not visited" not in row_quiet and "None set" not in row_quiet
    # The caseload's alert badges are graded, not all red.
    assert "tag--alert" not in caseload and "tag--severity-due-soon" in row_mine
    blocks = _items(page)
    # The newly detained person has had no admission examination (urgent); the other's follow-up is overdue.
    assert [_title(b) for b in blocks] == [RULES["no_admission_exam"].heading(get_settings()),
                                           RULES["visit_follow_up_overdue"].heading(get_settings())]
    assert quiet.reference in blocks[0] and f'href="/people/{mine.reference}/visits/new"' in blocks[1]
    assert someone_else.reference not in page


def test_a_clinician_with_more_people_than_one_page_gets_the_same_queue(
        client, db, signed_in, make_person, today, monkeypatch):
    """Past one page of caseload the queue reads the clinician's cases itself; the answer is the same."""
    clinician = signed_in(Role.clinician)
    from app.people.models import Assignment
    people = [_arrange(db, make_person, today, arrange) for arrange in (removal_soon, rule35_overdue)]
    for person in people:
        db.add(Assignment(person_id=person.id, clinician_id=clinician.id))
    db.commit()
    one_page = [_title(b) for b in _items(client.get("/").text)]
    monkeypatch.setattr("app.people.service.PAGE_SIZE", 1)
    several_pages = [_title(b) for b in _items(client.get("/").text)]
    assert one_page == several_pages == [RULES["removal_imminent"].heading(get_settings()),
                                         RULES["rule35_response_overdue"].heading(get_settings())]


def test_a_researcher_sees_only_their_own_tasks_about_no_one(client, db, signed_in, make_person, today):
    researcher = signed_in(Role.researcher)
    person = _arrange(db, make_person, today, removal_soon)
    _task(db, None, researcher, "Draft the annual evidence report", due=5)
    _task(db, person, researcher, "Never shown: a task about a person", due=1)
    blocks = _items(client.get("/").text)
    assert [_title(b) for b in blocks] == ["Task: Draft the annual evidence report"]


def test_cases_beyond_the_queue_length_are_counted_and_urgent_ones_come_first(
        client, db, signed_in, make_person, today, monkeypatch):
    coordinator = signed_in(Role.coordinator)
    due_soon = [_arrange(db, make_person, today, rule35_overdue) for _ in range(2)]
    urgent = _arrange(db, make_person, today, removal_soon)
    for person in (*due_soon, urgent):
        _lead(db, person, coordinator)
        _consent(db, person, today)
    monkeypatch.setattr(queue, "CASES_SHOWN", 2)
    page = client.get("/").text
    blocks = _items(page)
    # The urgent case was made last (the highest id) and still leads; of the two due-soon ones, the first.
    assert urgent.reference in blocks[0] and due_soon[0].reference in blocks[1] and len(blocks) == 2
    assert "More of the cases you lead have an urgent or due-soon alert than are listed here" in page


def test_the_kept_flags_never_hide_a_change_made_while_they_were_being_computed(db, make_person, engine, today):
    """A page computes stale flags from its snapshot; a change committed before it stores them must win."""
    from sqlalchemy.orm import Session

    person = make_person("Racea", "Fictiva", detained_days=40)
    cutoffs = alerts.Cutoffs.for_day(today, get_settings())
    zone = get_settings().zone
    db.rollback()
    computed = state.compute(db, cutoffs, [person.id], zone)  # read in this session's snapshot
    assert computed[person.id].flags & state.BIT["consent_missing"]
    with Session(engine) as writer:  # meanwhile the consent is recorded and committed
        _consent(writer, writer.get(Person, person.id), today)
    state._store(db, cutoffs, computed)
    db.commit()
    row = db.get(PersonAlertState, person.id, populate_existing=True)
    assert row.valid_until <= datetime.now(UTC), "flags read before the change were stored as fresh"
    state.refresh(db, cutoffs, zone, budget=10)
    db.commit()
    row = db.get(PersonAlertState, person.id, populate_existing=True)
    assert not row.flags & state.BIT["consent_missing"] and row.valid_until > datetime.now(UTC)


def test_the_page_lists_the_first_items_and_the_rest_on_asking(client, db, signed_in, today, monkeypatch):
    user = signed_in(Role.coordinator)
    for n in range(4):
        _task(db, None, user, f"Fictional errand number {n}", due=n)
    monkeypatch.setattr(queue, "FIRST_SHOWN", 3)
    page = client.get("/").text
    assert [_title(b) for b in _items(page)] == [f"Task: Fictional errand number {n}" for n in range(3)]
    assert 'href="/?queue=all#work-queue">Show all 4 items</a> (1 more)' in page
    everything = client.get("/", params={"queue": "all"}).text
    assert [_title(b) for b in _items(everything)] == [f"Task: Fictional errand number {n}" for n in range(4)]
    assert 'href="/#work-queue">Show the first 3 only</a>' in everything
