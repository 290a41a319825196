"""A closed case says why it was closed; cases closed before this say "other reason".

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = ('released_supported', 'removed', 'no_longer_needed', 'lost_contact', 'died', 'other')


def upgrade() -> None:
    # A plain ADD COLUMN with its CHECK inline: a batch copy of people would drop the table, and with foreign keys
    # on that deletes every row that hangs off a person.
    # Written out because Alembic leaves an enum's CHECK out of ADD COLUMN; both databases accept it inline.
    allowed = ", ".join(f"'{reason}'" for reason in REASONS)
    op.execute("ALTER TABLE people ADD COLUMN closing_reason VARCHAR(18) "
               f"CONSTRAINT ck_people_closing_reason CHECK (closing_reason IN ({allowed}))")
    op.execute("UPDATE people SET closing_reason = 'other' WHERE closed_date IS NOT NULL")


def downgrade() -> None:
    op.drop_column('people', 'closing_reason')
