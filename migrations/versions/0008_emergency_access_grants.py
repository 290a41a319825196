"""Break-glass: clinicians' time-limited emergency access to people not assigned to them, kept until reviewed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 19:58:07.851287
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('emergency_access_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.CheckConstraint('(reviewed_at IS NULL) = (reviewed_by_id IS NULL)', name=op.f('ck_emergency_access_grants_reviewed_by_and_at_together')),
    sa.CheckConstraint('expires_at > granted_at', name=op.f('ck_emergency_access_grants_expires_after_granted')),
    sa.CheckConstraint('reviewed_at IS NULL OR reviewed_at >= granted_at', name=op.f('ck_emergency_access_grants_reviewed_after_granted')),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_emergency_access_grants_clinician_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_emergency_access_grants_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_emergency_access_grants_reviewed_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_access_grants'))
    )
    with op.batch_alter_table('emergency_access_grants', schema=None) as batch_op:
        batch_op.create_index('ix_emergency_access_grants_clinician_person_expires', ['clinician_id', 'person_id', 'expires_at'], unique=False)
        batch_op.create_index('ix_emergency_access_grants_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_emergency_access_grants_unreviewed', ['granted_at'], unique=False, sqlite_where=sa.text('reviewed_at IS NULL'), postgresql_where=sa.text('reviewed_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('emergency_access_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_emergency_access_grants_unreviewed', sqlite_where=sa.text('reviewed_at IS NULL'), postgresql_where=sa.text('reviewed_at IS NULL'))
        batch_op.drop_index('ix_emergency_access_grants_person_id')
        batch_op.drop_index('ix_emergency_access_grants_clinician_person_expires')

    op.drop_table('emergency_access_grants')
