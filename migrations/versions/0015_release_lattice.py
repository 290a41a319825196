"""Releases record their period, their tables (as published and the true counts) and each person's
contribution, so that a new release is audited together with every earlier one it overlaps.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 20:00:00
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: nullable, so no table copy on SQLite.
    op.add_column('summary_releases', sa.Column('period_start', sa.Date(), nullable=True))
    op.add_column('summary_releases', sa.Column('period_end', sa.Date(), nullable=True))
    op.add_column('summary_releases', sa.Column(
        'tables', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True))
    op.add_column('summary_releases', sa.Column('contributions', sa.LargeBinary(), nullable=True))
    op.create_index('ix_summary_releases_period', 'summary_releases', ['period_start', 'period_end'])
    # Earlier releases keep their day ranges: they overlap new ones by date and are compared by who they counted
    # (their tables were never kept in a form the audit can read).
    releases = sa.table('summary_releases', sa.column('id', sa.Integer()), sa.column('kind', sa.String()),
                        sa.column('parameters', sa.JSON()), sa.column('period_start', sa.Date()),
                        sa.column('period_end', sa.Date()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(releases.c.id, releases.c.parameters)
                              .where(releases.c.kind == 'aggregate')).all()
    for release_id, parameters in rows:
        if isinstance(parameters, dict) and 'start_date' in parameters and 'end_date' in parameters:
            connection.execute(releases.update().where(releases.c.id == release_id).values(
                period_start=date.fromisoformat(parameters['start_date']),
                period_end=date.fromisoformat(parameters['end_date'])))


def downgrade() -> None:
    op.drop_index('ix_summary_releases_period', table_name='summary_releases')
    op.drop_column('summary_releases', 'contributions')
    op.drop_column('summary_releases', 'tables')
    op.drop_column('summary_releases', 'period_end')
    op.drop_column('summary_releases', 'period_start')
