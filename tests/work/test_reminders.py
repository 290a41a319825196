"""Reminder e-mails through a real SMTP server (aiosmtpd, started here): digests and immediate messages reach the
right users, hold case references, counts and links but no names, Home Office references, task titles or
clinical text, are never sent twice, and a failure is recorded and retried; the settings page; the command."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select

from app.auth.models import ReminderChoice, Role, User
from app.config import PROJECT_ROOT, Settings, SmtpTls, get_settings
from app.db import get_sessionmaker
from app.detention.models import Hearing, HearingKind, HearingOutcome, RemovalDirection, RemovalStatus
from app.people.models import Person
from app.work import reminders
from app.work.models import CaseNote, MessageKind, NoteKind, NoteWith, SentMessage, Task
from tests.conftest import csrf_from
from tests.pages import audit_events, form_fields, post_form
from tests.work.smtp_server import SmtpServer, free_port, smtp_server

BASE = "https://casework.example.org"
SENDER = "casework-reminders@example.org"
# What a message must never hold, whichever person it is about (each person below is made with these).
SECRET_PARTS = ("Testa", "Fictivo", "Fictiva", "Removabel", "Hearingson", "FICT-HO-1234", "FICT-HO-5678",
                "1987-04-12", "12 Apr 1987", "Eritrea")
TASK_TITLES = ("Ring Testa Fictivo's solicitor about the scars", "Chase the fictional rota for cover")
CLINICAL = "FICTIONAL-CLINICAL: fresh scarring on the left forearm"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        yield server


def mail_settings(server: SmtpServer | None, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    values = {"smtp_host": "127.0.0.1", "smtp_port": server.port if server else free_port(),
              "smtp_tls": SmtpTls.none, "mail_from": SENDER, "base_url": BASE, "reminders_digest_hour": 7}
    return get_settings().model_copy(update=values | overrides)


@pytest.fixture
def morning(today: date) -> datetime:
    """09:00 of today where the organisation works: after the digest hour, so the digest is due."""
    return datetime.combine(today, time(9), get_settings().zone).astimezone(UTC)


def run(server: SmtpServer | None, now: datetime, **overrides) -> reminders.RunResult:  # type: ignore[no-untyped-def]
    return reminders.send(get_sessionmaker(), mail_settings(server, **overrides), now=now)


def _actor(db) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    # make_person's admin, else whoever there is: someone must have recorded it.
    return (db.scalars(select(User.id).where(User.role == Role.admin)).first()
            or db.scalars(select(User.id).order_by(User.id)).first())


def add_removal(db, person: Person, at: datetime, status: RemovalStatus = RemovalStatus.set) -> RemovalDirection:  # type: ignore[no-untyped-def]
    direction = RemovalDirection(person_id=person.id, removal_at=at, carrier="Flight FX 101",
                                 destination="Fictional Republic", status=status, recorded_by_id=_actor(db))
    db.add(direction)
    db.commit()
    return direction


def add_hearing(db, person: Person, at: datetime, outcome: HearingOutcome | None = None) -> Hearing:  # type: ignore[no-untyped-def]
    hearing = Hearing(person_id=person.id, kind=HearingKind.bail, hearing_at=at, venue="Fictional Hearing Centre",
                      outcome=outcome, recorded_by_id=_actor(db))
    db.add(hearing)
    db.commit()
    return hearing


def add_task(db, assignee: User, due: date | None, person: Person | None = None, title: str = TASK_TITLES[0],  # type: ignore[no-untyped-def]
             done: bool = False) -> Task:
    actor = _actor(db)
    task = Task(person_id=person.id if person else None, title=title, assignee_id=assignee.id, due_date=due,
                made_by_id=actor, done_at=datetime.now(UTC) if done else None, done_by_id=actor if done else None)
    db.add(task)
    db.commit()
    return task


def lead(db, person: Person, coordinator: User) -> None:  # type: ignore[no-untyped-def]
    db.rollback()
    db.get(Person, person.id).lead_coordinator_id = coordinator.id
    db.commit()


def rows(db) -> list[SentMessage]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(SentMessage).order_by(SentMessage.id)))


def assert_nothing_personal(text: str) -> None:
    for secret in (*SECRET_PARTS, *TASK_TITLES, CLINICAL, "scars", "forearm"):
        assert secret.lower() not in text.lower(), secret


@pytest.fixture
def casework(db, make_person, make_user, today, morning):  # type: ignore[no-untyped-def]
    """A clinician with tasks due and overdue about their person and one about no case; a coordinator who leads
    a case with a removal in 20 hours; a hearing tomorrow on the clinician's case; clinical text on the record."""
    clinician = make_user(Role.clinician, email="fictional.gp@example.org", name="Doctor Fictional")
    coordinator = make_user(Role.coordinator, email="fictional.coordinator@example.org")
    other_clinician = make_user(Role.clinician, email="unassigned.gp@example.org")
    theirs = make_person("Testa", "Fictivo", detained_days=40, assigned_to=clinician,
                         home_office_reference="FICT-HO-1234", nationality="ER", birth_precision="exact",
                         birth_date=date(1987, 4, 12))
    removable = make_person("Fictiva", "Removabel", detained_days=90, home_office_reference="FICT-HO-5678",
                            nationality="ER")
    lead(db, removable, coordinator)
    removal = add_removal(db, removable, morning + timedelta(hours=20))
    hearing = add_hearing(db, theirs, morning + timedelta(days=1, hours=2))
    add_task(db, clinician, today - timedelta(days=3), theirs)
    add_task(db, clinician, today, theirs)
    add_task(db, clinician, today, None, title=TASK_TITLES[1])
    add_task(db, clinician, today + timedelta(days=2), theirs)  # not due yet
    add_task(db, clinician, today - timedelta(days=9), theirs, done=True)  # done
    add_task(db, clinician, None, theirs)  # no due date
    db.add(CaseNote(person_id=theirs.id, kind=NoteKind.call, with_whom=NoteWith.centre_healthcare,
                    happened_at=morning - timedelta(hours=2), summary=CLINICAL, recorded_by_id=_actor(db)))
    db.commit()
    admin = db.get(User, _actor(db))  # made by make_person; admins see every case, as coordinators do
    return {"clinician": clinician, "coordinator": coordinator, "other_clinician": other_clinician, "admin": admin,
            "theirs": theirs, "removable": removable, "removal": removal, "hearing": hearing}


