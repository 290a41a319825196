"""Normalised name tokens with phonetic keys, for name search and the duplicate check.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 14:38:14.742283
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('person_name_tokens',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=100), nullable=False),
    sa.Column('phonetic', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Enum('given', 'family', 'alias', name='name_source', native_enum=False, create_constraint=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_name_tokens_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'token', name=op.f('pk_person_name_tokens'))
    )
    with op.batch_alter_table('person_name_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_person_name_tokens_phonetic', ['phonetic'], unique=False)
        batch_op.create_index('ix_person_name_tokens_token', ['token'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('person_name_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_person_name_tokens_token')
        batch_op.drop_index('ix_person_name_tokens_phonetic')

    op.drop_table('person_name_tokens')
