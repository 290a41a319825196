"""Hearings: bail hearings, appeals and judicial reviews, with their time, venue or remote, and outcome. The
hearing_soon alert takes the next bit of the kept alert flags, so every case's flags are worked out again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'hearings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('bail', 'appeal', 'judicial_review', 'other', name='hearing_kind',
                                  native_enum=False, create_constraint=True), nullable=False),
        sa.Column('hearing_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('venue', sa.String(length=160), nullable=True),
        sa.Column('remote', sa.Boolean(), nullable=False),
        sa.Column('outcome', sa.Enum('granted', 'refused', 'allowed', 'dismissed', 'adjourned', 'withdrawn',
                                     name='hearing_outcome', native_enum=False, create_constraint=True),
                  nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_hearings_person_id_people'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_hearings_recorded_by_id_users'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hearings')),
    )
    op.create_index('ix_hearings_person_id_hearing_at', 'hearings', ['person_id', 'hearing_at'])
    op.create_index('ix_hearings_outcome_hearing_at', 'hearings', ['outcome', 'hearing_at'])
    states = sa.table('person_alert_states', sa.column('valid_until', UTCDateTime(timezone=True)))
    op.execute(states.update().values(valid_until=datetime(2000, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    op.drop_index('ix_hearings_outcome_hearing_at', table_name='hearings')
    op.drop_index('ix_hearings_person_id_hearing_at', table_name='hearings')
    op.drop_table('hearings')
