"""A signed visit keeps the SHA-256 of what was signed (app/visits/seal.py), so that a later change of its stored
content is detected. Visits signed before this have no seal and are shown as such.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with its CHECK inline (as 0016 does): a batch copy of visits would drop the table, and
    # with foreign keys on that deletes every addendum, indicator and document that hangs off a visit.
    op.execute("ALTER TABLE visits ADD COLUMN content_sha256 VARCHAR(64) "
               "CONSTRAINT ck_visits_seal_only_when_signed CHECK (content_sha256 IS NULL OR status = 'signed')")


def downgrade() -> None:
    op.drop_column('visits', 'content_sha256')
