"""Every `casework` command run as a real program in a fresh process, on a fresh database it migrated itself."""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer.main
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

from app.cli import cli
from app.config import PROJECT_ROOT
from app.migrations import alembic_config
from tests.conftest import TEST_DATABASE_URL, TEST_MASTER_KEY, is_postgres

# Nothing here uses the suite's own database, so it is neither migrated nor reset for these tests.
pytestmark = pytest.mark.no_database

# Each command below is run by at least one test here; a new command must join this set, and get a test.
COMMANDS = {"migrate", "create-user", "reset-mfa", "seed-demo", "generate-master-key", "rotate-master-key",
            "refresh-alerts", "backup", "retention", "serve", "verify-audit", "send-reminders"}
# A handful of people keeps seeding to a second or two; this seed gives cases closed over a year ago, so the
# retention run (with a one-year period) has cases to list and erase.
DEMO_PEOPLE = 12
DEMO_SEED = 7
NEW_KEY_ID = "2026-11"
BACKENDS = ["sqlite", "postgresql"] if is_postgres() else ["sqlite"]


def casework_command(*args: str) -> list[str]:
    # The same main() as the installed console script (whose presence test_help_... checks), and found even when
    # the package is not installed in this interpreter's environment.
    return [sys.executable, "-m", "app.cli", *args]


def base_env(root: Path, database_url: str) -> dict[str, str]:
    """The environment of a freshly started program: nothing of the test run's own settings (its database above
    all) leaks in, and rich prints plain lines wide enough not to wrap what the tests look for."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CASEWORK_") and k not in {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}}
    env.update({
        "CASEWORK_ENVIRONMENT": "test",
        "CASEWORK_DATABASE_URL": database_url,
        "CASEWORK_VAR_DIR": str(root / "var"),
        "CASEWORK_SECRET_KEY": "cli-subprocess-tests-secret-key-0123456789-abcdef",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_HOST": "127.0.0.1",
        "CASEWORK_WORKERS": "1",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    })
    return env


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(casework_command(*args), env=env, cwd=PROJECT_ROOT,  # noqa: S603 (our own command)
                          capture_output=True, text=True, timeout=timeout, check=False)


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    """The standard output of a run that must have exited 0; otherwise fail showing everything it printed."""
    assert result.returncode == 0, (f"casework {' '.join(result.args[3:])} exited {result.returncode}\n"
                                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result.stdout


@dataclass
class Casework:
    backend: str
    database_url: str
    root: Path
    env: dict[str, str]
    first_migrate: subprocess.CompletedProcess[str]

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run({**self.env, **(env or {})}, *args)

    def query(self, sql: str, **params: object) -> list[tuple]:
        """Read the fresh database directly, never through the application under test."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()

    def scalar(self, sql: str, **params: object) -> object:
        return self.query(sql, **params)[0][0]


