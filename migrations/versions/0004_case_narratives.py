"""De-identified case narratives awaiting approval or released, and each summary release's population ids.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 17:01:50.718156
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_narratives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('draft', 'awaiting_approval', 'released', name='narrative_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('keep_facility', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('extra_redactions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status <> 'released' OR approved_by_id IS NOT NULL", name=op.f('ck_case_narratives_released_is_approved')),
    sa.CheckConstraint("status = 'draft' OR content IS NOT NULL", name=op.f('ck_case_narratives_submitted_has_content')),
    sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id <> created_by_id', name=op.f('ck_case_narratives_approver_not_author')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_case_narratives_approved_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_case_narratives_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_case_narratives_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_narratives')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_case_narratives_pseudonym'))
    )
    with op.batch_alter_table('case_narratives', schema=None) as batch_op:
        batch_op.create_index('ix_case_narratives_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_case_narratives_status', ['status'], unique=False)

    with op.batch_alter_table('summary_releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('population_ids', sa.LargeBinary(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('summary_releases', schema=None) as batch_op:
        batch_op.drop_column('population_ids')

    with op.batch_alter_table('case_narratives', schema=None) as batch_op:
        batch_op.drop_index('ix_case_narratives_status')
        batch_op.drop_index('ix_case_narratives_person_id')

    op.drop_table('case_narratives')
