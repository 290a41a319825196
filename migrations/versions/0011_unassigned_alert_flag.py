"""Each open case's kept flags also say whether nobody is assigned, so the dashboard counts in one pass.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app.alerts.state.FLAGS gained "unassigned" as its sixteenth entry. Fixed here: a migration must not follow
# later changes to the application.
UNASSIGNED_BIT = 1 << 15

states = sa.table('person_alert_states', sa.column('person_id', sa.Integer()), sa.column('flags', sa.BigInteger()))
assignments = sa.table('assignments', sa.column('person_id', sa.Integer()), sa.column('ended_at', sa.DateTime()))


def upgrade() -> None:
    # Set exactly as the application computes it, so no row has to go stale for the new bit.
    nobody = ~sa.exists().where(assignments.c.person_id == states.c.person_id, assignments.c.ended_at.is_(None))
    op.execute(states.update().where(nobody).values(flags=states.c.flags.op('|')(UNASSIGNED_BIT)))


def downgrade() -> None:
    op.execute(states.update().values(flags=states.c.flags.op('&')(~UNASSIGNED_BIT)))
