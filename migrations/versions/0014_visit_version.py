"""Visits carry a version like every other editable record, in place of the last-saved time as the form's token.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing visit starts at version 1: a form loaded before the upgrade carries a time, not a version,
    # and is refused as stale, which is the safe answer. A plain ADD COLUMN (not a batch copy of the table):
    # on SQLite, copying visits would drop the old table, and with foreign keys on that deletes its addenda.
    # The server default stays, as SQLite cannot drop it without that copy; the application always sets it.
    op.add_column('visits', sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    op.drop_column('visits', 'version')
