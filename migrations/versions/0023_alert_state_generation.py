"""The work queue: each case's kept alert flags carry a generation, one more at every change to the case, so
that flags computed from an earlier read are never stored over a later change (a page view can then compute stale flags
from its own snapshot, without first taking the write lock and reading them again); and a coordinator's open
cases are read from one index, in id order.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('person_alert_states',
                  sa.Column('generation', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_people_lead_coordinator_id_closed_date', 'people', ['lead_coordinator_id', 'closed_date'])
    op.drop_index('ix_people_lead_coordinator_id', table_name='people')


def downgrade() -> None:
    op.create_index('ix_people_lead_coordinator_id', 'people', ['lead_coordinator_id'])
    op.drop_index('ix_people_lead_coordinator_id_closed_date', table_name='people')
    with op.batch_alter_table('person_alert_states') as batch_op:
        batch_op.drop_column('generation')
