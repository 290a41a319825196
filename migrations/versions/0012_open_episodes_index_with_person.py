"""Open episodes are indexed by start date and then person, so the people list pages through detained people in
order without sorting those before the page: in full for SQLite's planner, and partially for PostgreSQL's.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('detention_episodes', schema=None) as batch_op:
        batch_op.create_index('ix_detention_episodes_end_date_start_date_person_id',
                              ['end_date', 'start_date', 'person_id'], unique=False)
        batch_op.create_index('ix_detention_episodes_open_start_date_person_id', ['start_date', 'person_id'],
                              unique=False, sqlite_where=sa.text('end_date IS NULL'),
                              postgresql_where=sa.text('end_date IS NULL'))
        batch_op.drop_index('ix_detention_episodes_end_date_start_date')


def downgrade() -> None:
    with op.batch_alter_table('detention_episodes', schema=None) as batch_op:
        batch_op.create_index('ix_detention_episodes_end_date_start_date', ['end_date', 'start_date'], unique=False)
        batch_op.drop_index('ix_detention_episodes_open_start_date_person_id')
        batch_op.drop_index('ix_detention_episodes_end_date_start_date_person_id')
