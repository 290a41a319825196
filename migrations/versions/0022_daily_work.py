"""Daily work: case notes (the contact log) with their addenda, tasks, the reminder e-mails sent, and each
user's choice of reminders (a daily digest by default).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 02:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHOICES = ('digest', 'immediate', 'none')


def upgrade() -> None:
    op.create_table('sent_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('digest', 'immediate', name='message_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sent_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('error', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sent_messages_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_messages')),
    sa.UniqueConstraint('user_id', 'key', name='uq_sent_messages_user_id_key')
    )
    op.create_index('ix_sent_messages_sent_at', 'sent_messages', ['sent_at'])

    op.create_table('case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('call', 'email', 'letter', 'meeting', name='note_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('with_whom', sa.Enum('person', 'representative', 'centre_healthcare', 'home_office', 'organisation', 'other', name='note_with', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('happened_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.LargeBinary(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_case_notes_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_case_notes_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_case_notes_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    op.create_index('ix_case_notes_person_id_happened_at', 'case_notes', ['person_id', 'happened_at'])

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.LargeBinary(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('from_alert', sa.String(length=40), nullable=True),
    sa.Column('made_by_id', sa.Integer(), nullable=False),
    sa.Column('made_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(done_at IS NULL) = (done_by_id IS NULL)', name=op.f('ck_tasks_done_by_with_done_at')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tasks_assignee_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_tasks_done_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_tasks_made_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_tasks_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    op.create_index('ix_tasks_open_assignee_due', 'tasks', ['assignee_id', 'due_date'], sqlite_where=sa.text('done_at IS NULL'), postgresql_where=sa.text('done_at IS NULL'))
    op.create_index('ix_tasks_person_id', 'tasks', ['person_id'])

    op.create_table('case_note_addenda',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_note_addenda_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['note_id'], ['case_notes.id'], name=op.f('fk_case_note_addenda_note_id_case_notes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_case_note_addenda_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_note_addenda'))
    )
    op.create_index('ix_case_note_addenda_note_id_created_at', 'case_note_addenda', ['note_id', 'created_at'])
    op.create_index('ix_case_note_addenda_person_id', 'case_note_addenda', ['person_id'])

    # A plain ADD COLUMN with its CHECK inline (as 0016): a batch copy of users would cascade through every table
    # that references them.
    allowed = ", ".join(f"'{choice}'" for choice in CHOICES)
    op.execute("ALTER TABLE users ADD COLUMN reminders VARCHAR(9) DEFAULT 'digest' NOT NULL "
               f"CONSTRAINT ck_users_reminder_choice CHECK (reminders IN ({allowed}))")


def downgrade() -> None:
    op.drop_column('users', 'reminders')
    op.drop_table('case_note_addenda')
    op.drop_table('tasks')
    op.drop_table('case_notes')
    op.drop_table('sent_messages')
