"""Database engine, session factory, declarative Base and the per-request session dependency."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.config import get_settings
from app.errors import StaleForm

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


class Versioned:
    """The one stale-form mechanism: every editable record carries `version`, which SQLAlchemy moves on with each
    UPDATE of its row and checks in that UPDATE's WHERE clause (version_id_col), so a write based on an older read
    fails with StaleDataError even when two requests race past `check_version`. Both become the 409 page."""

    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805  (a declared attribute takes the class)
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]  # the model's, not the mixin's


def check_version(record: Versioned, version: int | None) -> None:
    """Refuse a change made on a form loaded at another version of `record` (None: the form carried none)."""
    if version is None or version != record.version:
        raise StaleForm


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
        # A request that only reads (and at most appends an audit row or two at its end) starts with a plain
        # BEGIN: its reads see one snapshot and block nobody. Anything else takes the write lock up front: a
        # transaction that reads and then writes would otherwise fail at once with "database is locked" when
        # another writer committed in between, whereas a lock taken up front makes writers queue on busy_timeout.
        read_first = not immediate or connection.get_execution_options().get(READ_FIRST, False)
        connection.info[_SNAPSHOT] = read_first
        connection.exec_driver_sql("BEGIN" if read_first else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if connection.info.get(_SNAPSHOT) and statement.lstrip()[:9].upper().startswith(_WRITES):
            _take_write_lock(connection)


# SQLite: an execution option asking for a read-first transaction (see _configure_sqlite), and the connection
# info key that says the open transaction is still a read snapshot.
READ_FIRST = "casework_read_first"
_SNAPSHOT = "casework_read_snapshot"
# Statements that end the snapshot first. A savepoint and DDL (even of a temporary table) count as writes: ending
# the snapshot after them would commit or drop them halfway through the work they belong to.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER")


def _take_write_lock(connection: Any) -> None:
    """Ends the read snapshot and carries on in a write transaction on the same connection. Nothing was written
    yet, so ending the snapshot loses nothing; reads after this see the latest commits."""
    connection.info[_SNAPSHOT] = False
    dbapi_connection = connection.connection.dbapi_connection
    dbapi_connection.execute("COMMIT")
    dbapi_connection.execute("BEGIN IMMEDIATE")


def begin_write(db: Session) -> bool:
    """Call before the reads that a write depends on (read, decide, write). On SQLite, a read-first transaction
    takes the write lock now, so nothing can change what is read before this transaction commits, and True says
    that earlier reads may be out of date. Otherwise, and on PostgreSQL, it does nothing and returns False."""
    connection = db.connection()
    if connection.info.get(_SNAPSHOT):
        _take_write_lock(connection)
        return True
    return False


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


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE: the statistics the query planner chooses indexes by. Without them SQLite guesses, and at
    100,000 people a guess can pick an index that reads every open referral to answer for one person.
    PostgreSQL also gets VACUUM, which marks the pages written by a bulk load as visible to all, so that counts
    (the people list's total) can read an index alone rather than every row."""
    if engine.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return build_engine(settings.database_url, echo=settings.sql_echo)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset_engine_cache() -> None:
    """Forget the cached engine (tests and the CLI switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


def get_db(request: Request) -> Iterator[Session]:
    """One session and one transaction per request: committed when the endpoint returns, else rolled back.

    A GET or HEAD reads first: on SQLite it takes the write lock only when it writes (its audit rows, which
    are flushed with the commit), so page views do not queue behind each other or behind form posts."""
    session = get_sessionmaker()()
    if request.method in READ_METHODS:
        session.autoflush = False
        session.info[DEFER_FLUSH] = True
        session.connection(execution_options={READ_FIRST: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


READ_METHODS = frozenset({"GET", "HEAD"})
# Session info key: writes that need no immediate flush (audit rows) wait for the commit.
DEFER_FLUSH = "casework_defer_flush"


# scope="function" makes FastAPI run the commit before the response is sent, so a client never sees
# success for a write that then fails to commit.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
