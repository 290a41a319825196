"""The audit trail is hash-chained: `verify` finds a row edited, deleted, inserted or reordered behind the
append-only triggers' back (as the database's owner could), and legitimate writes never break the chain."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import chain
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.casefile import erasure
from app.db import build_engine, get_sessionmaker
from app.people.models import Person
from tests.conftest import TMP, _audit_guard_statements, is_postgres


def _record(count: int, *, at: datetime | None = None, action: str = "auth.sign_out") -> list[int]:
    """`count` audit rows written as the application writes them, in one transaction; their ids."""
    with get_sessionmaker()() as session:
        if at is None:
            events = [audit.record(session, action, actor_id=None, ip_address=f"192.0.2.{i + 1}")
                      for i in range(count)]
        else:
            # As the viewer's tests write rows of another day: added to the session, chained at the flush.
            events = [AuditEvent(action=action, occurred_at=at + timedelta(seconds=i), ip_address="192.0.2.50")
                      for i in range(count)]
            session.add_all(events)
            session.flush()
        session.commit()
        return [e.id for e in events]


@contextmanager
def behind_the_triggers(engine: Engine) -> Iterator[Connection]:
    """A connection on which audit_events can be changed, as the database's owner could: on PostgreSQL the
    trigger disabled, on SQLite dropped; put back before the change is committed."""
    with engine.begin() as conn:
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        else:
            for statement in _audit_guard_statements("sqlite")[1]:
                conn.execute(text(statement))
        yield conn
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        else:
            for statement in _audit_guard_statements("sqlite")[0]:
                conn.execute(text(statement))


def _today() -> datetime:
    return datetime.now(UTC)


def test_an_empty_log_is_intact(engine):
    verdict = chain.verify(engine)
    assert (verdict.rows, verdict.days, verdict.broken) == (0, 0, None)
    assert chain.describe(verdict) == "Audit trail intact: 0 rows in 0 days."


def test_a_fresh_chain_verifies_and_every_row_is_linked(engine, db):
    earlier = _today() - timedelta(days=3)
    ids = _record(3) + _record(2, at=earlier) + _record(1)
    verdict = chain.verify(engine)
    assert verdict.broken is None
    assert (verdict.rows, verdict.days) == (6, 2)
    assert chain.describe(verdict) == "Audit trail intact: 6 rows in 2 days."
    db.rollback()
    rows = db.execute(select(AuditEvent.id, AuditEvent.chain_day, AuditEvent.chain_seq, AuditEvent.chain_hash)
                      .order_by(AuditEvent.id)).all()
    assert [r.id for r in rows] == ids
    assert [r.chain_day for r in rows] == [_today().date()] * 3 + [earlier.date()] * 2 + [_today().date()]
    assert [r.chain_seq for r in rows] == [1, 2, 3, 1, 2, 4]
    assert all(len(r.chain_hash) == 64 and int(r.chain_hash, 16) >= 0 for r in rows)
    assert len({r.chain_hash for r in rows}) == 6


@pytest.mark.parametrize(("column", "value"), [
    ("details", '{"rewritten": true}'),
    ("ip_address", "203.0.113.66"),
    ("outcome", "denied"),
    ("action", "auth.sign_in"),
    ("chain_hash", "0" * 64),
])
def test_a_row_edited_behind_the_triggers_back_is_caught_and_named(engine, column, value):
    ids = _record(5)
    with behind_the_triggers(engine) as conn:
        conn.execute(text(f"UPDATE audit_events SET {column} = :v WHERE id = :id"), {"v": value, "id": ids[2]})
    verdict = chain.verify(engine)
    assert verdict.broken is not None
    assert (verdict.broken.kind, verdict.broken.row_id, verdict.broken.day) == ("edited", ids[2], _today().date())
    message = chain.describe(verdict)
    assert message.startswith(f"Audit trail broken on {_today().date().isoformat()} at row {ids[2]}: edited")


def test_a_changed_time_is_caught_as_an_edit(engine):
    ids = _record(3)
    with behind_the_triggers(engine) as conn:
        moved = conn.scalar(select(AuditEvent.occurred_at).where(AuditEvent.id == ids[1])) - timedelta(seconds=1)
        conn.execute(text("UPDATE audit_events SET occurred_at = :v WHERE id = :id"),
                     {"v": moved.replace(tzinfo=None) if not is_postgres() else moved, "id": ids[1]})
    broken = chain.verify(engine).broken
    assert broken is not None and (broken.kind, broken.row_id) == ("edited", ids[1])


def test_a_deleted_row_is_caught_in_the_middle_and_at_the_end(engine):
    ids = _record(5)
    with behind_the_triggers(engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
    broken = chain.verify(engine).broken
    assert broken is not None and (broken.kind, broken.row_id) == ("deleted", ids[2])
    assert "position 2" in broken.detail

    with behind_the_triggers(engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id < :id"), {"id": ids[3]})
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[4]})
        # The start of the day's chain is gone too: the first row left is now the one named.
    broken = chain.verify(engine).broken
    assert broken is not None and (broken.kind, broken.row_id) == ("deleted", ids[3])


def test_the_last_rows_of_a_day_deleted_are_caught(engine):
    ids = _record(4)
    with behind_the_triggers(engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id >= :id"), {"id": ids[2]})
    broken = chain.verify(engine).broken
    assert broken is not None and (broken.kind, broken.row_id) == ("deleted", ids[1])
    assert "2 row(s)" in broken.detail


def test_an_inserted_row_is_caught_with_or_without_chain_fields(engine):
    ids = _record(3)
    with engine.begin() as conn:  # an INSERT needs no trigger lifted: the append-only rule allows it
        conn.execute(text("INSERT INTO audit_events (occurred_at, action, outcome, details) "
                          "VALUES (:at, 'auth.sign_out', 'success', '{}')"),
                     {"at": _today().replace(tzinfo=None) if not is_postgres() else _today()})
        forged = conn.scalar(text("SELECT max(id) FROM audit_events"))
    broken = chain.verify(engine).broken
    assert broken is not None and (broken.kind, broken.row_id) == ("inserted", forged)

    with behind_the_triggers(engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": forged})
    assert chain.verify(engine).broken is None
    with engine.begin() as conn:
        lane, day = conn.execute(text("SELECT chain_lane, chain_day FROM audit_events WHERE id = :id"),
                                 {"id": ids[-1]}).one()
        conn.execute(text("INSERT INTO audit_events (occurred_at, action, outcome, details, chain_day, chain_lane, "
                          "chain_seq, chain_hash) VALUES (:at, 'auth.sign_out', 'success', '{}', :day, :lane, 4, "
                          ":hash)"),
                     {"at": _today().replace(tzinfo=None) if not is_postgres() else _today(), "day": day,
                      "lane": lane, "hash": "ab" * 32})
        forged = conn.scalar(text("SELECT max(id) FROM audit_events"))
    broken = chain.verify(engine).broken
    assert broken is not None and (broken.kind, broken.row_id) == ("inserted", forged)


def test_reordered_rows_are_caught(engine):
    ids = _record(4)
    with behind_the_triggers(engine) as conn:
        # Three steps because (day, lane, position) is unique.
        conn.execute(text("UPDATE audit_events SET chain_seq = 99 WHERE id = :id"), {"id": ids[1]})
        conn.execute(text("UPDATE audit_events SET chain_seq = 2 WHERE id = :id"), {"id": ids[2]})
        conn.execute(text("UPDATE audit_events SET chain_seq = 3 WHERE id = :id"), {"id": ids[1]})
    broken = chain.verify(engine).broken
    assert broken is not None and broken.kind == "reordered" and broken.row_id in (ids[1], ids[2])


def test_an_owner_who_rechains_without_the_key_is_still_caught(engine):
    """Knowing the algorithm is not enough: the links are keyed by a secret the database does not hold, so an
    edit re-hashed with plain SHA-256 (or any other key) all the way down the day's chain still fails."""
    ids = _record(3)
    with behind_the_triggers(engine) as conn:
        conn.execute(text("UPDATE audit_events SET ip_address = '203.0.113.7' WHERE id = :id"), {"id": ids[1]})
        rows = conn.execute(select(AuditEvent.__table__).where(AuditEvent.id.in_(ids))
                            .order_by(AuditEvent.chain_seq)).all()
        previous = ""
        for row in rows:
            previous = hashlib.sha256((previous + "\n").encode() + chain.canonical(row)).hexdigest()
            conn.execute(text("UPDATE audit_events SET chain_hash = :h WHERE id = :id"), {"h": previous, "id": row.id})
    broken = chain.verify(engine).broken
    assert broken is not None and broken.kind == "edited" and broken.row_id == ids[0]


