"""Database engine, session factory, declarative Base and the per-request session dependency."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no timezone type and hands back naive values; storing UTC and re-attaching the zone on the
    way out keeps comparisons with aware datetimes correct everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> SAEnum:
    """A VARCHAR column holding the enum's values, guarded by a named CHECK constraint."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that "begin" below decides how to BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # Health records: an acknowledged commit must survive a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Requests write (session touch, audit rows) after reading; a deferred transaction that later
        # needs the write lock fails at once with "database is locked". Taking it up front makes
        # concurrent writers queue on busy_timeout instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def build_engine(url: str, echo: bool = False, *, immediate: bool = True) -> Engine:
    """An engine for `url`. `immediate=False` (SQLite only) is for read-mostly tools such as test
    assertions, whose open read transaction must not hold the write lock the application needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, immediate=immediate)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


# Benchmark mode (CASEWORK_BENCH_COUNT_SQL=1, never in production): each request carries a one-item list that the
# listener below adds to, so the harness can read the statements a page cost from the X-SQL-Statements header.
# A mutable holder, because sync endpoints run in a copy of the request's context.
sql_statement_counter: ContextVar[list[int] | None] = ContextVar("sql_statement_counter", default=None)


def bench_mode() -> bool:
    return os.environ.get("CASEWORK_BENCH_COUNT_SQL") == "1" and not get_settings().is_production


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    counter = sql_statement_counter.get()
    # BEGIN is left out so SQLite (explicit BEGIN IMMEDIATE) and PostgreSQL (implicit) count alike.
    if counter is not None and not statement.lstrip().upper().startswith("BEGIN"):
        counter[0] += 1


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    engine = build_engine(settings.database_url, echo=settings.sql_echo)
    if bench_mode():
        event.listen(engine, "before_cursor_execute", _count_statement)
    return engine


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset_engine_cache() -> None:
    """Forget the cached engine (tests and the CLI switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


def get_db() -> Iterator[Session]:
    """One session and one transaction per request: committed when the endpoint returns, else rolled back."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function" makes FastAPI run the commit before the response is sent, so a client never sees
# success for a write that then fails to commit.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