@pytest.fixture(scope="module", params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(backend, URL) of a database nobody has touched: a new SQLite file, or a new PostgreSQL database on the
    test server, dropped afterwards."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path_factory.mktemp('cli-sqlite-db') / 'casework.sqlite3'}"
        return
    server = make_url(TEST_DATABASE_URL)
    name = f"casework_cli_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield "postgresql", server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def casework(fresh_database: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Casework:
    """The fresh database migrated by `casework migrate` itself; shared by the tests below, in order."""
    backend, database_url = fresh_database
    root = tmp_path_factory.mktemp(f"cli-{backend}")
    env = base_env(root, database_url)
    return Casework(backend, database_url, root, env, run(env, "migrate"))


@pytest.fixture(scope="module")
def seeded(casework: Casework) -> Casework:
    result = casework.run("seed-demo", "--people", str(DEMO_PEOPLE), "--seed", str(DEMO_SEED))
    assert f"Added {DEMO_PEOPLE} fictional people." in succeeded(result)
    return casework


def test_help_of_the_installed_command_lists_every_command():
    assert set(typer.main.get_command(cli).commands) == COMMANDS  # type: ignore[attr-defined]
    script = Path(sys.executable).with_name("casework")
    if not script.exists():
        pytest.skip(f"no console script at {script}: the package is not installed in this interpreter's env")
    result = subprocess.run([str(script), "--help"], env=base_env(Path("/nonexistent"), "sqlite://"),  # noqa: S603
                            capture_output=True, text=True, timeout=60, check=False)
    output = succeeded(result)
    for command in COMMANDS:
        assert re.search(rf"^\W*{re.escape(command)}\s", output, re.MULTILINE), command


def test_migrate_builds_the_fresh_database_and_then_has_nothing_to_do(casework: Casework):
    first = casework.first_migrate
    assert "Database is up to date." in succeeded(first)
    assert "Running upgrade  -> 0001" in first.stderr
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert casework.query("SELECT version_num FROM alembic_version") == [(head,)]
    again = casework.run("migrate")
    assert "Database is up to date." in succeeded(again)
    assert "Running upgrade" not in again.stderr


def test_seed_demo_adds_a_few_fictional_people_and_the_demo_accounts(seeded: Casework):
    assert seeded.scalar("SELECT count(*) FROM people") == DEMO_PEOPLE
    emails = {row[0] for row in seeded.query("SELECT email FROM users")}
    assert {"admin@example.org", "coordinator@example.org", "clinician@example.org",
            "researcher@example.org"} <= emails


def test_create_user_then_reset_mfa(casework: Casework):
    email = "fictional.caseworker@example.org"
    created = casework.run("create-user", "--email", email, "--role", "coordinator", "--name", "Fictivo Clitest",
                           env={"CASEWORK_NEW_USER_PASSWORD": "a fictional pass phrase"})
    assert f"Created coordinator {email}." in succeeded(created)
    [(user_id, role)] = casework.query("SELECT id, role FROM users WHERE email = :email", email=email)
    assert role == "coordinator"

    reset = casework.run("reset-mfa", "--email", email)
    assert f"Two-factor sign-in removed for {email}; 0 session(s) ended." in succeeded(reset)
    assert casework.scalar("SELECT count(*) FROM audit_events WHERE action = 'admin.user_mfa_reset' "
                           "AND object_id = :id", id=str(user_id)) == 1


def test_refresh_alerts_works_out_every_cases_flags(seeded: Casework):
    output = succeeded(seeded.run("refresh-alerts"))
    cases = seeded.scalar("SELECT count(*) FROM person_alert_states")
    assert cases == seeded.scalar("SELECT count(*) FROM people")
    assert f"Alert flags worked out for {cases} cases." in output
    assert "Query planner statistics refreshed." in output


def test_send_reminders_refuses_without_smtp_then_sends_through_a_real_server_once(seeded: Casework):
    from app.crypto.fields import unsealed_json
    from tests.work.smtp_server import smtp_server

    off = seeded.run("send-reminders")
    assert off.returncode == 2, off.stdout + off.stderr
    assert "Reminder e-mails are off: set CASEWORK_SMTP_HOST" in off.stderr
    # An overdue task of the demo coordinator's, about no case (so its title is kept plain), makes one digest sure.
    engine = create_engine(seeded.database_url)
    try:
        with engine.begin() as conn:
            [(coordinator_id,)] = conn.execute(text("SELECT id FROM users WHERE email = 'coordinator@example.org'"))
            conn.execute(text("INSERT INTO tasks (title, assignee_id, due_date, made_by_id, made_at, version) "
                              "VALUES (:title, :user, :due, :user, :at, 1)"),
                         {"title": unsealed_json("Fictional chase of the rota"), "user": coordinator_id,
                          "due": datetime.now(UTC).date() - timedelta(days=2), "at": datetime.now(UTC)})
    finally:
        engine.dispose()
    with smtp_server() as server:
        mail = {"CASEWORK_SMTP_HOST": server.host, "CASEWORK_SMTP_PORT": str(server.port), "CASEWORK_SMTP_TLS": "none",
                "CASEWORK_MAIL_FROM": "casework@example.org", "CASEWORK_BASE_URL": "https://casework.example.org",
                "CASEWORK_REMINDERS_DIGEST_HOUR": "0"}
        sent = re.search(r"^Sent (\d+) messages? to (\d+) users?; nothing failed\.$",
                         succeeded(seeded.run("send-reminders", env=mail)), re.MULTILINE)
        assert sent, "no summary line"
        assert int(sent.group(1)) == len(server.received) >= 1
        assert int(sent.group(2)) == len({address for r in server.received for address in r.rcpt_tos})
        [digest] = server.to("coordinator@example.org")
        assert "1 overdue" in digest.body and "rota" not in digest.text
        assert seeded.scalar("SELECT count(*) FROM sent_messages WHERE error IS NULL") == len(server.received)
        assert "Nothing to send." in succeeded(seeded.run("send-reminders", env=mail))
        assert int(sent.group(1)) == len(server.received)


def test_retention_dry_run_lists_the_due_demo_cases_and_apply_erases_them(seeded: Casework):
    one_year = {"CASEWORK_RETENTION_YEARS": "1"}
    dry_run = succeeded(seeded.run("retention", "--dry-run", env=one_year))
    policy = re.search(r"Retention: 1 years after closure, so cases closed on or before (\d{4}-\d\d-\d\d)\.", dry_run)
    assert policy, dry_run
    due = {row[0] for row in seeded.query(
        "SELECT reference FROM people WHERE closed_date <= :cutoff "
        "AND id NOT IN (SELECT person_id FROM legal_holds WHERE lifted_at IS NULL)",
        cutoff=date.fromisoformat(policy.group(1)))}
    assert due, "the demo seed was chosen to give cases past a one-year retention period"
    assert f"{len(due)} case(s) would be erased" in dry_run
    assert all(reference in dry_run for reference in due)
    assert "Nothing was changed. Run with --apply to erase them." in dry_run
    assert seeded.scalar("SELECT count(*) FROM people") == DEMO_PEOPLE

    applied = succeeded(seeded.run("retention", "--apply", env=one_year))
    assert f"Erased {len(due)} case(s)." in applied
    left = {row[0] for row in seeded.query("SELECT reference FROM people")}
    assert len(left) == DEMO_PEOPLE - len(due) and not left & due
    assert seeded.scalar("SELECT count(*) FROM audit_events WHERE action = 'person.erased'") == len(due)


def test_verify_audit_reports_an_intact_trail_then_names_the_row_edited_behind_the_triggers(seeded: Casework):
    # Run after the retention erasures (a recorded erasure leaves the chain intact); run alone, reset-mfa writes
    # an audit row to check.
    if not seeded.scalar("SELECT count(*) FROM audit_events"):
        succeeded(seeded.run("reset-mfa", "--email", "admin@example.org"))
    rows = seeded.scalar("SELECT count(*) FROM audit_events")
    days = seeded.scalar("SELECT count(DISTINCT chain_day) FROM audit_events")
    assert rows and days
    intact = seeded.run("verify-audit")
    assert f"Audit trail intact: {rows} row{'s' if rows != 1 else ''} in {days} day{'s' if days != 1 else ''}." in (
        succeeded(intact))

    [(row_id, ip_address)] = seeded.query("SELECT id, ip_address FROM audit_events "
                                          "ORDER BY (action = 'person.erased') DESC, id LIMIT 1")
    lift, restore = (["ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"],
                     ["ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"])
    if seeded.backend == "sqlite":
        lift, restore = (["DROP TRIGGER audit_events_no_update"],
                         ["CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                          "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END"])

    def rewrite(value: object) -> None:
        """As the database's owner could: the trigger lifted, the row changed, the trigger put back."""
        engine = create_engine(seeded.database_url)
        try:
            with engine.begin() as conn:
                for statement in lift:
                    conn.execute(text(statement))
                conn.execute(text("UPDATE audit_events SET ip_address = :v WHERE id = :id"), {"v": value, "id": row_id})
                for statement in restore:
                    conn.execute(text(statement))
        finally:
            engine.dispose()

    rewrite("203.0.113.99")
    broken = seeded.run("verify-audit")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert re.search(rf"Audit trail broken on \d{{4}}-\d\d-\d\d at row {row_id}: edited", broken.stdout), broken.stdout
    rewrite(ip_address)
    assert "Audit trail intact" in succeeded(seeded.run("verify-audit"))


@pytest.fixture(scope="module")
def generated_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A key from `generate-master-key`, run pointed at a database file that must never come to exist."""
    root = tmp_path_factory.mktemp("cli-keygen")
    untouched = root / "never-created.sqlite3"
    result = run(base_env(root, f"sqlite:///{untouched}"), "generate-master-key", "--id", NEW_KEY_ID)
    return succeeded(result).strip(), untouched


def test_generate_master_key_prints_one_entry_and_touches_no_database(generated_key: tuple[str, Path]):
    entry, untouched = generated_key
    key_id, _, encoded = entry.partition(":")
    assert key_id == NEW_KEY_ID
    assert len(base64.b64decode(encoded, validate=True)) == 32
    assert not untouched.exists()


def test_rotate_master_key_rewraps_every_key_under_the_new_one_and_back(seeded: Casework,
                                                                         generated_key: tuple[str, Path]):
    new_entry = generated_key[0]
    # People's data keys and requests' (the demo has requests for help, each with its own key).
    person_keys = seeded.scalar("SELECT count(*) FROM person_keys") + seeded.scalar("SELECT count(*) FROM requests")
    assert person_keys
    # The documented order: the new key first, the old one after it until the rotation has run.
    rotated = succeeded(seeded.run("rotate-master-key", env={"CASEWORK_MASTER_KEY": f"{new_entry},{TEST_MASTER_KEY}"}))
    assert (f"{person_keys} data keys and the index key are now wrapped by master key '{NEW_KEY_ID}'. "
            "Other master keys can be removed from the settings.") in rotated
    wrapped_by = "SELECT DISTINCT master_key_id FROM person_keys UNION SELECT DISTINCT master_key_id FROM index_keys"
    assert seeded.query(wrapped_by) == [(NEW_KEY_ID,)]

    # Back under the test key, so the commands after this one open the data with the environment's key.
    back = succeeded(seeded.run("rotate-master-key", env={"CASEWORK_MASTER_KEY": f"{TEST_MASTER_KEY},{new_entry}"}))
    assert f"{person_keys} data keys and the index key are now wrapped by master key 'test'." in back
    assert seeded.query(wrapped_by) == [("test",)]


def test_backup_copies_sqlite_and_explains_pg_dump_for_postgresql(seeded: Casework):
    destination = seeded.root / "casework-backup.sqlite3"
    result = seeded.run("backup", str(destination))
    if seeded.backend == "postgresql":
        assert result.returncode == 2, result.stdout + result.stderr
        assert "This installation uses PostgreSQL" in result.stderr
        assert "Nothing was written." in result.stderr
        assert re.search(rf"^  pg_dump -Fc --file={re.escape(str(destination))} postgresql://", result.stderr,
                         re.MULTILINE), result.stderr
        assert "pg_restore --exit-on-error --no-owner" in result.stderr
        assert not destination.exists()
        return
    output = succeeded(result)
    assert destination.is_file()
    assert f"Backup written to {destination}" in output
    assert "integrity check: ok; foreign key check: ok" in output
    assert "(at the head)" in output
    people = seeded.scalar("SELECT count(*) FROM people")
    assert f"holds: {people} people" in output
    copy = create_engine(f"sqlite:///{destination}")
    try:
        with copy.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM people")).scalar() == people
    finally:
        copy.dispose()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthz(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None  # not listening yet


def test_serve_answers_healthz_and_stops_when_terminated(casework: Casework):
    port = _free_port()
    log = casework.root / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(casework_command("serve"),  # noqa: S603 (our own command)
                                   env={**casework.env, "CASEWORK_PORT": str(port)}, cwd=PROJECT_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while (status := _healthz(f"http://127.0.0.1:{port}/healthz")) != 200:
            assert process.poll() is None, f"serve stopped at start-up:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no 200 from /healthz within 30 s (last {status}):\n{log.read_text()}"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        # Uvicorn shuts down cleanly and then re-raises the signal it caught, so exiting "killed by SIGTERM"
        # is the normal end; the log says whether the shutdown was the clean one.
        assert process.wait(timeout=15) in (0, -signal.SIGTERM), log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    logged = log.read_text()
    for line in ("Application startup complete.", "Application shutdown complete.", "Finished server process"):
        assert line in logged, logged
