"""Each case's kept flags also say whether the case is open and the person detained, and are indexed, so the
dashboard counts from that index alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-21 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app.alerts.state.FLAGS gained "open_case" and "detained" as its seventeenth and eighteenth entries. Fixed here:
# a migration must not follow later changes to the application.
OPEN_CASE_BIT = 1 << 16
DETAINED_BIT = 1 << 17

states = sa.table('person_alert_states', sa.column('person_id', sa.Integer()), sa.column('flags', sa.BigInteger()))
people = sa.table('people', sa.column('id', sa.Integer()), sa.column('closed_date', sa.Date()),
                  sa.column('status', sa.String()))


def upgrade() -> None:
    # Set exactly as the application computes them, so no row has to go stale for the new bits.
    of_person = sa.select(people.c.id).where(people.c.id == states.c.person_id)
    op.execute(states.update().where(sa.exists(of_person.where(people.c.closed_date.is_(None))))
               .values(flags=states.c.flags.op('|')(OPEN_CASE_BIT)))
    op.execute(states.update().where(sa.exists(of_person.where(people.c.status == 'detained')))
               .values(flags=states.c.flags.op('|')(DETAINED_BIT)))
    with op.batch_alter_table('person_alert_states', schema=None) as batch_op:
        batch_op.create_index('ix_person_alert_states_flags', ['flags'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('person_alert_states', schema=None) as batch_op:
        batch_op.drop_index('ix_person_alert_states_flags')
    op.execute(states.update().values(flags=states.c.flags.op('&')(~(OPEN_CASE_BIT | DETAINED_BIT))))
