"""Each open case's alert flags, kept for the dashboard and marked stale by any change to the case.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 17:56:47.995166
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('person_alert_states',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('flags', sa.BigInteger(), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_alert_states_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_alert_states'))
    )
    with op.batch_alter_table('person_alert_states', schema=None) as batch_op:
        batch_op.create_index('ix_person_alert_states_valid_until', ['valid_until'], unique=False)
    # Every existing case starts stale, so the first page that counts alerts works its flags out.
    people = sa.table('people', sa.column('id', sa.Integer()))
    states = sa.table('person_alert_states', sa.column('person_id', sa.Integer()), sa.column('flags', sa.BigInteger()),
                      sa.column('valid_until', sa.DateTime(timezone=True)))
    op.execute(states.insert().from_select(
        ['person_id', 'flags', 'valid_until'],
        sa.select(people.c.id, sa.literal(0, sa.BigInteger()),
                  sa.literal(datetime(2000, 1, 1, tzinfo=UTC), sa.DateTime(timezone=True)))))


def downgrade() -> None:
    with op.batch_alter_table('person_alert_states', schema=None) as batch_op:
        batch_op.drop_index('ix_person_alert_states_valid_until')

    op.drop_table('person_alert_states')
