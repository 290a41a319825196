"""Log lines stay one line and carry no personal data, whatever the input or the exception."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app import logs

HOSTILE = "Testa Fictivo\r\n2026-11-21 ERROR forged line\x1b[31m red\u2028sep\x00"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    logs.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("casework.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return text[:-1].split("\n")


@pytest.mark.no_database
def test_a_line_built_from_hostile_input_is_one_line_with_the_controls_escaped(captured):
    logger, stream = captured
    logger.warning("search for %s by %r; %d results", HOSTILE, HOSTILE, 3)
    logger.warning(HOSTILE)
    logger.warning("mapping %(who)s", {"who": "a\nb"})
    first, second, third = lines(stream)
    assert "\\r\\n2026-11-21 ERROR forged line\\x1b[31m red\\u2028sep\\x00" in first
    assert first.endswith("; 3 results")
    assert "\x1b" not in first and "\u2028" not in first and "\r" not in first
    assert second.startswith("WARNING casework.test_logs Testa Fictivo\\r\\n")
    assert third.endswith("mapping a\\nb")


@pytest.mark.no_database
def test_an_exception_is_folded_into_its_line_without_its_message(captured):
    logger, stream = captured
    try:
        try:
            int("Testa Fictivo")
        except ValueError as inner:
            raise RuntimeError(f"could not read {HOSTILE}") from inner
    except RuntimeError as exc:
        logger.error("unhandled error correlation_id=%s", "abc123", exc_info=exc)
    [line] = lines(stream)
    assert "Fictivo" not in line and "forged" not in line
    assert "builtins.RuntimeError (message withheld) at tests/audit/test_logs.py:" in line
    assert "caused by builtins.ValueError (message withheld)" in line
    assert "correlation_id=abc123" in line


@pytest.mark.no_database
def test_a_database_error_keeps_its_sql_but_not_the_values(captured):
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import IntegrityError

    logger, stream = captured
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": "Testa Fictivo"})
        with pytest.raises(IntegrityError) as caught:
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": "Testa Fictivo"})
    logger.error("failed", exc_info=caught.value)
    [line] = lines(stream)
    assert "Fictivo" not in line
    assert "sql='INSERT INTO t VALUES (?)'" in line


@pytest.mark.no_database
def test_the_access_log_drops_query_strings(captured):
    logs.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    old_level, access.level = access.level, logging.INFO
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "192.0.2.1:5000", "GET", "/people?q=Testa+Fictivo", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    assert stream.getvalue() == '192.0.2.1:5000 - "GET /people?[query removed] HTTP/1.1" 200\n'


def test_an_unhandled_error_in_the_app_logs_one_line_without_the_data(engine):
    from app.main import create_app

    app = create_app()

    @app.get("/boom-for-test")
    def boom() -> None:
        raise ValueError(HOSTILE)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    errors_log = logging.getLogger("casework.errors")
    errors_log.addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom-for-test")
    finally:
        errors_log.removeHandler(handler)
    assert response.status_code == 500
    [line] = lines(stream)
    assert "Fictivo" not in line and "forged" not in line
    assert f"correlation_id={response.headers['x-correlation-id']}" in line
    assert "builtins.ValueError (message withheld)" in line
    assert "Fictivo" not in response.text


def test_installing_twice_wraps_once():
    logs.install()
    factory = logging.getLogRecordFactory()
    logs.install()
    assert logging.getLogRecordFactory() is factory
