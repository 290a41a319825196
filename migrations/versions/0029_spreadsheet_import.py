"""Spreadsheet import runs, their saved mappings and the records each created (for undo).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('columns', sa.Text(), nullable=False),
    sa.Column('made_by_id', sa.Integer(), nullable=False),
    sa.Column('made_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_import_mappings_made_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('name', name=op.f('uq_import_mappings_name'))
    )
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_kind', sa.String(length=4), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('column_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('uploaded', 'checked', 'completed', 'undone', name='import_run_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('mapping', sa.Text(), nullable=True),
    sa.Column('error_count', sa.Integer(), nullable=True),
    sa.Column('duplicate_count', sa.Integer(), nullable=True),
    sa.Column('created_people', sa.Integer(), nullable=True),
    sa.Column('records_made', sa.Text(), nullable=True),
    sa.Column('rows_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('report_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('master_key_id', sa.String(length=40), nullable=True),
    sa.Column('last_revision_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_import_runs_undone_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_import_runs_uploaded_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    op.create_index('ix_import_runs_uploaded_at', 'import_runs', ['uploaded_at'])
    op.create_table('import_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_import_records_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['import_runs.id'], name=op.f('fk_import_records_run_id_import_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_records'))
    )
    op.create_index('ix_import_records_person_id', 'import_records', ['person_id'])
    op.create_index('ix_import_records_run_id', 'import_records', ['run_id'])


def downgrade() -> None:
    op.drop_index('ix_import_records_run_id', table_name='import_records')
    op.drop_index('ix_import_records_person_id', table_name='import_records')
    op.drop_table('import_records')
    op.drop_index('ix_import_runs_uploaded_at', table_name='import_runs')
    op.drop_table('import_runs')
    op.drop_table('import_mappings')
