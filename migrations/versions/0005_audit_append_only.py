"""The audit table becomes append-only: the database itself refuses UPDATE, DELETE and TRUNCATE of audit_events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 18:20:00

A trigger rather than privileges, because the same rule must hold on SQLite, which has none. On PostgreSQL the
trigger stops every role that does not own the table; the owner or a superuser could still drop it, so production
should run the application as a role that neither owns the tables nor is a superuser (docs/security.md).

A later SQLite migration that rebuilds audit_events with batch_alter_table drops these triggers with the old
table and must create them again; tests/audit/test_append_only.py fails at head if they are missing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_events is append-only"

SQLITE_CREATE = [
    f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END""",
    f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "DROP TRIGGER IF EXISTS audit_events_no_update",
]

# The message is concatenated rather than formatted with a percent placeholder, which offline SQL
# (alembic upgrade --sql) would double and so break.
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = '{MESSAGE}: ' || TG_OP || ' refused', ERRCODE = 'insufficient_privilege';
END
$$"""
# One statement-level trigger covers all three: TRUNCATE can only be caught per statement, and a per-statement
# UPDATE or DELETE trigger refuses even a statement that would have matched no rows.
POSTGRES_CREATE = [
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]
POSTGRES_DROP = ["DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"]


def trigger_statements(dialect: str) -> tuple[list[str], list[str]]:
    """(create, drop) for the triggers alone. The test suite's per-test reset uses these to empty the table;
    the application never imports this module, so it has no path around the triggers."""
    if dialect == "postgresql":
        return POSTGRES_CREATE, POSTGRES_DROP
    return SQLITE_CREATE, SQLITE_DROP


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRES_FUNCTION)
    for statement in trigger_statements(dialect)[0]:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    for statement in trigger_statements(dialect)[1]:
        op.execute(statement)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
