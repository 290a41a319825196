"""The audit log becomes tamper-evident: each row is hash-chained to the one before it in its day's lane, and
the rows already written are chained here, oldest first.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 10:00:00

The chain's key is derived from CASEWORK_SECRET_KEY (app/audit/chain.py), so the secret key the application
uses must be set when this migration runs. Backfilling writes to audit_events, which the append-only triggers
of 0005 forbid: they are dropped for the backfill and created again, from 0005's own statements, inside this
migration's transaction, so no committed state is ever without them.

The columns are added with plain ADD COLUMN, nullable: making them NOT NULL on SQLite means copying the whole
log into a new table (and re-making the triggers); verification treats a row without them as inserted instead.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.db import JSONType, UTCDateTime

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
CHAIN_COLUMNS = ('chain_day', 'chain_lane', 'chain_seq', 'chain_hash')


def _trigger_statements(dialect: str) -> tuple[list[str], list[str]]:
    path = Path(__file__).with_name("0005_audit_append_only.py")
    spec = importlib.util.spec_from_file_location("migration_0005_for_0020", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.trigger_statements(dialect)


def _events() -> sa.TableClause:
    return sa.table('audit_events', sa.column('id', sa.Integer()), sa.column('occurred_at', UTCDateTime()),
                    sa.column('actor_user_id', sa.Integer()), sa.column('action', sa.String()),
                    sa.column('outcome', sa.String()), sa.column('object_type', sa.String()),
                    sa.column('object_id', sa.String()), sa.column('person_id', sa.Integer()),
                    sa.column('ip_address', sa.String()), sa.column('correlation_id', sa.String()),
                    sa.column('details', JSONType), *(sa.column(name) for name in CHAIN_COLUMNS))


def _backfill(conn: sa.Connection) -> None:
    """Chain every existing row: one lane per UTC day, positions in id order (the order they were written)."""
    from app.audit.chain import chain_key, link

    events = _events()
    heads = sa.table('audit_chain_heads', sa.column('id', sa.Integer()), sa.column('chain_day', sa.Date()),
                     sa.column('last_seq', sa.Integer()))
    key = chain_key()
    lanes: dict[Any, list[Any]] = {}  # day -> [lane, last position, last hash]
    statement = (events.update().where(events.c.id == sa.bindparam('b_id'))
                 .values({name: sa.bindparam(f'b_{name}') for name in CHAIN_COLUMNS}))
    last_id = 0
    while True:
        rows = conn.execute(sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            break
        updates = []
        for row in rows:
            day = row.occurred_at.date()  # UTCDateTime reads back in UTC
            if day not in lanes:
                lane = conn.execute(heads.insert().values(chain_day=day, last_seq=0)
                                    .returning(heads.c.id)).scalar_one()
                lanes[day] = [lane, 0, '']
            state = lanes[day]
            state[1] += 1
            chained = SimpleNamespace(**{**row._mapping, 'chain_day': day, 'chain_lane': state[0],
                                         'chain_seq': state[1]})
            state[2] = link(key, state[2], chained)
            updates.append({'b_id': row.id, 'b_chain_day': day, 'b_chain_lane': state[0], 'b_chain_seq': state[1],
                            'b_chain_hash': state[2]})
        conn.execute(statement, updates)
        last_id = rows[-1].id
    for lane, seq, _last_hash in lanes.values():
        conn.execute(heads.update().where(heads.c.id == lane).values(last_seq=seq))


def upgrade() -> None:
    op.create_table('audit_chain_heads',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('chain_day', sa.Date(), nullable=False),
                    sa.Column('last_seq', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_heads')))
    op.create_index('ix_audit_chain_heads_chain_day', 'audit_chain_heads', ['chain_day'], unique=False)
    op.add_column('audit_events', sa.Column('chain_day', sa.Date(), nullable=True))
    op.add_column('audit_events', sa.Column('chain_lane', sa.Integer(), nullable=True))
    op.add_column('audit_events', sa.Column('chain_seq', sa.Integer(), nullable=True))
    op.add_column('audit_events', sa.Column('chain_hash', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM audit_events LIMIT 1")).first() is not None:
        create, drop = _trigger_statements(conn.dialect.name)
        for sql in drop:
            op.execute(sql)
        _backfill(conn)
        for sql in create:
            op.execute(sql)
    op.create_index('uq_audit_events_chain', 'audit_events', ['chain_day', 'chain_lane', 'chain_seq'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_audit_events_chain', table_name='audit_events')
    # Dropping columns rewrites no row through UPDATE, so the append-only triggers stay in place throughout.
    for name in reversed(CHAIN_COLUMNS):
        op.drop_column('audit_events', name)
    op.drop_index('ix_audit_chain_heads_chain_day', table_name='audit_chain_heads')
    op.drop_table('audit_chain_heads')