def test_concurrent_writers_never_give_two_rows_the_same_predecessor(engine):
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(5):
                _record(2)
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    verdict = chain.verify(engine)
    assert verdict.broken is None and verdict.rows == 60
    with engine.connect() as conn:
        links = conn.execute(text("SELECT chain_lane, chain_seq FROM audit_events")).all()
    assert len(set(links)) == 60


def test_erasing_a_person_keeps_the_chain_intact(engine, full_record):
    person, _children = full_record("Chainova", "Erasetest")
    _record(2)
    with get_sessionmaker()() as session:
        loaded = session.get(Person, person.id)
        assert loaded is not None
        erasure.erase(session, loaded, erasure.ErasureReason.created_in_error, actor_id=None)
        session.commit()
    verdict = chain.verify(engine)
    assert verdict.broken is None and verdict.rows >= 3


def test_a_large_log_is_verified_with_progress(engine):
    _record(1234, at=_today() - timedelta(days=1))
    _record(5)
    seen: list[int] = []
    verdict = chain.verify(engine, progress=seen.append)
    assert verdict.broken is None and (verdict.rows, verdict.days) == (1239, 2)
    assert sum(seen) == 1239 and len(seen) > 1


def test_the_application_still_cannot_update_a_chained_row(engine):
    [event_id] = _record(1)
    with get_sessionmaker()() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text("UPDATE audit_events SET chain_hash = 'x' WHERE id = :id"), {"id": event_id})
        session.rollback()
    assert chain.verify(engine).broken is None


