"""Database layer: SQLite tuning, timestamps, constraints, optimistic locking, one transaction per request."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.auth.models import Role
from app.db import DbSession, begin_write, get_engine
from app.detention.models import DetentionEpisode
from app.people.models import Person, PersonStatus
from app.referrals.models import Organisation, OrganisationType
from tests.conftest import is_postgres

sqlite_only = pytest.mark.skipif(is_postgres(), reason="SQLite connection settings")


def new_person(db: Session, reference: str = "TST1-AAAA") -> Person:
    person = Person(reference=reference, status=PersonStatus.detained, opened_date=date(2026, 1, 5))
    db.add(person)
    db.flush()
    return person


@sqlite_only
def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(engine):
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_concurrent_writers_wait_for_each_other_instead_of_failing(engine):
    errors: list[BaseException] = []
    slow = _writer_holding_the_lock(engine, "Slow writer org", 0.5, threading.Event(), errors)
    # Returns once the fast writer has the lock, which it gets by waiting for the slow one, not by failing.
    fast = _writer_holding_the_lock(engine, "Fast writer org", 0, threading.Event(), errors)
    slow.join()
    fast.join()
    assert errors == []
    with Session(engine) as session:
        names = set(session.scalars(select(Organisation.name)))
    assert {"Slow writer org", "Fast writer org"} <= names


def test_timestamps_are_timezone_aware_utc_and_naive_ones_are_rejected(db, make_user):
    user = make_user(Role.admin)
    db.refresh(user)
    assert user.created_at.tzinfo is not None and user.created_at.utcoffset().total_seconds() == 0
    user.deactivated_at = datetime(2026, 3, 3, 12, 0)  # noqa: DTZ001 - naive on purpose
    with pytest.raises(StatementError, match="naive datetime"):
        db.commit()
    db.rollback()


@pytest.mark.parametrize("statement", [
    # an episode that ends before it starts
    "INSERT INTO detention_episodes (person_id, start_date, end_date) VALUES ({p}, '2026-02-01', '2026-01-01')",
    # a value outside an enumeration
    "INSERT INTO detention_episodes (person_id, start_date, end_date, end_reason) "
    "VALUES ({p}, '2026-01-01', '2026-02-01', 'vanished')",
    # a document with no parent
    "INSERT INTO documents (person_id, original_filename, content_type, size_bytes, sha256, content, "
    "uploaded_by_id, uploaded_at) VALUES ({p}, 'a.pdf', 'application/pdf', 1, "
    "'0000000000000000000000000000000000000000000000000000000000000000', '', {u}, '2026-01-01 00:00:00')",
    # sharing consent that names no organisation
    "INSERT INTO consents (person_id, purpose, given_date, method, recorded_by_id, recorded_at) "
    "VALUES ({p}, 'share_with_organisation', '2026-01-01', 'written', {u}, '2026-01-01 00:00:00')",
    # an AAR level that does not exist
    "UPDATE people SET aar_level = 4 WHERE id = {p}",
    # a reference to a person who does not exist
    "INSERT INTO detention_episodes (person_id, start_date) VALUES (999999, '2026-01-01')",
])
def test_database_constraints_refuse_bad_rows(db, make_user, statement):
    user = make_user(Role.coordinator)
    person = new_person(db)
    db.commit()
    with pytest.raises(IntegrityError):
        db.execute(text(statement.format(p=person.id, u=user.id)))
        db.flush()
    db.rollback()


def test_concurrent_edits_of_a_person_are_caught_by_the_version_column(engine):
    with Session(engine) as setup:
        person = new_person(setup)
        setup.commit()
        person_id = person.id
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        a = first.get(Person, person_id)
        first.commit()  # release the SQLite write lock taken at BEGIN IMMEDIATE
        b = second.get(Person, person_id)
        second.commit()
        a.gender_identity = "first edit"
        first.commit()
        b.gender_identity = "second edit, based on a stale copy"
        with pytest.raises(StaleDataError):
            second.commit()
    with Session(engine) as check:
        assert check.get(Person, person_id).version == 2


def _transaction_app() -> FastAPI:
    app = FastAPI()

    @app.post("/ok")
    def ok(db: DbSession) -> dict[str, str]:
        db.add(Organisation(name="Committed org", type=OrganisationType.other))
        return {"status": "ok"}

    @app.post("/fail")
    def fail(db: DbSession) -> dict[str, str]:
        db.add(Organisation(name="Rolled back org", type=OrganisationType.other))
        db.flush()
        raise HTTPException(status_code=409)

    return app


def test_request_session_commits_on_success_and_rolls_back_on_error(engine, db):
    with TestClient(_transaction_app()) as client:
        assert client.post("/ok").status_code == 200
        assert client.post("/fail").status_code == 409
    db.rollback()
    names = set(db.scalars(select(Organisation.name)))
    assert "Committed org" in names
    assert "Rolled back org" not in names


def test_the_configured_engine_is_the_test_database(engine):
    assert get_engine() is engine
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DetentionEpisode)) == 0


def test_reference_data_is_back_after_each_test(db):
    # Earlier tests added organisations; the reset restores exactly the migrated set.
    assert "Committed org" not in set(db.scalars(select(Organisation.name)))
    assert datetime.now(UTC).year >= 2026


def _writer_holding_the_lock(engine, name: str, hold: float, has_lock: threading.Event,
                             errors: list[BaseException]) -> threading.Thread:
    def write() -> None:
        try:
            with Session(engine) as session:
                session.add(Organisation(name=name, type=OrganisationType.other))
                session.flush()
                has_lock.set()
                time.sleep(hold)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    assert has_lock.wait(5)
    return thread


@sqlite_only
def test_a_page_view_reads_while_a_form_post_holds_the_write_lock_and_still_writes_its_audit_row(engine):
    # The post holds SQLite's write lock for a second. The page view must read at once instead of queueing
    # behind it, and its own write at the end must land although the post committed after the view's snapshot
    # began (a plain deferred transaction would fail then with "database is locked").
    read_at: list[float] = []
    app = FastAPI()

    @app.get("/view")
    def view(db: DbSession) -> dict[str, int]:
        count = db.scalar(select(func.count()).select_from(Organisation)) or 0
        read_at.append(time.monotonic())
        db.add(Organisation(name="Written by a page view", type=OrganisationType.other))
        return {"count": count}

    errors: list[BaseException] = []
    has_lock = threading.Event()
    with TestClient(app) as client:
        started = time.monotonic()
        post = _writer_holding_the_lock(engine, "Slow post org", 1.0, has_lock, errors)
        response = client.get("/view")
        post.join()
    assert errors == []
    assert response.status_code == 200
    assert read_at[0] - started < 0.5  # read without waiting for the post's lock
    with Session(engine) as session:
        names = set(session.scalars(select(Organisation.name)))
    assert {"Slow post org", "Written by a page view"} <= names


@sqlite_only
def test_begin_write_takes_the_lock_and_later_reads_see_commits_made_since_the_snapshot(engine):
    app = FastAPI()
    seen: dict[str, object] = {}

    @app.get("/decide")
    def decide(db: DbSession) -> dict[str, str]:
        seen["before"] = db.scalar(select(func.count()).select_from(Organisation))
        with Session(engine) as other:
            other.add(Organisation(name="Committed meanwhile", type=OrganisationType.other))
            other.commit()
        seen["stale"] = db.scalar(select(func.count()).select_from(Organisation))
        seen["took_lock"] = begin_write(db)
        seen["after"] = db.scalar(select(func.count()).select_from(Organisation))
        seen["again"] = begin_write(db)
        return {}

    with TestClient(app) as client:
        assert client.get("/decide").status_code == 200
    assert seen["stale"] == seen["before"]  # one snapshot while only reading
    assert seen["took_lock"] is True and seen["again"] is False
    assert seen["after"] == seen["before"] + 1


def test_form_posts_never_read_first(engine):
    app = FastAPI()
    took: list[bool] = []

    @app.post("/post")
    def post(db: DbSession) -> dict[str, str]:
        took.append(begin_write(db))
        return {}

    with TestClient(app) as client:
        assert client.post("/post").status_code == 200
    assert took == [False]  # already holding the write lock (SQLite) or nothing to do (PostgreSQL)
