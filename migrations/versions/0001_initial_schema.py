"""Initial schema: every table of the domain model.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 14:06:23.264840
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('facilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('type', sa.Enum('irc', 'sthf', 'holding_room', 'prison', 'hospital', 'other', name='facility_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('operator', sa.String(length=120), nullable=True),
    sa.Column('region', sa.String(length=80), nullable=True),
    sa.Column('opened_date', sa.Date(), nullable=True),
    sa.Column('closed_date', sa.Date(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('closed_date IS NULL OR opened_date IS NULL OR closed_date >= opened_date', name=op.f('ck_facilities_closed_after_opened')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facilities')),
    sa.UniqueConstraint('name', name=op.f('uq_facilities_name'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_email_attempted_at', ['email', 'attempted_at'], unique=False)
        batch_op.create_index('ix_login_attempts_ip_address_attempted_at', ['ip_address', 'attempted_at'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('type', sa.Enum('legal', 'bail', 'nrm_first_responder', 'torture_rehabilitation', 'mental_health', 'gp_health', 'safeguarding', 'visitors', 'other', name='organisation_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('admin', 'coordinator', 'clinician', 'researcher', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('outcome', sa.Enum('success', 'failure', 'denied', name='outcome', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.String(length=40), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('correlation_id', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_events_actor_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_action_occurred_at', ['action', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_actor_user_id_occurred_at', ['actor_user_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_person_id_occurred_at', ['person_id', 'occurred_at'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=9), nullable=False),
    sa.Column('status', sa.Enum('detained', 'released', 'removed', 'unknown', name='person_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('sex', sa.Enum('female', 'male', 'intersex', 'not_recorded', name='sex', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('gender_identity', sa.String(length=60), nullable=True),
    sa.Column('nationality', sa.String(length=2), nullable=True),
    sa.Column('stateless', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('interpreter_needed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('birth_precision', sa.Enum('exact', 'year', 'approximate', 'disputed', 'unknown', name='birth_precision', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('aar_level', sa.Integer(), nullable=True),
    sa.Column('aar_level_date', sa.Date(), nullable=True),
    sa.Column('aar_level_source', sa.Enum('self_declared', 'professional_evidence', 'home_office', name='aar_level_source', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('lead_coordinator_id', sa.Integer(), nullable=True),
    sa.Column('opened_date', sa.Date(), nullable=False),
    sa.Column('closed_date', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('aar_level IS NULL OR aar_level BETWEEN 1 AND 3', name=op.f('ck_people_aar_level_range')),
    sa.CheckConstraint('birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100', name=op.f('ck_people_birth_year_range')),
    sa.CheckConstraint("birth_precision <> 'exact' OR birth_date IS NOT NULL", name=op.f('ck_people_exact_birth_has_date')),
    sa.CheckConstraint('closed_date IS NULL OR closed_date >= opened_date', name=op.f('ck_people_closed_after_opened')),
    sa.CheckConstraint('length(nationality) = 2 OR nationality IS NULL', name=op.f('ck_people_nationality_iso2')),
    sa.ForeignKeyConstraint(['lead_coordinator_id'], ['users.id'], name=op.f('fk_people_lead_coordinator_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('reference', name=op.f('uq_people_reference'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index('ix_people_closed_date', ['closed_date'], unique=False)
        batch_op.create_index('ix_people_lead_coordinator_id', ['lead_coordinator_id'], unique=False)
        batch_op.create_index('ix_people_status', ['status'], unique=False)

    op.create_table('summary_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('aggregate', 'narrative', name='release_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('population_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('population_size', sa.Integer(), nullable=False),
    sa.Column('output_format', sa.String(length=10), nullable=False),
    sa.Column('output_sha256', sa.String(length=64), nullable=False),
    sa.Column('output', sa.LargeBinary(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('overridden_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('override_reason IS NULL OR overridden_by_id IS NOT NULL', name=op.f('ck_summary_releases_override_has_admin')),
    sa.CheckConstraint('population_size >= 0', name=op.f('ck_summary_releases_population_non_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_summary_releases_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['overridden_by_id'], ['users.id'], name=op.f('fk_summary_releases_overridden_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_summary_releases'))
    )
    with op.batch_alter_table('summary_releases', schema=None) as batch_op:
        batch_op.create_index('ix_summary_releases_created_at', ['created_at'], unique=False)

    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_user_sessions_expiry_after_creation')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_user_sessions_user_id_ended_at', ['user_id', 'ended_at'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= assigned_at', name=op.f('ck_assignments_ended_after_assigned')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_assignments_assigned_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_assignments_clinician_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_assignments_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_clinician_id_ended_at', ['clinician_id', 'ended_at'], unique=False)
        batch_op.create_index('uq_assignments_open_person_clinician', ['person_id', 'clinician_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('care_record', 'share_with_organisation', 'home_office_submission', 'medico_legal_report', 'anonymised_research', name='consent_purpose', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('given_date', sa.Date(), nullable=False),
    sa.Column('method', sa.Enum('verbal_with_interpreter', 'verbal', 'written_with_interpreter', 'written', name='consent_method', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('interpreter_language', sa.String(length=60), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_date', sa.Date(), nullable=True),
    sa.Column('withdrawal_recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(purpose = 'share_with_organisation') = (organisation_id IS NOT NULL)", name=op.f('ck_consents_organisation_iff_sharing')),
    sa.CheckConstraint('withdrawn_date IS NULL OR withdrawn_date >= given_date', name=op.f('ck_consents_withdrawn_after_given')),
    sa.CheckConstraint('(withdrawn_date IS NULL) = (withdrawal_recorded_by_id IS NULL)', name=op.f('ck_consents_withdrawal_has_recorder')),
    sa.CheckConstraint("method NOT IN ('verbal_with_interpreter', 'written_with_interpreter') OR interpreter_language IS NOT NULL", name=op.f('ck_consents_interpreter_language_given')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_consents_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_consents_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_consents_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawal_recorded_by_id'], ['users.id'], name=op.f('fk_consents_withdrawal_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index('ix_consents_person_id_purpose', ['person_id', 'purpose'], unique=False)
        batch_op.create_index('ix_consents_purpose_withdrawn_date_person_id', ['purpose', 'withdrawn_date', 'person_id'], unique=False)

    op.create_table('detention_episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.Enum('removed', 'granted_leave', 'released_temporary_admission', 'bailed', 'transferred_to_prison', 'hospital', 'died', 'other', name='end_reason', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('last_bail_application_date', sa.Date(), nullable=True),
    sa.Column('last_bail_outcome', sa.Enum('pending', 'granted', 'refused', 'withdrawn', name='bail_outcome', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_detention_episodes_end_after_start')),
    sa.CheckConstraint('end_reason IS NULL OR end_date IS NOT NULL', name=op.f('ck_detention_episodes_end_reason_needs_end_date')),
    sa.CheckConstraint('last_bail_outcome IS NULL OR last_bail_application_date IS NOT NULL', name=op.f('ck_detention_episodes_bail_outcome_needs_date')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_detention_episodes_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detention_episodes'))
    )
    with op.batch_alter_table('detention_episodes', schema=None) as batch_op:
        batch_op.create_index('ix_detention_episodes_end_date_start_date', ['end_date', 'start_date'], unique=False)
        batch_op.create_index('ix_detention_episodes_person_id_start_date', ['person_id', 'start_date'], unique=False)
        batch_op.create_index('uq_detention_episodes_open_person', ['person_id'], unique=True, sqlite_where=sa.text('end_date IS NULL'), postgresql_where=sa.text('end_date IS NULL'))

    op.create_table('evidence_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('rule35_report', 'medico_legal_report', 'gp_records', 'hospital_letter', 'psychiatric_report', 'photographs', 'body_map', 'home_office_response', 'other', name='evidence_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('issued_date', sa.Date(), nullable=True),
    sa.Column('received_date', sa.Date(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('sensitivity', sa.Enum('standard', 'high', name='sensitivity', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('received_date IS NULL OR issued_date IS NULL OR received_date >= issued_date', name=op.f('ck_evidence_items_received_after_issued')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_evidence_items_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_evidence_items_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_items'))
    )
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_items_person_id_kind', ['person_id', 'kind'], unique=False)

    op.create_table('health_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('self_harm', 'acdt_opened', 'acdt_closed', 'food_refusal', 'fluid_refusal', 'segregation', 'use_of_force', 'hospital_transfer', 'missed_appointment', name='health_event_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_health_events_end_after_start')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_health_events_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_health_events_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_events'))
    )
    with op.batch_alter_table('health_events', schema=None) as batch_op:
        batch_op.create_index('ix_health_events_kind_ended_at', ['kind', 'ended_at'], unique=False)
        batch_op.create_index('ix_health_events_person_id_started_at', ['person_id', 'started_at'], unique=False)

    op.create_table('identities',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('given_names', sa.String(length=200), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('home_office_reference', sa.String(length=40), nullable=True),
    sa.Column('port_reference', sa.String(length=40), nullable=True),
    sa.Column('cid_number', sa.String(length=40), nullable=True),
    sa.Column('other_numbers', sa.Text(), nullable=True),
    sa.Column('phone_in_detention', sa.String(length=40), nullable=True),
    sa.Column('legal_representative', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_identities_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_identities'))
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_home_office_reference'), ['home_office_reference'], unique=False)

    op.create_table('person_aar_indicators',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.Enum('mental_health', 'torture', 'sexual_gbv', 'trafficking', 'ptsd', 'pregnancy', 'physical_disability', 'physical_illness', 'aged_70_plus', 'transsexual_intersex', name='aar_indicator', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('recorded_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_aar_indicators_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'indicator', name=op.f('pk_person_aar_indicators'))
    )
    with op.batch_alter_table('person_aar_indicators', schema=None) as batch_op:
        batch_op.create_index('ix_person_aar_indicators_indicator', ['indicator'], unique=False)

    op.create_table('person_languages',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=60), nullable=False),
    sa.Column('is_main', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_languages_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'language', name=op.f('pk_person_languages'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('made_by_id', sa.Integer(), nullable=False),
    sa.Column('made_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'sent', 'accepted', 'declined', 'completed', 'no_response', name='referral_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('response_date', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('follow_up_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status = 'draft' OR made_date IS NOT NULL", name=op.f('ck_referrals_made_date_unless_draft')),
    sa.CheckConstraint('follow_up_date IS NULL OR made_date IS NULL OR follow_up_date >= made_date', name=op.f('ck_referrals_follow_up_after_made')),
    sa.CheckConstraint('response_date IS NULL OR made_date IS NULL OR response_date >= made_date', name=op.f('ck_referrals_response_after_made')),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_referrals_made_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_referrals_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_referrals_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_organisation_id', ['organisation_id'], unique=False)
        batch_op.create_index('ix_referrals_person_id_made_date', ['person_id', 'made_date'], unique=False)
        batch_op.create_index('ix_referrals_status_follow_up_date', ['status', 'follow_up_date'], unique=False)

    op.create_table('revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('table_name', sa.String(length=60), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('insert', 'update', 'delete', name='revision_action', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_revisions_actor_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_revisions_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revisions'))
    )
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.create_index('ix_revisions_person_id_occurred_at', ['person_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_revisions_table_name_row_id', ['table_name', 'row_id'], unique=False)

    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.Enum('in_person', 'phone', 'video', 'legal_visit_room', name='visit_mode', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('interpreter_used', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('interpreter_language', sa.String(length=60), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('presenting_concerns', sa.Text(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('risk', sa.Enum('none', 'low', 'moderate', 'high', name='risk_level', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('actions', sa.Text(), nullable=True),
    sa.Column('follow_up_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'signed', name='visit_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)", name=op.f('ck_visits_signed_fields_match_status')),
    sa.CheckConstraint('NOT interpreter_used OR interpreter_language IS NOT NULL', name=op.f('ck_visits_interpreter_language_given')),
    sa.CheckConstraint('duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 1440', name=op.f('ck_visits_duration_range')),
    sa.CheckConstraint('follow_up_date IS NULL OR follow_up_date >= visit_date', name=op.f('ck_visits_follow_up_after_visit')),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_visits_clinician_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_visits_facility_id_facilities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_visits_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_visits_signed_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_clinician_id_visit_date', ['clinician_id', 'visit_date'], unique=False)
        batch_op.create_index('ix_visits_follow_up_date', ['follow_up_date'], unique=False)
        batch_op.create_index('ix_visits_person_id_visit_date', ['person_id', 'visit_date'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('evidence_item_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(evidence_item_id IS NULL) <> (visit_id IS NULL)', name=op.f('ck_documents_one_parent')),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_documents_sha256_hex')),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_documents_size_non_negative')),
    sa.ForeignKeyConstraint(['evidence_item_id'], ['evidence_items.id'], name=op.f('fk_documents_evidence_item_id_evidence_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_documents_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_documents_uploaded_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_documents_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_evidence_item_id', ['evidence_item_id'], unique=False)
        batch_op.create_index('ix_documents_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_documents_visit_id', ['visit_id'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evidence_item_id', sa.Integer(), nullable=False),
    sa.Column('body_region', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('attributed_cause', sa.Text(), nullable=True),
    sa.Column('consistency', sa.Enum('not_consistent', 'consistent', 'highly_consistent', 'typical', 'diagnostic', name='consistency', native_enum=False, create_constraint=True), nullable=True),
    sa.ForeignKeyConstraint(['evidence_item_id'], ['evidence_items.id'], name=op.f('fk_findings_evidence_item_id_evidence_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_evidence_item_id_body_region', ['evidence_item_id', 'body_region'], unique=False)

    op.create_table('identity_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('kind', sa.Enum('alias', 'spelling', name='alias_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['identities.person_id'], name=op.f('fk_identity_aliases_person_id_identities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_aliases'))
    )
    with op.batch_alter_table('identity_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_aliases_person_id'), ['person_id'], unique=False)

    op.create_table('nrm_referrals',
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('first_responder_id', sa.Integer(), nullable=True),
    sa.Column('reasonable_grounds_date', sa.Date(), nullable=True),
    sa.Column('reasonable_grounds_outcome', sa.Enum('positive', 'negative', 'withdrawn', name='rg_decision', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('conclusive_grounds_date', sa.Date(), nullable=True),
    sa.Column('conclusive_grounds_outcome', sa.Enum('positive', 'negative', 'withdrawn', name='cg_decision', native_enum=False, create_constraint=True), nullable=True),
    sa.CheckConstraint('conclusive_grounds_date IS NULL OR reasonable_grounds_date IS NULL OR conclusive_grounds_date >= reasonable_grounds_date', name=op.f('ck_nrm_referrals_cg_after_rg')),
    sa.CheckConstraint('conclusive_grounds_outcome IS NULL OR conclusive_grounds_date IS NOT NULL', name=op.f('ck_nrm_referrals_cg_outcome_needs_date')),
    sa.CheckConstraint('reasonable_grounds_outcome IS NULL OR reasonable_grounds_date IS NOT NULL', name=op.f('ck_nrm_referrals_rg_outcome_needs_date')),
    sa.ForeignKeyConstraint(['first_responder_id'], ['organisations.id'], name=op.f('fk_nrm_referrals_first_responder_id_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_nrm_referrals_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_nrm_referrals'))
    )
    with op.batch_alter_table('nrm_referrals', schema=None) as batch_op:
        batch_op.create_index('ix_nrm_referrals_reasonable_grounds_date', ['reasonable_grounds_date'], unique=False)

    op.create_table('placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('date_in', sa.Date(), nullable=False),
    sa.Column('date_out', sa.Date(), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gp_exam_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('date_out IS NULL OR date_out >= date_in', name=op.f('ck_placements_out_after_in')),
    sa.CheckConstraint('gp_exam_at IS NULL OR arrived_at IS NULL OR gp_exam_at >= arrived_at', name=op.f('ck_placements_exam_after_arrival')),
    sa.ForeignKeyConstraint(['episode_id'], ['detention_episodes.id'], name=op.f('fk_placements_episode_id_detention_episodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_placements_facility_id_facilities'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements'))
    )
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.create_index('ix_placements_episode_id_date_in', ['episode_id', 'date_in'], unique=False)
        batch_op.create_index('ix_placements_facility_id_date_out', ['facility_id', 'date_out'], unique=False)

    op.create_table('rule35_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('evidence_item_id', sa.Integer(), nullable=True),
    sa.Column('limb', sa.Enum('35_1', '35_2', '35_3', name='rule35_limb', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=True),
    sa.Column('written_date', sa.Date(), nullable=False),
    sa.Column('sent_date', sa.Date(), nullable=True),
    sa.Column('consent_to_send', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('response_date', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Enum('detention_maintained', 'released', 'no_response', name='rule35_outcome', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('aar_level_given', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('aar_level_given IS NULL OR aar_level_given BETWEEN 1 AND 3', name=op.f('ck_rule35_records_aar_level_range')),
    sa.CheckConstraint("outcome IS NULL OR outcome = 'no_response' OR response_date IS NOT NULL", name=op.f('ck_rule35_records_decision_has_response_date')),
    sa.CheckConstraint('sent_date IS NULL OR consent_to_send', name=op.f('ck_rule35_records_sent_only_with_consent')),
    sa.CheckConstraint('response_date IS NULL OR (sent_date IS NOT NULL AND response_date >= sent_date)', name=op.f('ck_rule35_records_response_after_sent')),
    sa.CheckConstraint('sent_date IS NULL OR sent_date >= written_date', name=op.f('ck_rule35_records_sent_after_written')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_rule35_records_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['evidence_item_id'], ['evidence_items.id'], name=op.f('fk_rule35_records_evidence_item_id_evidence_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_rule35_records_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule35_records'))
    )
    with op.batch_alter_table('rule35_records', schema=None) as batch_op:
        batch_op.create_index('ix_rule35_records_person_id_limb', ['person_id', 'limb'], unique=False)
        batch_op.create_index('ix_rule35_records_response_date_sent_date', ['response_date', 'sent_date'], unique=False)

    op.create_table('visit_aar_indicators',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.Enum('mental_health', 'torture', 'sexual_gbv', 'trafficking', 'ptsd', 'pregnancy', 'physical_disability', 'physical_illness', 'aged_70_plus', 'transsexual_intersex', name='aar_indicator', native_enum=False, create_constraint=True), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_aar_indicators_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'indicator', name=op.f('pk_visit_aar_indicators'))
    )
    op.create_table('visit_addenda',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_visit_addenda_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_addenda_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_addenda'))
    )
    with op.batch_alter_table('visit_addenda', schema=None) as batch_op:
        batch_op.create_index('ix_visit_addenda_visit_id_created_at', ['visit_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('visit_addenda', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_addenda_visit_id_created_at')

    op.drop_table('visit_addenda')
    op.drop_table('visit_aar_indicators')
    with op.batch_alter_table('rule35_records', schema=None) as batch_op:
        batch_op.drop_index('ix_rule35_records_response_date_sent_date')
        batch_op.drop_index('ix_rule35_records_person_id_limb')

    op.drop_table('rule35_records')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index('ix_placements_facility_id_date_out')
        batch_op.drop_index('ix_placements_episode_id_date_in')

    op.drop_table('placements')
    with op.batch_alter_table('nrm_referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_nrm_referrals_reasonable_grounds_date')

    op.drop_table('nrm_referrals')
    with op.batch_alter_table('identity_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_aliases_person_id'))

    op.drop_table('identity_aliases')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_evidence_item_id_body_region')

    op.drop_table('findings')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_visit_id')
        batch_op.drop_index('ix_documents_person_id')
        batch_op.drop_index('ix_documents_evidence_item_id')

    op.drop_table('documents')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_person_id_visit_date')
        batch_op.drop_index('ix_visits_follow_up_date')
        batch_op.drop_index('ix_visits_clinician_id_visit_date')

    op.drop_table('visits')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_revisions_table_name_row_id')
        batch_op.drop_index('ix_revisions_person_id_occurred_at')

    op.drop_table('revisions')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_follow_up_date')
        batch_op.drop_index('ix_referrals_person_id_made_date')
        batch_op.drop_index('ix_referrals_organisation_id')

    op.drop_table('referrals')
    op.drop_table('person_languages')
    with op.batch_alter_table('person_aar_indicators', schema=None) as batch_op:
        batch_op.drop_index('ix_person_aar_indicators_indicator')

    op.drop_table('person_aar_indicators')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_home_office_reference'))

    op.drop_table('identities')
    with op.batch_alter_table('health_events', schema=None) as batch_op:
        batch_op.drop_index('ix_health_events_person_id_started_at')
        batch_op.drop_index('ix_health_events_kind_ended_at')

    op.drop_table('health_events')
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_items_person_id_kind')

    op.drop_table('evidence_items')
    with op.batch_alter_table('detention_episodes', schema=None) as batch_op:
        batch_op.drop_index('uq_detention_episodes_open_person')
        batch_op.drop_index('ix_detention_episodes_person_id_start_date')
        batch_op.drop_index('ix_detention_episodes_end_date_start_date')

    op.drop_table('detention_episodes')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_purpose_withdrawn_date_person_id')
        batch_op.drop_index('ix_consents_person_id_purpose')

    op.drop_table('consents')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_assignments_open_person_clinician')
        batch_op.drop_index('ix_assignments_clinician_id_ended_at')

    op.drop_table('assignments')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_user_sessions_user_id_ended_at')

    op.drop_table('user_sessions')
    with op.batch_alter_table('summary_releases', schema=None) as batch_op:
        batch_op.drop_index('ix_summary_releases_created_at')

    op.drop_table('summary_releases')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index('ix_people_status')
        batch_op.drop_index('ix_people_lead_coordinator_id')
        batch_op.drop_index('ix_people_closed_date')

    op.drop_table('people')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_person_id_occurred_at')
        batch_op.drop_index('ix_audit_events_occurred_at')
        batch_op.drop_index('ix_audit_events_actor_user_id_occurred_at')
        batch_op.drop_index('ix_audit_events_action_occurred_at')

    op.drop_table('audit_events')
    op.drop_table('users')
    op.drop_table('organisations')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_ip_address_attempted_at')
        batch_op.drop_index('ix_login_attempts_email_attempted_at')

    op.drop_table('login_attempts')
    op.drop_table('facilities')
