"""Backups: a consistent copy of a live SQLite database, checked before it is trusted; PostgreSQL's own tools."""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """The backup was not made (or not kept); the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    size_bytes: int
    migration: str | None
    migration_head: str | None
    tables: int
    people: int
    documents: int

    @property
    def at_head(self) -> bool:
        return self.migration is not None and self.migration == self.migration_head


class CopyContents(TypedDict):
    """What check_copy found in a copy: the fields of BackupSummary that come from the database itself."""

    migration: str | None
    migration_head: str | None
    tables: int
    people: int
    documents: int


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("Only a SQLite database file can be copied with `casework backup`.")
    return Path(url.database).resolve()


def migration_head() -> str | None:
    from alembic.script import ScriptDirectory

    from app.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def backup_sqlite(database_url: str, destination: Path, *, force: bool = False) -> BackupSummary:
    """Copy the live database to `destination` with SQLite's online backup API, then check the copy.

    The copy is taken in one step inside one read transaction, so it is the database exactly as it stood at one
    moment: every transaction committed before it began, none committed after. In WAL mode the application keeps
    writing while it runs. The copy is written beside the destination under a temporary name, readable by this
    user only (it holds everything), checked, and only then moved into place; a copy that fails a check is
    deleted and never replaces anything."""
    source = sqlite_path(database_url)
    destination = destination.expanduser().resolve()
    if not source.exists():
        raise BackupError(f"There is no database at {source}.")
    if destination == source:
        raise BackupError("The backup cannot be written over the live database.")
    if destination.is_dir():
        raise BackupError(f"{destination} is a folder: give the name of the backup file to write.")
    if destination.exists() and not force:
        raise BackupError(f"{destination} already exists; nothing was written. Add --force to replace it.")
    if not destination.parent.is_dir():
        raise BackupError(f"The folder {destination.parent} does not exist.")

    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        live = sqlite3.connect(source, timeout=30)
        try:
            live.execute("PRAGMA busy_timeout=30000")
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy)  # pages=-1: the whole database in one step, one consistent snapshot
                # A single self-contained file: no -wal or -shm beside it to lose on the way to the backup store.
                copy.execute("PRAGMA journal_mode=DELETE")
                summary = check_copy(copy)
            finally:
                copy.close()
        finally:
            live.close()
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(path=destination, size_bytes=destination.stat().st_size, **summary)


def check_copy(copy: sqlite3.Connection) -> CopyContents:
    """Refuse a copy that is damaged or breaks a foreign key; otherwise say what it holds."""
    integrity = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        raise BackupError("The copy failed SQLite's integrity check and was deleted: " + "; ".join(integrity[:5]))
    broken = copy.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise BackupError(f"The copy has {len(broken)} row(s) whose foreign keys point nowhere and was deleted.")
    tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = None
    if "alembic_version" in tables:
        row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        version = row[0] if row else None

    def count(table: str) -> int:
        # Table names come from the fixed set below, never from input.
        return copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in tables else 0  # noqa: S608

    return {"migration": version, "migration_head": migration_head(), "tables": len(tables),
            "people": count("people"), "documents": count("documents")}


def postgres_commands(database_url: str, destination: str) -> tuple[str, str]:
    """The pg_dump and pg_restore commands for this database, with the password left out (libpq reads it from
    PGPASSWORD or ~/.pgpass, so it never lands in shell history or a log). The restore goes into a new, empty
    database beside the live one, to be checked before anything is switched over to it."""
    given = make_url(database_url)
    url = URL.create("postgresql", username=given.username, host=given.host, port=given.port,
                     database=given.database)
    restored_name = f"{url.database}_restored"
    dump = f"pg_dump -Fc --file={shlex.quote(destination)} {shlex.quote(url.render_as_string(hide_password=False))}"
    connection = [f"{flag} {shlex.quote(str(value))}" for flag, value in
                  (("-h", url.host), ("-p", url.port), ("-U", url.username)) if value]
    restore = (f"createdb {' '.join(connection)} -T template0 {shlex.quote(restored_name)} && "
               f"pg_restore --exit-on-error --no-owner "
               f"--dbname={shlex.quote(url.set(database=restored_name).render_as_string(hide_password=False))} "
               f"{shlex.quote(destination)}")
    return dump, restore