def test_a_digest_reaches_a_user_with_tasks_and_one_with_a_removal_with_references_counts_and_links_only(
        smtp, db, casework, today, morning):
    result = run(smtp, morning)
    clinician, coordinator = casework["clinician"], casework["coordinator"]
    theirs, removable = casework["theirs"].reference, casework["removable"].reference
    admin = casework["admin"]
    assert (len(result.sent), result.users, result.failed) == (3, 3, [])
    assert {address for r in smtp.received for address in r.rcpt_tos} == {clinician.email, coordinator.email,
                                                                          admin.email}
    assert smtp.to(casework["other_clinician"].email) == []

    [gp] = smtp.to(clinician.email)
    assert gp.mail_from == SENDER
    assert gp.message["Subject"] == "Casework: 4 things due or urgent today"
    body = gp.body
    assert "- 1 overdue, 2 due today." in body
    assert f"- Case {theirs}: 1 overdue, 1 due today\n  {BASE}/people/{theirs}\n" in body
    assert "- Not about a case you can open: 1 due today" in body
    assert f"All your tasks: {BASE}/tasks" in body
    assert f"- Hearing tomorrow: case {theirs}\n" in body
    assert removable not in gp.text  # not assigned to them
    assert f"{BASE}/account/reminders" in body

    [lead_coordinator] = smtp.to(coordinator.email)
    assert lead_coordinator.message["Subject"] == "Casework: 2 things due or urgent today"
    body = lead_coordinator.body
    assert "Your tasks" not in body
    # Their own case first, then every other case's urgent event: coordinators see every case.
    removal_line = f"- Removal within 24 hours: case {removable} (you lead this case)\n  {BASE}/people/{removable}"
    assert body.index(removal_line) < body.index(f"- Hearing tomorrow: case {theirs}\n  {BASE}/people/{theirs}")

    [administrator] = smtp.to(admin.email)
    assert f"- Removal within 24 hours: case {removable}\n" in administrator.body  # not theirs to lead

    for received in smtp.received:
        assert_nothing_personal(received.text)
        links = [word for word in received.body.split() if "://" in word]
        assert links and all(link.startswith(BASE + "/") for link in links)

    saved = rows(db)
    assert {(r.user_id, r.kind, r.key, r.error) for r in saved} == {
        (user.id, MessageKind.digest, f"digest:{today.isoformat()}", None) for user in (clinician, coordinator, admin)}
    assert {r.body for r in saved} == {r.body for r in smtp.received}
    [event] = audit_events(db, "reminders.sent")
    assert event.actor_user_id is None and event.details == {"messages": 3, "failed": 0}


