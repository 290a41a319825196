"""Removal directions: when the Home Office means to remove a person, how, to where, and what became of it. The
removal_imminent alert takes the next bit of the kept alert flags, so every case's flags are worked out again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 21:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'removal_directions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('removal_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('carrier', sa.String(length=120), nullable=False),
        sa.Column('destination', sa.String(length=120), nullable=False),
        sa.Column('status', sa.Enum('set', 'deferred', 'cancelled', 'carried_out', name='removal_status',
                                    native_enum=False, create_constraint=True), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_removal_directions_person_id_people'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_removal_directions_recorded_by_id_users'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_removal_directions')),
    )
    op.create_index('ix_removal_directions_person_id_removal_at', 'removal_directions', ['person_id', 'removal_at'])
    op.create_index('ix_removal_directions_status_removal_at', 'removal_directions', ['status', 'removal_at'])
    # No case has a removal direction yet, so no stored flag is wrong; marking them stale all the same means no
    # row is read before it has been worked out with every bit the application now knows.
    states = sa.table('person_alert_states', sa.column('valid_until', UTCDateTime(timezone=True)))
    op.execute(states.update().values(valid_until=datetime(2000, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    op.drop_index('ix_removal_directions_status_removal_at', table_name='removal_directions')
    op.drop_index('ix_removal_directions_person_id_removal_at', table_name='removal_directions')
    op.drop_table('removal_directions')