# --- migration 0020 ----------------------------------------------------------------------------------------

def _alembic(connection: Connection) -> Config:
    cfg = Config("alembic.ini")
    cfg.attributes["configure_logger"] = False
    cfg.attributes["connection"] = connection
    return cfg


@pytest.fixture
def scratch() -> Iterator[Engine]:
    if is_postgres():
        pytest.skip("the migration's backfill is run on PostgreSQL by tests/test_migrations.py's round trip")
    engine = build_engine(f"sqlite:///{TMP / f'chain-{uuid.uuid4().hex}.sqlite3'}")
    yield engine
    engine.dispose()


@pytest.mark.no_database
def test_migration_0020_chains_the_rows_already_written_and_downgrades(scratch):
    with scratch.begin() as conn:
        command.upgrade(_alembic(conn), "0019")
    with scratch.begin() as conn:
        for i, at in enumerate(["2026-03-01 09:00:00", "2026-03-01 10:00:00", "2026-03-02 08:30:00.250000",
                                "2026-03-01 23:59:59"]):
            conn.execute(text("INSERT INTO audit_events (occurred_at, action, outcome, details, ip_address) "
                              "VALUES (:at, 'auth.sign_out', 'success', :details, '192.0.2.9')"),
                         {"at": at, "details": f'{{"n": {i}, "list": [1, 2.0, "x"]}}'})
    with scratch.begin() as conn:
        command.upgrade(_alembic(conn), "0020")
    verdict = chain.verify(scratch)
    assert verdict.broken is None and (verdict.rows, verdict.days) == (4, 2)
    with scratch.connect() as conn:
        seqs = conn.execute(text("SELECT id, chain_day, chain_seq FROM audit_events ORDER BY id")).all()
        assert [(r[1], r[2]) for r in seqs] == [("2026-03-01", 1), ("2026-03-01", 2), ("2026-03-02", 1),
                                                 ("2026-03-01", 3)]
    # The triggers were put back: the backfilled rows are as append-only as before.
    with scratch.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_events SET ip_address = NULL"))
    # New rows carry on each day's chain.
    with scratch.begin() as conn:
        command.upgrade(_alembic(conn), "head")
    with Session(scratch) as session:
        session.add(AuditEvent(action="auth.sign_out", occurred_at=datetime(2026, 3, 1, 12, tzinfo=UTC)))
        session.commit()
    verdict = chain.verify(scratch)
    assert verdict.broken is None and verdict.rows == 5

    with scratch.begin() as conn:
        command.downgrade(_alembic(conn), "0019")
    columns = {c["name"] for c in inspect(scratch).get_columns("audit_events")}
    assert not {"chain_day", "chain_lane", "chain_seq", "chain_hash"} & columns
    assert "audit_chain_heads" not in inspect(scratch).get_table_names()
    with scratch.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))
    with scratch.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_events")) == 5
