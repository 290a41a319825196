"""Reminder e-mails: each user's daily digest and the immediate messages about urgent events, written from case
references, counts and links only, and sent over SMTP at most once each (`casework send-reminders`).

E-mail is not a safe channel for health data (DESIGN section 7), so nothing here reads a name, a date of birth,
a nationality, a task's title or any clinical text: the queries below select references, ids, dates and counts,
and the message text is built from those alone.

Sending once: every message has a key (the digest of one organisation day, "digest:2026-03-03", or one urgent
event at one threshold, "removal:12:24h"), unique per user in `sent_messages`. Each message is sent inside the
transaction that inserts its row, so a second run, or one running at the same time, finds the row (or waits on the
unique key and then finds it) and skips the message. A message the mail server did not accept keeps its row, with
the error, and is sent again by the next run for as long as it is still due: the day's digest during that day, an
immediate message while its event is still at that threshold. A run stopped between the server accepting a message
and the commit sends it again next time: twice is better than never for a removal tomorrow.
"""

from __future__ import annotations

import smtplib
import ssl
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.audit import service as audit
from app.auth.models import ReminderChoice, Role, User
from app.config import Settings, SmtpTls
from app.db import utcnow
from app.detention.models import Hearing, RemovalDirection, RemovalStatus
from app.people.models import Assignment, Person
from app.work.models import MessageKind, SentMessage, Task

# The roles that see every case, and so every case's urgent events; clinicians see the people assigned to them,
# researchers no one.
SEE_EVERY_CASE = frozenset({Role.admin, Role.coordinator})
FOOTER = ("This e-mail holds case references, counts and links only: sign in to see the details.\n"
          "Choose which reminder e-mails you get: {base}/account/reminders\n")
ERROR_LENGTH = 400


class SmtpNotConfigured(RuntimeError):
    """CASEWORK_SMTP_HOST is not set: reminders are off."""


# --- what there is to say ----------------------------------------------------------------------------

@dataclass(frozen=True)
class UrgentEvent:
    """A removal or hearing coming soon, as an e-mail may name it: the case reference and how soon, no more."""

    key: str  # the immediate message's key: the event at its threshold
    person_id: int
    reference: str
    lead_coordinator_id: int | None
    text: str  # "Removal within 24 hours"
    sentence: str  # the immediate message's first line
    at: datetime


@dataclass
class CaseTasks:
    overdue: int = 0
    due_today: int = 0


@dataclass
class UserTasks:
    by_case: dict[str | None, CaseTasks] = field(default_factory=dict)  # None: no case this user may see

    def add(self, reference: str | None, overdue: bool) -> None:
        counts = self.by_case.setdefault(reference, CaseTasks())
        if overdue:
            counts.overdue += 1
        else:
            counts.due_today += 1

    @property
    def overdue(self) -> int:
        return sum(c.overdue for c in self.by_case.values())

    @property
    def due_today(self) -> int:
        return sum(c.due_today for c in self.by_case.values())


