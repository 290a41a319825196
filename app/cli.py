"""The `casework` command: serve, migrate, create users, load demo data, back up the database, apply the
retention policy, verify the audit trail and send reminder e-mails."""

from __future__ import annotations

import getpass
import os
import sys

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.config import DEMO_PASSWORD, SettingsError, get_settings
from app.migrations import run_migrations

cli = typer.Typer(help="Detention casework tracker.", no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)


@cli.callback()
def _register_every_model() -> None:
    # Runs before any command, however the program was started. Relationships name their targets as strings,
    # found only if every table module has been imported by the first query, and app.models also installs the
    # hook that marks alert flags stale; commands import just what they use, so a fresh process would have neither.
    import app.models  # noqa: F401


@cli.command()
def migrate() -> None:
    """Apply every pending database migration."""
    run_migrations()
    console.print("[green]Database is up to date.[/green]")


@cli.command("create-user")
def create_user(
    email: str = typer.Option(..., "--email", help="Sign-in e-mail address."),
    role: str = typer.Option(..., "--role", help="admin, coordinator, clinician or researcher."),
    name: str = typer.Option("", "--name", help="Display name (defaults to the part before @)."),
) -> None:
    """Create a staff account. The password is asked for, or read from CASEWORK_NEW_USER_PASSWORD."""
    from pydantic import ValidationError

    from app.auth import service
    from app.auth.models import Role
    from app.auth.schemas import UserCreateForm
    from app.db import get_sessionmaker

    password = os.environ.get("CASEWORK_NEW_USER_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            err.print("No terminal to ask for a password: set CASEWORK_NEW_USER_PASSWORD.")
            raise typer.Exit(2)
        password = getpass.getpass("Password: ")
        if getpass.getpass("Same password again: ") != password:
            err.print("The passwords do not match; nothing was created.")
            raise typer.Exit(2)
    if role not in {r.value for r in Role}:
        err.print(f"Unknown role {role!r}: choose from {', '.join(r.value for r in Role)}.")
        raise typer.Exit(2)
    try:
        form = UserCreateForm(email=email, display_name=name or email.split("@")[0], role=Role(role),
                              password=password)
    except ValidationError as exc:
        for error in exc.errors():
            err.print(f"{error['loc'][0]}: {str(error['msg']).removeprefix('Value error, ')}")
        err.print("Nothing was created.")
        raise typer.Exit(2) from None
    if get_settings().is_production and password == DEMO_PASSWORD:
        err.print("The demo password cannot be used in production.")
        raise typer.Exit(2)
    with get_sessionmaker()() as db:
        if service.email_taken(db, form.email):
            err.print(f"A user with e-mail {form.email} already exists; nothing was created.")
            raise typer.Exit(1)
        service.create_user(db, email=form.email, display_name=form.display_name, role=form.role,
                            password=form.password)
        db.commit()
    console.print(f"[green]Created {form.role.value} {form.email}.[/green]")


@cli.command("reset-mfa")
def reset_mfa(email: str = typer.Option(..., "--email", help="Sign-in e-mail address of the account.")) -> None:
    """Remove an account's two-factor sign-in and end its sessions, for when no administrator can sign in to do
    it (the only admin lost both their phone and their recovery codes). Recorded in the audit log."""
    from sqlalchemy import select

    from app.audit import service as audit
    from app.auth import mfa
    from app.auth.models import User
    from app.db import get_sessionmaker

    with get_sessionmaker()() as db:
        user = db.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            err.print(f"No account has the e-mail {email}; nothing was changed.")
            raise typer.Exit(1)
        was_enrolled = mfa.is_enrolled(user)
        ended = mfa.reset(db, user)
        audit.record(db, "admin.user_mfa_reset", actor_id=None, object_type="user", object_id=user.id,
                     was_enrolled=was_enrolled, sessions_ended=ended)
        db.commit()
    console.print(f"Two-factor sign-in removed for {email}; {ended} session(s) ended. They set it up again when "
                  "they next sign in.")


@cli.command("seed-demo")
def seed_demo(
    people: int = typer.Option(60, "--people", min=0, help="How many synthetic people to generate."),
    seed: int = typer.Option(2026, "--seed", help="Random seed, for repeatable data."),
) -> None:
    """Load fictional demo data and the demo accounts (does nothing if demo people already exist)."""
    from app.db import get_engine
    from app.demo.generator import seed_demo as generate

    if get_settings().is_production:
        err.print("Demo data is never loaded into a production database.")
        raise typer.Exit(2)
    with Progress(TextColumn("Generating people"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("people", total=people)
        result = generate(get_engine(), people=people, password=DEMO_PASSWORD, seed=seed,
                          progress=lambda n: progress.advance(task, n))
    if result.people == 0:
        console.print("Demo data was already loaded; nothing added.")
    else:
        console.print(f"[green]Added {result.people} fictional people.[/green]")


@cli.command("generate-master-key")
def generate_master_key(
    key_id: str = typer.Option(..., "--id", help="A short name for the key, e.g. 2026-11."),
) -> None:
    """Print a new random master key entry ("id:base64") for CASEWORK_MASTER_KEY or the key file."""
    from app.crypto.primitives import generate_master_key_entry

    try:
        console.print(generate_master_key_entry(key_id), highlight=False, soft_wrap=True)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None


@cli.command("rotate-master-key")
def rotate_master_key() -> None:
    """Re-wrap every person's data key and the name-index key under the first configured master key.

    Put the new key first in CASEWORK_MASTER_KEY (or the key file) and keep the old one after it, run this,
    then remove the old key: nothing needs it any more. Runs in one transaction: if it stops, nothing changed.
    """
    from app.crypto.keyring import master_keyring
    from app.crypto.primitives import DecryptionError
    from app.crypto.rotation import keys_to_rewrap, rotate
    from app.db import get_engine

    master = master_keyring()
    engine = get_engine()
    total = keys_to_rewrap(engine, master)
    try:
        with Progress(TextColumn("Re-wrapping data keys"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=False) as progress:
            task = progress.add_task("keys", total=total)
            done = rotate(engine, master, progress=lambda n: progress.advance(task, n))
    except DecryptionError as exc:
        err.print(f"Nothing was changed: {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]{done} data keys and the index key are now wrapped by master key "
                  f"{master.current_id!r}.[/green] Other master keys can be removed from the settings.")


@cli.command("refresh-alerts")
def refresh_alerts() -> None:
    """Work out every case's alert flags again and refresh the query planner's statistics (after changing an
    alert setting, or nightly from cron)."""
    from sqlalchemy import update

    from app.alerts.models import PersonAlertState
    from app.alerts.state import EPOCH
    from app.db import get_engine, refresh_statistics
    from app.demo.generator import refresh_alert_states

    engine = get_engine()
    with engine.begin() as connection:
        connection.execute(update(PersonAlertState).values(valid_until=EPOCH))
    console.print(f"Alert flags worked out for {refresh_alert_states(engine)} cases.")
    refresh_statistics(engine)
    console.print("Query planner statistics refreshed.")


@cli.command()
def backup(
    path: str = typer.Argument(..., help="The backup file to write, e.g. /backups/casework-2026-03-01.sqlite3."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it already exists."),
) -> None:
    """Copy the SQLite database while the application keeps running, check the copy and print what it holds.
    For PostgreSQL, print the pg_dump and pg_restore commands to use instead."""
    from pathlib import Path

    from app import backup as backups

    settings = get_settings()
    if not settings.is_sqlite:
        dump, restore = backups.postgres_commands(settings.database_url, path)
        err.print("This installation uses PostgreSQL: back it up with PostgreSQL's own tools, which copy a "
                  "consistent snapshot while the application runs. Nothing was written.", soft_wrap=True)
        err.print("\nBack up (custom format, compressed):", soft_wrap=True)
        err.print(f"  {dump}", soft_wrap=True, markup=False, highlight=False)
        err.print("\nRestore into a new, empty database, check it, then point CASEWORK_DATABASE_URL at it:",
                  soft_wrap=True)
        err.print(f"  {restore}", soft_wrap=True, markup=False, highlight=False)
        err.print("\nThe password comes from PGPASSWORD or ~/.pgpass. Keep the encryption master key backed up "
                  "separately from these files: without it the encrypted fields cannot be read.", soft_wrap=True)
        raise typer.Exit(2)
    try:
        summary = backups.backup_sqlite(settings.database_url, Path(path), force=force)
    except backups.BackupError as exc:
        err.print(str(exc), soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]Backup written to {summary.path}[/green]", soft_wrap=True, highlight=False)
    console.print(f"  size: {summary.size_bytes:,} bytes", highlight=False)
    console.print("  integrity check: ok; foreign key check: ok", highlight=False)
    state = "at the head" if summary.at_head else f"NOT at the head ({summary.migration_head})"
    console.print(f"  migration: {summary.migration} ({state})", highlight=False)
    console.print(f"  holds: {summary.people:,} people, {summary.documents:,} documents, {summary.tables} tables",
                  highlight=False)
    console.print("Keep the encryption master key backed up separately from this file.", highlight=False)


@cli.command()
def retention(
    dry_run: bool = typer.Option(False, "--dry-run", help="List the closed cases that are due, and change nothing."),
    apply: bool = typer.Option(False, "--apply", help="Erase the closed cases that are due, each one audited."),
) -> None:
    """Erase closed cases whose retention period (CASEWORK_RETENTION_YEARS after the closing date) has ended.
    Cases under a legal hold are kept. Run --dry-run first to see what would go."""
    from rich.table import Table

    from app.casefile import erasure
    from app.config import organisation_today
    from app.db import get_sessionmaker
    from app.people.models import Person

    if dry_run == apply:
        err.print("Choose one of --dry-run (list what is due) or --apply (erase it).")
        raise typer.Exit(2)
    settings = get_settings()
    cutoff = erasure.retention_cutoff(organisation_today(settings), settings.retention_years)
    sessions = get_sessionmaker()
    with sessions() as db:
        due = erasure.due_for_retention(db, cutoff)
        held = erasure.held_past_retention(db, cutoff)
        if dry_run:
            due = list(erasure.with_counts(db, due))
        db.rollback()
    policy = (f"Retention: {settings.retention_years} years after closure, so cases closed on or before "
              f"{cutoff.isoformat()}.")
    console.print(policy)
    if held:
        console.print(f"{held} case(s) past the period are kept under a legal hold.")
    if not due:
        console.print("Nothing is due for erasure.")
        return
    if dry_run:
        # References and dates only: this is read on a server console, so no names.
        table = Table("Reference", "Closed", "Rows", "Of which", title=f"{len(due)} case(s) would be erased")
        for case in due:
            main = ", ".join(f"{label} {case.rows[name]}" for name, label in erasure.SUMMARY_KINDS.items()
                             if case.rows.get(name))
            table.add_row(case.reference, case.closed_date.isoformat(), str(case.total_rows), main)
        console.print(table)
        console.print("Nothing was changed. Run with --apply to erase them.")
        return
    erased, kept = 0, []
    with Progress(TextColumn("Erasing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        task = progress.add_task("erase", total=len(due))
        for case in due:
            # One transaction per case: an interruption leaves each case either wholly erased or untouched.
            with sessions() as db:
                person = db.get(Person, case.person_id)
                if person is None:
                    kept.append(f"{case.reference}: already erased")
                else:
                    try:
                        erasure.erase(db, person, erasure.ErasureReason.retention, actor_id=None,
                                      closed_on_or_before=cutoff)
                    except erasure.ErasureRefused as refused:
                        erasure.record_refusal(db, person, refused, actor_id=None)
                        kept.append(f"{case.reference}: {refused.message}")
                    else:
                        erased += 1
                db.commit()
            progress.advance(task)
    console.print(f"[green]Erased {erased} case(s).[/green] Each erasure is in the audit log.")
    for line in kept:
        console.print(f"Kept {line}")


@cli.command("verify-audit")
def verify_audit() -> None:
    """Check the audit trail's hash chain: every row of every day is recomputed. Prints "Audit trail intact"
    (exit 0) or the first broken link: the day, the row and whether a row was edited, deleted, inserted or
    reordered (exit 1). Reads one consistent snapshot and blocks no writer, so it can run while the application
    does (e.g. nightly from cron)."""
    from app.audit import chain
    from app.db import get_engine

    engine = get_engine()
    with Progress(TextColumn("Checking the audit trail"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=False) as progress:
        task = progress.add_task("rows", total=chain.row_count(engine))
        verdict = chain.verify(engine, progress=lambda n: progress.advance(task, n))
        if verdict.broken is None:
            progress.update(task, completed=verdict.rows)
    console.print(chain.describe(verdict), soft_wrap=True, markup=False, highlight=False)
    if verdict.broken is not None:
        raise typer.Exit(1)


@cli.command("send-reminders")
def send_reminders(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent, and send and record nothing."),
) -> None:
    """Send the reminder e-mails due now: each user's daily digest (from CASEWORK_REMINDERS_DIGEST_HOUR) and the
    immediate messages about urgent events. Safe to run twice, or from cron every few minutes: nothing is sent
    twice. Exits 1 when a message failed (it is tried again by the next run), 2 when no SMTP host is set."""
    from app.db import get_sessionmaker
    from app.work import reminders

    settings = get_settings()
    sessions = get_sessionmaker()
    if dry_run:
        due = reminders.preview(sessions, settings)
        if not settings.reminders_enabled:
            console.print("E-mail is off (CASEWORK_SMTP_HOST is not set); a run would send nothing.")
        if not due:
            console.print("Nothing to send.")
        for message in due:
            console.print(f"Would send {message.kind.value} {message.key} to {message.recipient}: {message.subject}",
                          soft_wrap=True, markup=False, highlight=False)
        if due:
            console.print(f"{len(due)} message(s) to {len({m.user_id for m in due})} user(s). Nothing was sent.")
        return
    if not settings.reminders_enabled:
        err.print("Reminder e-mails are off: set CASEWORK_SMTP_HOST (and CASEWORK_MAIL_FROM, CASEWORK_BASE_URL) to "
                  "send them. Nothing was sent.", soft_wrap=True)
        raise typer.Exit(2)
    result = reminders.send(sessions, settings)
    if not result.due:
        console.print("Nothing to send.")
        return
    sent = len(result.sent)
    summary = (f"Sent {sent} message{'' if sent == 1 else 's'} to {result.users} user"
               f"{'' if result.users == 1 else 's'}")
    if result.skipped:
        summary += f" ({result.skipped} sent meanwhile by another run)"
    if not result.failed:
        console.print(f"{summary}; nothing failed.", highlight=False)
        return
    console.print(f"{summary}; {len(result.failed)} failed, to be tried again by the next run:", highlight=False)
    for message, error in result.failed:
        console.print(f"  {message.kind.value} {message.key} to {message.recipient}: {error}", soft_wrap=True,
                      markup=False, highlight=False)
    raise typer.Exit(1)


def print_demo_sign_ins() -> None:
    from app.demo.generator import DEMO_USERS

    settings = get_settings()
    console.print()
    console.print(f"[bold]Casework tracker[/bold] on http://{settings.host}:{settings.port}/login")
    console.print(f"Demo sign-ins (password [bold]{DEMO_PASSWORD}[/bold]):")
    for email, _name, role in DEMO_USERS:
        console.print(f"  {role.value:<12} {email}")
    console.print()


@cli.command()
def serve(
    demo: bool = typer.Option(False, "--demo", help="Migrate, load demo data if empty and print the sign-ins."),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
) -> None:
    """Run the web application with uvicorn."""
    import uvicorn

    settings = get_settings()
    if demo:
        if settings.is_production:
            err.print("--demo is for development only.")
            raise typer.Exit(2)
        run_migrations()
        seed_demo(people=60, seed=2026)
        print_demo_sign_ins()
    uvicorn.run("app.main:create_app", factory=True, host=settings.host, port=settings.port,
                workers=None if reload else settings.workers, reload=reload, proxy_headers=True,
                server_header=False)


def main() -> None:
    try:
        cli()
    except SettingsError as exc:
        # A refusal to start is for the operator to act on: one plain message, no traceback.
        err.print(str(exc), soft_wrap=True, markup=False, highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
