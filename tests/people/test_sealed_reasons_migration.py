"""Migration 0021: break-glass reasons and review notes and legal-hold reasons stored before it are sealed with
each person's key, and the downgrade opens them back to text."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, text

from app.crypto.fields import open_value, seal_value
from app.crypto.keyring import master_keyring, person_key_label
from app.crypto.primitives import new_key
from tests.test_migrations import _config, alembic_engine, scratch_url  # noqa: F401  (fixtures used below)

pytestmark = pytest.mark.no_database

REASON = "Fictional emergency (test): the assigned clinician was away."
NOTE = "Fictional review note (test): justified."
HOLD = "Fictional inquiry (test) into the person's care."


def _person_with_key(conn, person_id: int) -> bytes:  # type: ignore[no-untyped-def]
    conn.execute(text("INSERT INTO people (id, reference, status, sex, stateless, interpreter_needed, "
                      "birth_precision, opened_date, created_at, updated_at, version) VALUES "
                      "(:id, :ref, 'detained', 'not_recorded', false, false, 'unknown', '2026-01-05', "
                      "'2026-01-05 10:00:00', '2026-01-05 10:00:00', 1)"),
                 {"id": person_id, "ref": f"SEAL-00{person_id}"})
    key = new_key()
    wrapped, key_id = master_keyring().wrap(key, person_key_label(person_id))
    conn.execute(text("INSERT INTO person_keys (person_id, wrapped_key, master_key_id, created_at) "
                      "VALUES (:p, :w, :k, '2026-01-05 10:00:00')"), {"p": person_id, "w": wrapped, "k": key_id})
    return key


def test_existing_reasons_are_sealed_and_the_downgrade_opens_them(alembic_engine: Engine):  # noqa: F811
    with alembic_engine.begin() as conn:
        command.downgrade(_config(conn), "base")
        command.upgrade(_config(conn), "0020")
    with alembic_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, display_name, role, password_hash, is_active, created_at) "
                          "VALUES (1, 'seal-test@example.org', 'Seal Test', 'clinician', 'x', true, "
                          "'2026-01-05 10:00:00')"))
        key = _person_with_key(conn, 1)
        conn.execute(text("INSERT INTO emergency_access_grants (id, clinician_id, person_id, reason, granted_at, "
                          "expires_at, reviewed_by_id, reviewed_at, review_note) VALUES (1, 1, 1, :r, "
                          "'2026-02-01 10:00:00', '2026-02-01 14:00:00', 1, '2026-02-02 10:00:00', :n), "
                          "(2, 1, 1, :r, '2026-02-03 10:00:00', '2026-02-03 14:00:00', NULL, NULL, NULL)"),
                     {"r": REASON, "n": NOTE})
        conn.execute(text("INSERT INTO legal_holds (id, person_id, reason, set_by_id, set_at) "
                          "VALUES (1, 1, :r, 1, '2026-02-04 10:00:00')"), {"r": HOLD})
    with alembic_engine.begin() as conn:
        command.upgrade(_config(conn), "0021")
    with alembic_engine.connect() as conn:
        grants = conn.execute(text("SELECT id, reason, review_note FROM emergency_access_grants ORDER BY id")).all()
        [(hold,)] = conn.execute(text("SELECT reason FROM legal_holds")).all()
    assert all(isinstance(g.reason, bytes) and REASON.encode() not in g.reason for g in grants)
    assert [open_value(key, "text", bytes(g.reason), "emergency_access_grants.reason") for g in grants] == [REASON] * 2
    assert open_value(key, "text", bytes(grants[0].review_note), "emergency_access_grants.review_note") == NOTE
    assert grants[1].review_note is None
    assert open_value(key, "text", bytes(hold), "legal_holds.reason") == HOLD
    # A reason moved onto the other column does not open there: each is bound to its own place.
    assert seal_value(key, "text", REASON, "legal_holds.reason") != bytes(grants[0].reason)

    with alembic_engine.begin() as conn:
        command.downgrade(_config(conn), "0020")
    with alembic_engine.connect() as conn:
        back = conn.execute(text("SELECT reason, review_note FROM emergency_access_grants ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(REASON, NOTE), (REASON, None)]
        assert conn.scalar(text("SELECT reason FROM legal_holds")) == HOLD
    with alembic_engine.begin() as conn:
        command.downgrade(_config(conn), "base")
        command.upgrade(_config(conn), "head")
