"""Planned visits: a visit booked ahead with its centre, time, legal-visit booking and interpreter, which becomes
a draft visit when logged.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('planned_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('booking_reference', sa.String(length=40), nullable=True),
    sa.Column('interpreter_booked', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('interpreter_language', sa.String(length=60), nullable=True),
    sa.Column('interpreter_name', sa.LargeBinary(), nullable=True),
    sa.Column('interpreter_phone', sa.LargeBinary(), nullable=True),
    sa.Column('notes', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.Enum('planned', 'cancelled', 'logged', name='planned_visit_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('made_by_id', sa.Integer(), nullable=False),
    sa.Column('made_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('duration_minutes BETWEEN 1 AND 1440', name=op.f('ck_planned_visits_duration_range')),
    sa.CheckConstraint("(status = 'logged') = (visit_id IS NOT NULL)", name=op.f('ck_planned_visits_logged_with_visit')),
    sa.CheckConstraint('NOT interpreter_booked OR interpreter_language IS NOT NULL', name=op.f('ck_planned_visits_interpreter_language_given')),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_planned_visits_clinician_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_planned_visits_facility_id_facilities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_planned_visits_made_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_planned_visits_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_planned_visits_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_visits'))
    )
    op.create_index('ix_planned_visits_person_id_starts_at', 'planned_visits', ['person_id', 'starts_at'])
    op.create_index('ix_planned_visits_starts_at', 'planned_visits', ['starts_at'])
    op.create_index('ix_planned_visits_clinician_id_starts_at', 'planned_visits', ['clinician_id', 'starts_at'])


def downgrade() -> None:
    op.drop_table('planned_visits')