def test_running_twice_sends_nothing_the_second_time(smtp, db, casework, morning):
    assert len(run(smtp, morning).sent) == 3
    before = rows(db)
    assert reminders.preview(get_sessionmaker(), mail_settings(smtp), now=morning + timedelta(minutes=5)) == []
    again = run(smtp, morning + timedelta(minutes=15))
    assert (again.due, again.sent, again.failed) == ([], [], [])
    assert len(smtp.received) == 3
    assert [(r.id, r.sent_at) for r in rows(db)] == [(r.id, r.sent_at) for r in before]
    assert [e.details for e in audit_events(db, "reminders.sent")] == [{"messages": 3, "failed": 0},
                                                                      {"messages": 0, "failed": 0}]


def test_two_runs_at_once_send_each_message_once(smtp, db, casework, morning):
    results: list[reminders.RunResult] = []
    threads = [threading.Thread(target=lambda: results.append(run(smtp, morning))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    assert sum(len(r.sent) for r in results) == 3 == len(smtp.received)
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(
        casework[role].email for role in ("clinician", "coordinator", "admin"))
    assert sum(r.skipped for r in results) in (0, 3)  # the later run planned them too, or found them sent
    assert len(rows(db)) == 3


def test_immediate_messages_go_once_per_event_and_threshold(smtp, db, make_person, make_user, today, morning):
    urgent = make_user(Role.coordinator, email="immediate.coordinator@example.org")
    daily = make_user(Role.coordinator, email="daily.coordinator@example.org")
    db.rollback()
    db.get(User, urgent.id).reminders = ReminderChoice.immediate
    db.commit()
    person = make_person("Fictiva", "Hearingson", detained_days=20)
    later = add_removal(db, person, morning + timedelta(hours=60))
    soon = add_removal(db, make_person("Testa", "Fictivo", detained_days=5), morning + timedelta(hours=10))
    hearing = add_hearing(db, person, morning + timedelta(hours=26))
    add_removal(db, person, morning + timedelta(hours=30), status=RemovalStatus.deferred)  # not set: nothing
    add_hearing(db, person, morning + timedelta(hours=5), outcome=HearingOutcome.adjourned)  # has an outcome

    first = run(smtp, morning)
    assert [(m.user_id, m.key) for m in first.sent] == [
        (urgent.id, f"digest:{today.isoformat()}"),
        (urgent.id, f"removal:{soon.id}:24h"),  # recorded within 24 hours: never announced as "72 hours"
        (urgent.id, f"hearing:{hearing.id}:1d"),
        (urgent.id, f"removal:{later.id}:72h"),
        (daily.id, f"digest:{today.isoformat()}"),
        (_actor(db), f"digest:{today.isoformat()}")]  # make_person's admin, who chose the digest by default
    immediate = [r for r in smtp.to(urgent.email) if r.message["Subject"].startswith("Casework: urgent:")]
    assert [r.message["Subject"] for r in immediate] == [
        "Casework: urgent: removal within 24 hours", "Casework: urgent: hearing tomorrow",
        "Casework: urgent: removal within 72 hours"]
    assert immediate[1].body.startswith(f"Urgent: A hearing for case {person.reference} is tomorrow.\n"
                                        f"{BASE}/people/{person.reference}\n")
    for received in smtp.received:
        assert_nothing_personal(received.text)
    assert all("urgent:" not in r.message["Subject"] for r in smtp.to(daily.email))

    assert run(smtp, morning + timedelta(hours=1)).sent == []
    # 40 hours on it is 01:00, before the digest hour: the later removal is now within 24 hours, the rest passed.
    third = run(smtp, morning + timedelta(hours=40))
    assert [(m.user_id, m.key) for m in third.sent] == [(urgent.id, f"removal:{later.id}:24h")]
    assert run(smtp, morning + timedelta(hours=41)).sent == []
    assert len(smtp.to(urgent.email)) == 5 and len(smtp.to(daily.email)) == 1
    assert count_rows(db) == 7


def count_rows(db) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(SentMessage)) or 0


def test_planning_takes_a_fixed_number_of_statements_whatever_the_data(db, casework, make_person, make_user,
                                                                       today, morning):
    def count_statements() -> tuple[int, int]:
        statements: list[str] = []

        def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            statements.append(statement)

        engine = get_sessionmaker().kw["bind"]
        event.listen(engine, "before_cursor_execute", seen)
        try:
            with get_sessionmaker()() as session:
                planned = reminders.plan(session, mail_settings(None), morning)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        return len(statements), len(planned)

    few = count_statements()
    for n in range(4):
        clinician = make_user(Role.clinician)
        person = make_person("Testa", f"Fictivo{n}", detained_days=10, assigned_to=clinician)
        add_removal(db, person, morning + timedelta(hours=30 + n))
        add_hearing(db, person, morning + timedelta(hours=20))
        add_task(db, clinician, today, person)
    many = count_statements()
    assert many[1] == few[1] + 4  # a digest for each new clinician ...
    assert many[0] == few[0]  # ... from the same statements


def test_no_digest_before_the_digest_hour_nor_when_there_is_nothing_to_say(smtp, db, make_person, make_user,
                                                                          today, morning):
    coordinator = make_user(Role.coordinator)
    assert run(smtp, morning).due == []  # nothing due, nothing urgent: no e-mail saying so
    add_task(db, coordinator, today)
    early = datetime.combine(today, time(6, 30), get_settings().zone).astimezone(UTC)
    assert run(smtp, early).due == []
    assert [m.key for m in run(smtp, morning).sent] == [f"digest:{today.isoformat()}"]
    assert [r.rcpt_tos for r in smtp.received] == [[coordinator.email]]


def test_a_user_who_chose_none_and_an_inactive_user_get_nothing(smtp, db, make_person, make_user, today, morning):
    quiet = make_user(Role.coordinator, email="quiet.coordinator@example.org")
    gone = make_user(Role.coordinator, email="gone.coordinator@example.org", active=False)
    researcher = make_user(Role.researcher, email="fictional.researcher@example.org")
    listening = make_user(Role.admin, email="fictional.admin@example.org")
    db.rollback()
    db.get(User, quiet.id).reminders = ReminderChoice.none
    db.get(User, gone.id).reminders = ReminderChoice.immediate
    db.commit()
    for user in (quiet, gone):
        add_task(db, user, today - timedelta(days=1))
    add_removal(db, make_person("Testa", "Fictivo", detained_days=3), morning + timedelta(hours=30))
    result = run(smtp, morning)
    assert [r.rcpt_tos for r in smtp.received] == [[listening.email]]  # researchers see no case, so no removal
    assert [m.user_id for m in result.sent] == [listening.id]
    assert {r.user_id for r in rows(db)} == {listening.id}
    assert researcher.id not in {m.user_id for m in result.due}


def test_the_smtp_server_down_is_recorded_and_the_next_run_retries(smtp, db, casework, today, morning):
    down = run(None, morning)  # a port nothing listens on
    assert down.sent == [] and len(down.failed) == 3
    failed = rows(db)
    assert len(failed) == 3 and all("ConnectionRefused" in (r.error or "") for r in failed)
    assert smtp.received == []
    assert audit_events(db, "reminders.sent")[-1].details == {"messages": 0, "failed": 3}

    retried = run(smtp, morning + timedelta(minutes=10))
    assert len(retried.sent) == 3 and retried.failed == []
    assert len(smtp.received) == 3
    after = rows(db)
    assert [r.id for r in after] == [r.id for r in failed]  # the same rows, now sent
    assert all(r.error is None and r.sent_at == morning + timedelta(minutes=10) for r in after)
    assert run(smtp, morning + timedelta(minutes=20)).due == []


def test_starttls_is_never_dropped_for_a_server_that_does_not_offer_it(smtp, db, casework, morning):
    result = run(smtp, morning, smtp_tls=SmtpTls.starttls)
    assert result.sent == [] and len(result.failed) == 3
    assert all("STARTTLS" in error for _, error in result.failed)
    assert smtp.received == []  # nothing went over the unencrypted connection


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # a loopback test server
def test_a_server_that_wants_a_sign_in_gets_the_configured_one(db, casework, morning):
    with smtp_server(credentials=("reminders", " fictional secret ")) as server:
        wrong = run(server, morning, smtp_username="reminders", smtp_secret="not it")
        assert wrong.sent == [] and all("SMTPAuthenticationError" in error for _, error in wrong.failed)
        assert server.received == []
        right = run(server, morning, smtp_username="reminders", smtp_secret=" fictional secret ")
        assert len(right.sent) == 3 == len(server.received) and right.failed == []


def test_without_an_smtp_host_nothing_is_sent(db, casework, morning):
    with pytest.raises(reminders.SmtpNotConfigured):
        reminders.send(get_sessionmaker(), get_settings().model_copy(update={"smtp_host": None}), now=morning)
    assert rows(db) == []


# --- the settings page ---------------------------------------------------------------------------

def test_the_settings_page_changes_the_choice_and_refuses_an_unknown_one(client, signed_in, db):
    user = signed_in(Role.clinician)
    home = client.get("/").text
    assert 'href="/account/reminders">Reminder e-mails</a>' in home
    page = client.get("/account/reminders")
    assert page.status_code == 200
    assert form_fields(page.text, "/account/reminders")["reminders"] == "digest"
    assert user.email in page.text

    changed = post_form(client, "/account/reminders", {"reminders": "immediate"}, form_page="/account/reminders")
    assert changed.status_code == 303 and changed.headers["location"] == "/account/reminders"
    db.rollback()
    assert db.get(User, user.id, populate_existing=True).reminders is ReminderChoice.immediate
    [event] = audit_events(db, "account.reminders_changed")
    assert (event.actor_user_id, event.object_id, event.details) == (user.id, str(user.id), {"choice": "immediate"})
    shown = client.get("/account/reminders").text
    assert "You will get a daily digest and a message as soon as something is urgent." in shown
    assert form_fields(shown, "/account/reminders")["reminders"] == "immediate"

    unknown = post_form(client, "/account/reminders", {"reminders": "weekly"}, form_page="/account/reminders")
    assert unknown.status_code == 422
    assert 'id="f-reminders-error"' in unknown.text
    assert "Choose which reminder e-mails you get from the list." in unknown.text
    empty = client.post("/account/reminders", data={"csrf_token": csrf_from(unknown.text)})
    assert empty.status_code == 422 and "Choose which reminder e-mails you get." in empty.text
    db.rollback()
    assert db.get(User, user.id, populate_existing=True).reminders is ReminderChoice.immediate
    assert len(audit_events(db, "account.reminders_changed")) == 1

    post_form(client, "/account/reminders", {"reminders": "none"}, form_page="/account/reminders")
    db.rollback()
    assert db.get(User, user.id, populate_existing=True).reminders is ReminderChoice.none


def test_the_settings_page_needs_a_session(client):
    response = client.get("/account/reminders", follow_redirects=False)
    assert response.status_code in (303, 401)
    assert client.post("/account/reminders", data={"reminders": "none"}, follow_redirects=False).status_code in (
        303, 401, 403)


# --- the command ---------------------------------------------------------------------------------

def command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", "send-reminders", *args],  # noqa: S603 (our own command)
                          env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_the_send_reminders_command_sends_through_the_smtp_server_once(smtp, db, casework):
    # The suite's own database, set up by the fixtures above; the command reads its settings from the environment.
    base = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_SMTP")} | {
        "COLUMNS": "200", "NO_COLOR": "1", "CASEWORK_REMINDERS_DIGEST_HOUR": "0"}
    mail = base | {"CASEWORK_SMTP_HOST": "127.0.0.1", "CASEWORK_SMTP_PORT": str(smtp.port),
                   "CASEWORK_SMTP_TLS": "none", "CASEWORK_MAIL_FROM": SENDER, "CASEWORK_BASE_URL": BASE}

    off = command(base)
    assert off.returncode == 2, off.stdout + off.stderr
    assert "Reminder e-mails are off: set CASEWORK_SMTP_HOST" in off.stderr

    dry = command(mail, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Would send digest digest:" in dry.stdout and f"to {casework['clinician'].email}:" in dry.stdout
    assert "3 message(s) to 3 user(s). Nothing was sent." in dry.stdout
    assert smtp.received == [] and rows(db) == []

    down = command(mail | {"CASEWORK_SMTP_PORT": str(free_port())})
    assert down.returncode == 1, down.stdout + down.stderr
    assert "Sent 0 messages to 0 users; 3 failed, to be tried again by the next run:" in down.stdout
    assert "ConnectionRefused" in down.stdout

    sent = command(mail)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "Sent 3 messages to 3 users; nothing failed." in sent.stdout
    assert len(smtp.received) == 3
    for received in smtp.received:
        assert_nothing_personal(received.text)
    assert all(r.error is None for r in rows(db))

    again = command(mail)
    assert again.returncode == 0 and "Nothing to send." in again.stdout
    assert len(smtp.received) == 3