@dataclass(frozen=True)
class Message:
    user_id: int
    recipient: str
    kind: MessageKind
    key: str
    subject: str
    body: str


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def urgent_events(db: Session, settings: Settings, now: datetime) -> list[UrgentEvent]:
    """Removal directions still set within the removal window, and hearings with no outcome still to come today
    or tomorrow, on open cases: two statements, soonest first."""
    zone = settings.zone
    today = now.astimezone(zone).date()
    events: list[UrgentEvent] = []
    removals = db.execute(
        select(RemovalDirection.id, RemovalDirection.removal_at, Person.id, Person.reference,
               Person.lead_coordinator_id)
        .join(Person, Person.id == RemovalDirection.person_id)
        .where(RemovalDirection.status == RemovalStatus.set, RemovalDirection.removal_at > now,
               RemovalDirection.removal_at <= now + timedelta(hours=settings.alert_removal_hours),
               Person.closed_date.is_(None)))
    for direction_id, at, person_id, reference, lead in removals:
        # The tightest threshold reached is the one said: a removal recorded 20 hours ahead is "within 24 hours"
        # at once, and is never also announced as "within 72 hours".
        hours = (settings.alert_removal_urgent_hours if _hours(at - now) <= settings.alert_removal_urgent_hours
                 else settings.alert_removal_hours)
        events.append(UrgentEvent(
            key=f"removal:{direction_id}:{hours}h", person_id=person_id, reference=reference,
            lead_coordinator_id=lead, text=f"Removal within {hours} hours", at=at,
            sentence=f"A removal direction for case {reference} falls within the next {hours} hours."))
    day_after_tomorrow = datetime.combine(today + timedelta(days=2), time(0), zone)
    hearings = db.execute(
        select(Hearing.id, Hearing.hearing_at, Person.id, Person.reference, Person.lead_coordinator_id)
        .join(Person, Person.id == Hearing.person_id)
        .where(Hearing.outcome.is_(None), Hearing.hearing_at > now, Hearing.hearing_at < day_after_tomorrow,
               Person.closed_date.is_(None)))
    for hearing_id, at, person_id, reference, lead in hearings:
        when = "today" if at.astimezone(zone).date() == today else "tomorrow"
        events.append(UrgentEvent(
            key=f"hearing:{hearing_id}:1d", person_id=person_id, reference=reference, lead_coordinator_id=lead,
            text=f"Hearing {when}", at=at, sentence=f"A hearing for case {reference} is {when}."))
    events.sort(key=lambda e: (e.at, e.key))
    return events


