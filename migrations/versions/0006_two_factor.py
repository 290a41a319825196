"""Two-factor sign-in: each user's encrypted TOTP secret and last accepted time step, hashed recovery codes,
and sign-ins waiting for their second factor.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch: rebuilding users on SQLite would drop and refill a table that every other
    # table refers to.
    op.add_column('users', sa.Column('mfa_secret', sa.LargeBinary(), nullable=True))
    op.add_column('users', sa.Column('mfa_enabled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('mfa_last_step', sa.BigInteger(), nullable=True))

    op.create_table('mfa_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_recovery_codes'))
    )
    with op.batch_alter_table('mfa_recovery_codes', schema=None) as batch_op:
        batch_op.create_index('ix_mfa_recovery_codes_user_id_code_hash', ['user_id', 'code_hash'], unique=True)

    op.create_table('mfa_pending_sign_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('verify', 'enrol', name='pending_step', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('next_path', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_mfa_pending_sign_ins_expiry_after_creation')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_pending_sign_ins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_pending_sign_ins')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_mfa_pending_sign_ins_token_hash'))
    )
    with op.batch_alter_table('mfa_pending_sign_ins', schema=None) as batch_op:
        batch_op.create_index('ix_mfa_pending_sign_ins_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_mfa_pending_sign_ins_user_id', ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mfa_pending_sign_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_mfa_pending_sign_ins_user_id')
        batch_op.drop_index('ix_mfa_pending_sign_ins_expires_at')
    op.drop_table('mfa_pending_sign_ins')

    with op.batch_alter_table('mfa_recovery_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_mfa_recovery_codes_user_id_code_hash')
    op.drop_table('mfa_recovery_codes')

    # SQLite (3.35 and later) drops a column in place, so no rebuild of users here either.
    op.drop_column('users', 'mfa_last_step')
    op.drop_column('users', 'mfa_enabled_at')
    op.drop_column('users', 'mfa_secret')
