"""`casework backup`: a copy of the live SQLite database taken while the application writes restores to a
consistent database at the migration head holding everything committed before it began; PostgreSQL gets the
pg_dump / pg_restore commands instead. These tests make their own SQLite databases, whichever database the rest
of the suite runs on."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.models import Role, User
from app.cli import cli
from app.config import PROJECT_ROOT, get_settings
from app.db import build_engine
from app.detention.models import DetentionEpisode
from app.evidence.models import Document, EvidenceItem, EvidenceKind
from app.people.models import Identity, Person, PersonStatus

pytestmark = pytest.mark.no_database
runner = CliRunner()
BLOB = bytes(range(256)) * 200  # 50 KB per document, so the copy takes long enough for writes to land during it


def alembic_config() -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def migrated(path: Path) -> Engine:
    engine = build_engine(f"sqlite:///{path}")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return engine


def add_case(db: Session, n: int, user_id: int, *, with_document: bool = False) -> int:
    """One person with identity and an open episode (and optionally a document), in the caller's transaction."""
    person = Person(reference=f"B{n // 10000 % 10}{n // 1000 % 10}{n // 100 % 10}-{n % 100:02d}ZZ",
                    status=PersonStatus.detained, opened_date=date(2026, 1, 1))
    db.add(person)
    db.flush()
    db.add(Identity(person_id=person.id, given_names=f"Backupa {n}", family_name="Fictivo"))
    db.add(DetentionEpisode(person_id=person.id, start_date=date(2026, 1, 1)))
    if with_document:
        item = EvidenceItem(person_id=person.id, kind=EvidenceKind.other, created_by_id=user_id)
        db.add(item)
        db.flush()
        db.add(Document(person_id=person.id, evidence_item_id=item.id, original_filename="scan.pdf",
                        content_type="application/pdf", size_bytes=len(BLOB), sha256="0" * 64, content=BLOB,
                        uploaded_by_id=user_id))
    db.flush()
    return person.id


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A migrated SQLite database the CLI is pointed at, with a user and 120 cases (6 MB of documents)."""
    path = tmp_path / "live.sqlite3"
    engine = migrated(path)
    with Session(engine) as db:
        user = User(email="backup@example.org", display_name="Backup Fixture", role=Role.admin, password_hash="x")
        db.add(user)
        db.flush()
        for n in range(120):
            add_case(db, n, user.id, with_document=True)
        db.commit()
        user_id = user.id
    monkeypatch.setattr(get_settings(), "database_url", f"sqlite:///{path}")
    yield path, engine, user_id
    engine.dispose()


def test_a_backup_taken_while_the_app_writes_restores_consistent_at_the_head(live, tmp_path):
    path, engine, user_id = live
    committed: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        n = 1000
        try:
            while not stop.is_set():
                with Session(engine) as db:
                    person_id = add_case(db, n, user_id, with_document=n % 5 == 0)
                    db.commit()
                with lock:
                    committed.append(person_id)
                n += 1
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while True:  # let the writer get going, so the backup starts in the middle of its writes
            with lock:
                if len(committed) >= 20:
                    break
            time.sleep(0.01)
        with lock:
            before_backup = list(committed)
        destination = tmp_path / "backups" / "casework.sqlite3"
        destination.parent.mkdir()
        result = runner.invoke(cli, ["backup", str(destination)])
        with lock:
            during_backup = len(committed) - len(before_backup)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert result.exit_code == 0, result.output
    assert during_backup > 0, "no write landed while the backup ran: the test would prove nothing"
    assert f"Backup written to {destination}" in result.output
    assert "integrity check: ok" in result.output and f"migration: {head()} (at the head)" in result.output
    assert f"size: {destination.stat().st_size:,} bytes" in result.output

    # The copy is one self-contained file, readable by its owner only.
    assert oct(destination.stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in destination.parent.iterdir()) == ["casework.sqlite3"]

    restored = build_engine(f"sqlite:///{destination}")
    try:
        with restored.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head()
            assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            ids = set(conn.scalars(select(Person.id)))
            # Everything committed before the backup began is in it ...
            assert set(before_backup) <= ids and set(range(1, 121)) <= ids
            # ... and every transaction in it is whole: each person came with their identity and episode.
            assert conn.scalar(select(func.count()).select_from(Identity)) == len(ids)
            assert conn.scalar(select(func.count()).select_from(DetentionEpisode)) == len(ids)
        with Session(restored) as db:  # the application's models read it as they read the live database
            identity = db.get(Identity, before_backup[-1])
            assert identity is not None and identity.family_name == "Fictivo"
            # Document bytes are sealed at rest: each one opens, whole, with its person's key from the backup.
            documents = db.scalars(select(Document)).all()
            assert documents and all(document.content == BLOB for document in documents)
    finally:
        restored.dispose()


def test_an_existing_file_is_kept_unless_force_is_given(live, tmp_path):
    destination = tmp_path / "existing.sqlite3"
    destination.write_bytes(b"yesterday's backup")
    refused = runner.invoke(cli, ["backup", str(destination)])
    assert refused.exit_code == 1
    assert "already exists" in refused.output and "--force" in refused.output
    assert destination.read_bytes() == b"yesterday's backup"

    replaced = runner.invoke(cli, ["backup", str(destination), "--force"])
    assert replaced.exit_code == 0, replaced.output
    with sqlite3.connect(destination) as copy:
        assert copy.execute("SELECT count(*) FROM people").fetchone()[0] == 120
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_live_database_and_folders_are_refused(live, tmp_path):
    path = live[0]
    over_itself = runner.invoke(cli, ["backup", str(path), "--force"])
    assert over_itself.exit_code == 1 and "over the live database" in over_itself.output
    folder = runner.invoke(cli, ["backup", str(tmp_path)])
    assert folder.exit_code == 1 and "is a folder" in folder.output
    missing = runner.invoke(cli, ["backup", str(tmp_path / "no" / "such" / "x.sqlite3")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_a_copy_that_fails_its_checks_is_deleted_and_replaces_nothing(live, tmp_path):
    path = live[0]
    with sqlite3.connect(path) as raw:  # a row whose foreign key points nowhere, written with the checks off
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("INSERT INTO identities (person_id, given_names, family_name) VALUES (999999, 'Orpha', 'Nedd')")
    destination = tmp_path / "kept.sqlite3"
    destination.write_bytes(b"the last good backup")
    result = runner.invoke(cli, ["backup", str(destination), "--force"])
    assert result.exit_code == 1
    assert "foreign keys point nowhere" in result.output
    assert destination.read_bytes() == b"the last good backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_postgresql_gets_the_pg_dump_and_pg_restore_commands_and_a_non_zero_exit(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "database_url",
                        "postgresql+psycopg://casework:not-this-password@db.example:5432/casework")
    destination = tmp_path / "casework.dump"
    result = runner.invoke(cli, ["backup", str(destination)])
    assert result.exit_code == 2
    assert (f"pg_dump -Fc --file={destination} postgresql://casework@db.example:5432/casework"
            in result.output)
    assert ("pg_restore --exit-on-error --no-owner "
            f"--dbname=postgresql://casework@db.example:5432/casework_restored {destination}") in result.output
    assert "createdb -h db.example -p 5432 -U casework -T template0 casework_restored" in result.output
    assert "master key" in result.output
    assert "not-this-password" not in result.output
    assert not destination.exists()
    assert os.listdir(tmp_path) == []