def _assigned(db: Session, clinician_ids: list[int], person_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(clinician id, person id) of the open assignments among these clinicians and people: one statement."""
    people = sorted(set(person_ids))
    if not clinician_ids or not people:
        return set()
    rows = db.execute(select(Assignment.clinician_id, Assignment.person_id)
                      .where(Assignment.clinician_id.in_(clinician_ids), Assignment.person_id.in_(people),
                             Assignment.ended_at.is_(None)))
    return {(clinician, person) for clinician, person in rows}


def _may_see(user: User, person_id: int, assigned: set[tuple[int, int]]) -> bool:
    return user.role in SEE_EVERY_CASE or (user.role is Role.clinician and (user.id, person_id) in assigned)


# --- writing the messages ----------------------------------------------------------------------------

def _things(n: int) -> str:
    return f"{n} thing{'' if n == 1 else 's'}"


def _counts(counts: CaseTasks) -> str:
    parts = [f"{counts.overdue} overdue" if counts.overdue else "", f"{counts.due_today} due today"
             if counts.due_today else ""]
    return ", ".join(p for p in parts if p)


def digest_text(user: User, today: date, tasks: UserTasks | None, events: list[UrgentEvent],
                base: str) -> tuple[str, str]:
    """(subject, body) of a user's digest. References, counts and links only."""
    items = (tasks.overdue + tasks.due_today if tasks else 0) + len(events)
    lines = [f"Casework tracker: your reminders for {today:%A} {today.day} {today:%B %Y}.", ""]
    if tasks is not None:
        lines += ["Your tasks", f"- {_counts(CaseTasks(tasks.overdue, tasks.due_today))}."]
        for reference, counts in sorted(tasks.by_case.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
            if reference is None:
                lines.append(f"- Not about a case you can open: {_counts(counts)}")
            else:
                lines += [f"- Case {reference}: {_counts(counts)}", f"  {base}/people/{reference}"]
        lines += [f"All your tasks: {base}/tasks", ""]
    if events:
        lines.append("Urgent")
        for event in events:
            yours = " (you lead this case)" if event.lead_coordinator_id == user.id else ""
            lines += [f"- {event.text}: case {event.reference}{yours}", f"  {base}/people/{event.reference}"]
        lines.append("")
    lines.append(FOOTER.format(base=base))
    return f"Casework: {_things(items)} due or urgent today", "\n".join(lines)


def immediate_text(event: UrgentEvent, base: str) -> tuple[str, str]:
    body = "\n".join([f"Urgent: {event.sentence}", f"{base}/people/{event.reference}", "", FOOTER.format(base=base)])
    return f"Casework: urgent: {event.text[:1].lower()}{event.text[1:]}", body


def plan(db: Session, settings: Settings, now: datetime) -> list[Message]:
    """Every message due now for every active user who wants reminders, whether or not already sent. A fixed
    number of statements, whatever the number of users, cases or tasks."""
    zone = settings.zone
    local = now.astimezone(zone)
    today = local.date()
    users = list(db.scalars(select(User).where(User.is_active.is_(True), User.reminders != ReminderChoice.none)
                            .order_by(User.id)))
    if not users:
        return []
    events = urgent_events(db, settings, now)
    # The title is never selected: it may hold a name. Only whose task it is, its case and its due date.
    task_rows = db.execute(
        select(Task.assignee_id, Task.person_id, Person.reference, Task.due_date)
        .join(User, User.id == Task.assignee_id)
        .outerjoin(Person, Person.id == Task.person_id)
        .where(Task.done_at.is_(None), Task.due_date <= today, User.is_active.is_(True),
               User.reminders != ReminderChoice.none)
        .order_by(Task.id)).all()
    clinicians = [u.id for u in users if u.role is Role.clinician]
    assigned = _assigned(db, clinicians, [e.person_id for e in events]
                         + [person_id for _, person_id, _, _ in task_rows if person_id is not None])
    by_id = {u.id: u for u in users}
    tasks: dict[int, UserTasks] = defaultdict(UserTasks)
    for assignee_id, person_id, reference, due in task_rows:
        shown = reference if person_id is not None and _may_see(by_id[assignee_id], person_id, assigned) else None
        tasks[assignee_id].add(shown, overdue=due is not None and due < today)
    base = settings.base_url
    digest_due = local.hour >= settings.reminders_digest_hour
    messages: list[Message] = []
    for user in users:
        theirs = [e for e in events if _may_see(user, e.person_id, assigned)]
        # The cases they lead first: those are theirs to act on.
        theirs.sort(key=lambda e: e.lead_coordinator_id != user.id)
        if digest_due and (user.id in tasks or theirs):
            subject, body = digest_text(user, today, tasks.get(user.id), theirs, base)
            messages.append(Message(user.id, user.email, MessageKind.digest, f"digest:{today.isoformat()}",
                                    subject, body))
        if user.reminders is ReminderChoice.immediate:
            for event in theirs:
                subject, body = immediate_text(event, base)
                messages.append(Message(user.id, user.email, MessageKind.immediate, event.key, subject, body))
    return messages


def not_yet_sent(db: Session, messages: list[Message]) -> list[Message]:
    """The messages with no row yet, or whose last try failed: one statement."""
    if not messages:
        return []
    sent = {(user_id, key) for user_id, key in db.execute(
        select(SentMessage.user_id, SentMessage.key).where(SentMessage.key.in_(sorted({m.key for m in messages})),
                                                           SentMessage.error.is_(None)))}
    return [m for m in messages if (m.user_id, m.key) not in sent]


# --- sending -----------------------------------------------------------------------------------------

def email_of(message: Message, settings: Settings, now: datetime) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = rfc2822_date(now)
    email["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to the sender
    email.set_content(message.body)
    return email


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]


class Transport:
    """One SMTP connection for a run, opened at the first message. Once the server cannot be reached, every
    later message of the run fails at once with the same error, rather than each waiting out the timeout."""

    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise SmtpNotConfigured
        self.settings = settings
        self.connection: smtplib.SMTP | None = None
        self.down: str | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        host = s.smtp_host or ""
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if s.smtp_tls is SmtpTls.ssl:
            connection = smtplib.SMTP_SSL(host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context)
        else:
            connection = smtplib.SMTP(host, s.smtp_port, timeout=s.smtp_timeout_seconds)
            if s.smtp_tls is SmtpTls.starttls:
                connection.starttls(context=context)
        if s.smtp_username is not None and s.smtp_secret is not None:
            connection.login(s.smtp_username, s.smtp_secret)
        return connection

    def send(self, email: EmailMessage) -> str | None:
        """None when the server accepted the message; else what went wrong."""
        if self.down is not None:
            return self.down
        for _ in range(2):
            fresh = self.connection is None
            try:
                if self.connection is None:
                    self.connection = self._connect()
                self.connection.send_message(email)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as refused:
                return _describe(refused)  # this message only: the connection is still good
            except smtplib.SMTPServerDisconnected as error:
                self.connection = None
                if fresh:
                    self.down = _describe(error)
                    return self.down
                # The server closed a connection it had kept open between messages: open a new one, once.
            except (OSError, smtplib.SMTPException) as error:
                self.down = _describe(error)
                self.close()
                return self.down
            else:
                return None
        self.down = "SMTPServerDisconnected: the server closed the connection again"
        return self.down

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None


@dataclass
class RunResult:
    due: list[Message]  # what was still to send when the run began
    sent: list[Message] = field(default_factory=list)
    failed: list[tuple[Message, str]] = field(default_factory=list)
    skipped: int = 0  # sent meanwhile by another run

    @property
    def users(self) -> int:
        return len({m.user_id for m in self.sent})


def _send_one(sessions: sessionmaker[Session], transport: Transport, settings: Settings, message: Message,
              now: datetime) -> tuple[bool, str | None]:
    """Claims the message's row and sends the message in the same transaction: (whether it was sent already,
    by an earlier or a concurrent run; the error recorded on the row, None when the server accepted it)."""
    with sessions() as db, db.begin():
        # FOR UPDATE: a run retrying the same failed message at the same time waits here, then sees it sent.
        row = db.scalar(select(SentMessage).where(SentMessage.user_id == message.user_id,
                                                  SentMessage.key == message.key).with_for_update())
        if row is not None and row.error is None:
            return True, None
        if row is None:
            row = SentMessage(user_id=message.user_id, kind=message.kind, key=message.key)
            db.add(row)
        row.recipient, row.subject, row.body, row.sent_at = message.recipient, message.subject, message.body, now
        # A concurrent run's row for the same message raises IntegrityError here, before anything is sent; a
        # PostgreSQL insert waits on the unique key until that run commits, so it never sends it too.
        db.flush()
        row.error = transport.send(email_of(message, settings, now))
        return False, row.error


def send(sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None,
         transport: Transport | None = None) -> RunResult:
    """Sends every reminder due and not yet sent, one transaction each, and records the run in the audit log."""
    if not settings.reminders_enabled:
        raise SmtpNotConfigured
    now = now or utcnow()
    with sessions() as db:
        due = not_yet_sent(db, plan(db, settings, now))
        db.rollback()
    result = RunResult(due)
    transport = transport or Transport(settings)
    try:
        for message in due:
            try:
                already, error = _send_one(sessions, transport, settings, message, now)
            except IntegrityError:
                already, error = True, None
            if already:
                result.skipped += 1
            elif error is None:
                result.sent.append(message)
            else:
                result.failed.append((message, error))
    finally:
        transport.close()
    with sessions() as db, db.begin():
        audit.record(db, "reminders.sent", actor_id=None, object_type="reminders", messages=len(result.sent),
                     failed=len(result.failed))
    return result


def preview(sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None) -> list[Message]:
    """What a run now would send, sending and writing nothing (`--dry-run`)."""
    with sessions() as db:
        due = not_yet_sent(db, plan(db, settings, now or utcnow()))
        db.rollback()
    return due
