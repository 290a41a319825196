"""Test fixtures: one migrated database per run (SQLite by default, PostgreSQL when
CASEWORK_TEST_DATABASE_URL says so), reset to its just-migrated state before every test."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, delete, insert, make_url, select, text
from sqlalchemy.orm import Session

TMP = Path(tempfile.mkdtemp(prefix="casework-tests-"))
TEST_DATABASE_URL = os.environ.get("CASEWORK_TEST_DATABASE_URL") or f"sqlite:///{TMP / 'test.sqlite3'}"

# Settings are read from the environment, so set it before the application is imported.
os.environ.update({
    "CASEWORK_ENVIRONMENT": "test",
    "CASEWORK_DATABASE_URL": TEST_DATABASE_URL,
    "CASEWORK_VAR_DIR": str(TMP / "var"),
    "CASEWORK_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
})

import app.models  # noqa: E402,F401
from app.auth.models import Role, User  # noqa: E402
from app.auth.passwords import hash_password  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import Base, build_engine, get_engine, reset_engine_cache  # noqa: E402

# Fixtures every test may use without importing them: a person with a case, today, a person with a full record.
pytest_plugins = ["tests.case_fixtures", "tests.erasure_fixtures"]

PASSWORD = "correct horse battery staple"
# A fixed master key for tests that build production settings (production refuses to start without one).
TEST_MASTER_KEY = "test:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="

# CI draws the same examples on every run, so a red build is always reproducible; a developer can explore new
# ones with HYPOTHESIS_PROFILE=explore.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def is_postgres(url: str = TEST_DATABASE_URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _recreate_postgres_schema(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def _migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(Path(__file__).resolve().parent.parent / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    get_settings.cache_clear()
    reset_engine_cache()
    engine = get_engine()
    if is_postgres():
        # In CI an unreachable PostgreSQL must fail the run, so no skip here: connecting raises.
        _recreate_postgres_schema(engine)
    _migrate(engine)
    yield engine
    reset_engine_cache()
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def reference_rows(engine: Engine) -> dict[str, list[dict]]:
    """Rows the migrations themselves insert (facilities, organisations): restored before every test."""
    with engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in Base.metadata.sorted_tables}


@pytest.fixture(autouse=True)
def clean_database(request: pytest.FixtureRequest) -> None:
    if "no_database" in request.keywords:
        return
    engine: Engine = request.getfixturevalue("engine")
    snapshot = request.getfixturevalue("reference_rows")
    tables = Base.metadata.sorted_tables
    create_guard, drop_guard = _audit_guard_statements(engine.dialect.name)
    with engine.begin() as conn:
        # audit_events refuses DELETE and TRUNCATE (migration 0005), so the reset lifts that guard for the
        # length of its own transaction and puts it back before committing: no test ever runs without it.
        for statement in drop_guard:
            conn.execute(text(statement))
        if is_postgres():
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(delete(table))
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence(conn) else None
        for table in tables:
            if snapshot[table.name]:
                conn.execute(insert(table), snapshot[table.name])
        if is_postgres():
            for table in tables:
                if snapshot[table.name] and "id" in table.c:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"))
        for statement in create_guard:
            conn.execute(text(statement))


@lru_cache
def _audit_guard_statements(dialect: str) -> tuple[list[str], list[str]]:
    # Read from the migration itself, so the guard put back is exactly the one the migration made.
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0005_audit_append_only.py"
    spec = importlib.util.spec_from_file_location("migration_0005_audit_append_only", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.trigger_statements(dialect)


def _has_sqlite_sequence(conn) -> bool:  # type: ignore[no-untyped-def]
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is not None


@pytest.fixture(scope="session")
def reader_engine(engine: Engine) -> Iterator[Engine]:
    # Deferred BEGIN: a test holding a read transaction open must not block the app's writes.
    reader = build_engine(TEST_DATABASE_URL, immediate=False)
    yield reader
    reader.dispose()


@pytest.fixture
def db(reader_engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking data. Call db.rollback() after a request to see its writes
    (a SQLite read transaction keeps the snapshot it started with)."""
    with Session(reader_engine) as session:
        yield session


@pytest.fixture(scope="session")
def password_hash() -> str:
    # argon2id is deliberately slow; hash the shared test password once.
    return hash_password(PASSWORD)


@pytest.fixture
def make_user(db: Session, password_hash: str):  # type: ignore[no-untyped-def]
    def make(role: Role | str = Role.coordinator, email: str | None = None, name: str | None = None,
             active: bool = True) -> User:
        db.rollback()  # start from a fresh snapshot: the app may have written since the last read
        role = Role(role)
        email = email or f"{role.value}-{len(db.scalars(select(User.id)).all()) + 1}@example.org"
        user = User(email=email, display_name=name or f"Test {role.value.capitalize()}", role=role,
                    password_hash=password_hash, is_active=active)
        db.add(user)
        db.commit()
        return user

    return make


@pytest.fixture
def client(engine: Engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD, next_path: str = "/"):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password, "next": next_path,
                                       "csrf_token": csrf_from(page.text)}, follow_redirects=False)


@pytest.fixture
def signed_in(client, make_user):  # type: ignore[no-untyped-def]
    """Sign a new user of the given role in on the shared client; returns the user."""

    def do(role: Role | str = Role.coordinator, **kwargs) -> User:  # type: ignore[no-untyped-def]
        user = make_user(role, **kwargs)
        response = sign_in(client, user.email)
        assert response.status_code == 303, response.text
        return user

    return do


def page_csrf(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_from(response.text)


__all__ = ["PASSWORD", "csrf_from", "is_postgres", "page_csrf", "sign_in"]
