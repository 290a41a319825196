"""The audit table is append-only in the database itself: UPDATE, DELETE (and TRUNCATE on PostgreSQL) fail."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.db import get_sessionmaker
from tests.conftest import is_postgres


@pytest.fixture
def event_id() -> int:
    with get_sessionmaker()() as session:
        event = audit.record(session, "auth.sign_out", actor_id=None, ip_address="192.0.2.1")
        session.commit()
        return event.id


def _row(event_id: int) -> tuple:
    with get_sessionmaker()() as session:
        row = session.execute(select(AuditEvent.action, AuditEvent.ip_address, AuditEvent.outcome)
                              .where(AuditEvent.id == event_id)).one()
    return tuple(row)


def test_the_application_engine_cannot_update_an_audit_event(event_id):
    before = _row(event_id)
    with get_sessionmaker()() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(ip_address="203.0.113.9"))
        session.rollback()
    assert _row(event_id) == before == ("auth.sign_out", "192.0.2.1", before[2])


def test_the_application_engine_cannot_delete_an_audit_event(event_id):
    with get_sessionmaker()() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(delete(AuditEvent).where(AuditEvent.id == event_id))
        session.rollback()
    assert _row(event_id)[0] == "auth.sign_out"


def test_an_orm_change_to_a_loaded_event_is_refused_at_flush(event_id):
    with get_sessionmaker()() as session:
        event = session.get(AuditEvent, event_id)
        assert event is not None
        event.details = {"rewritten": True}
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    with get_sessionmaker()() as session:
        assert session.get(AuditEvent, event_id).details == {}  # type: ignore[union-attr]


@pytest.mark.skipif(not is_postgres(), reason="TRUNCATE exists only on PostgreSQL")
def test_postgres_refuses_truncate_too(event_id):
    with get_sessionmaker()() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text("TRUNCATE audit_events"))
        session.rollback()
    assert _row(event_id)[0] == "auth.sign_out"


def test_inserting_still_works_after_a_refusal(event_id):
    with get_sessionmaker()() as session:
        with pytest.raises(DBAPIError):
            session.execute(delete(AuditEvent))
        session.rollback()
        audit.record(session, "auth.sign_out", actor_id=None)
        session.commit()
        assert session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) > event_id
