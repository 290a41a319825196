"""Letters filled from the record, edited, issued as sealed PDFs.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('template_key', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'issued', name='letter_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('made_by_id', sa.Integer(), nullable=False),
    sa.Column('made_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state = 'issued') = (issued_at IS NOT NULL)", name=op.f('ck_letters_issued_at_when_issued')),
    sa.CheckConstraint("(state = 'issued') = (issued_by_id IS NOT NULL)", name=op.f('ck_letters_issued_by_when_issued')),
    sa.CheckConstraint("(state = 'issued') = (content_sha256 IS NOT NULL)", name=op.f('ck_letters_sealed_when_issued')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_letters_issued_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_letters_made_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_letters_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters'))
    )
    op.create_index('ix_letters_person_id_made_at', 'letters', ['person_id', 'made_at'])


def downgrade() -> None:
    op.drop_index('ix_letters_person_id_made_at', table_name='letters')
    op.drop_table('letters')
