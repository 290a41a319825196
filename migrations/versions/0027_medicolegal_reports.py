"""Medico-legal reports: instruction, papers, Annex IV sections, peer review, sealed sign-off, versions.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNED = "state IN ('signed', 'served')"
SECTIONS = ('case_details', 'qualifications', 'allegations', 'physical_findings', 'psychological_findings',
            'interpretation', 'recommendations')


def upgrade() -> None:
    op.create_table('medicolegal_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('legal_representative_id', sa.Integer(), nullable=False),
    sa.Column('questions', sa.LargeBinary(), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('paper_interview_record', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('paper_witness_statement', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('paper_refusal_letter', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('paper_determination', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('paper_medical_records', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('state', sa.Enum('instructed', 'drafting', 'in_review', 'signed', 'served',
                               name='medicolegal_report_state', native_enum=False, create_constraint=True),
              nullable=False),
    *[sa.Column(name, sa.LargeBinary(), nullable=True) for name in SECTIONS],
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('review_round', sa.Integer(), server_default='0', nullable=False),
    sa.Column('approved_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=True),
    sa.Column('served_date', sa.Date(), nullable=True),
    sa.Column('outcome', sa.LargeBinary(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('due_date >= received_date', name=op.f('ck_medicolegal_reports_due_after_received')),
    sa.CheckConstraint(f'({SIGNED}) = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL '
                       'AND content_sha256 IS NOT NULL)',
                       name=op.f('ck_medicolegal_reports_signed_fields_match_state')),
    sa.CheckConstraint("(state = 'served') = (served_date IS NOT NULL)",
                       name=op.f('ck_medicolegal_reports_served_date_when_served')),
    sa.CheckConstraint("state NOT IN ('in_review', 'signed', 'served') OR reviewer_id IS NOT NULL",
                       name=op.f('ck_medicolegal_reports_reviewer_named')),
    sa.CheckConstraint('reviewer_id IS NULL OR reviewer_id <> author_id',
                       name=op.f('ck_medicolegal_reports_reviewer_not_author')),
    sa.CheckConstraint("approved_at IS NULL OR state IN ('in_review', 'signed', 'served')",
                       name=op.f('ck_medicolegal_reports_approved_only_in_review')),
    sa.CheckConstraint(f'NOT ({SIGNED}) OR approved_at IS NOT NULL',
                       name=op.f('ck_medicolegal_reports_signed_after_approval')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_medicolegal_reports_person_id_people'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_medicolegal_reports_author_id_users'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_medicolegal_reports_visit_id_visits'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['legal_representative_id'], ['legal_representatives.id'],
                            name=op.f('fk_medicolegal_reports_legal_representative_id_legal_representatives'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_medicolegal_reports_reviewer_id_users'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'],
                            name=op.f('fk_medicolegal_reports_signed_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_medicolegal_reports_created_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medicolegal_reports'))
    )
    op.create_index('ix_medicolegal_reports_person_id_due_date', 'medicolegal_reports', ['person_id', 'due_date'])
    op.create_index('ix_medicolegal_reports_state_due_date', 'medicolegal_reports', ['state', 'due_date'])
    op.create_index('ix_medicolegal_reports_author_id', 'medicolegal_reports', ['author_id'])
    op.create_index('ix_medicolegal_reports_reviewer_id', 'medicolegal_reports', ['reviewer_id'])

    op.create_table('medicolegal_report_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('started', 'saved', 'sent_for_review', name='medicolegal_version_reason',
                                native_enum=False, create_constraint=True), nullable=False),
    sa.Column('sections', sa.LargeBinary(), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=False),
    sa.Column('saved_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['medicolegal_reports.id'],
                            name=op.f('fk_medicolegal_report_versions_report_id_medicolegal_reports'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'],
                            name=op.f('fk_medicolegal_report_versions_saved_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medicolegal_report_versions')),
    sa.UniqueConstraint('report_id', 'number', name=op.f('uq_medicolegal_report_versions_report_id_number'))
    )

    op.create_table('medicolegal_review_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=40), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('section IN ({})'.format(', '.join(f"'{name}'" for name in SECTIONS)),
                       name=op.f('ck_medicolegal_review_comments_section_known')),
    sa.ForeignKeyConstraint(['report_id'], ['medicolegal_reports.id'],
                            name=op.f('fk_medicolegal_review_comments_report_id_medicolegal_reports'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'],
                            name=op.f('fk_medicolegal_review_comments_reviewer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medicolegal_review_comments'))
    )
    op.create_index('ix_medicolegal_review_comments_report_id_round', 'medicolegal_review_comments',
                    ['report_id', 'round'])
    # A new alert rule (report_overdue) reads these tables: no stored flag may be read before it has been
    # worked out again with it (as migration 0017 did for removal directions).
    states = sa.table('person_alert_states', sa.column('valid_until', UTCDateTime(timezone=True)))
    op.execute(states.update().values(valid_until=datetime(2000, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    op.drop_index('ix_medicolegal_review_comments_report_id_round', table_name='medicolegal_review_comments')
    op.drop_table('medicolegal_review_comments')
    op.drop_table('medicolegal_report_versions')
    op.drop_index('ix_medicolegal_reports_reviewer_id', table_name='medicolegal_reports')
    op.drop_index('ix_medicolegal_reports_author_id', table_name='medicolegal_reports')
    op.drop_index('ix_medicolegal_reports_state_due_date', table_name='medicolegal_reports')
    op.drop_index('ix_medicolegal_reports_person_id_due_date', table_name='medicolegal_reports')
    op.drop_table('medicolegal_reports')
