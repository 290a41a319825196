"""Requests for help and their triage; legal representatives as contacts linked to people, replacing the free-text
field (each distinct text becomes a contact, split into firm, caseworker, phone and e-mail where it can be);
handovers of a case between coordinators.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 01:10:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s()-]{7,}$")


def split_contact(text: str) -> dict[str, str | None]:
    """A free-text representative ("Firm, caseworker, address, phone, e-mail" in any order) as the contact's
    fields: the parts that look like a phone number or an e-mail address; the first other part as the firm; of
    the rest, those with a digit (a street number, a postcode) as the address and the others as the caseworker.
    Nothing is dropped: a text that splits no way is the firm."""
    parts = [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]
    phone = next((p for p in parts if _PHONE.match(p)), None)
    email = next((p for p in parts if _EMAIL.match(p)), None)
    rest = [p for p in parts if p not in (phone, email)]
    firm = rest[0] if rest else text.strip()
    address = ", ".join(p for p in rest[1:] if any(c.isdigit() for c in p)) or None
    caseworker = ", ".join(p for p in rest[1:] if not any(c.isdigit() for c in p)) or None
    return {"firm": firm[:200], "caseworker": caseworker[:200] if caseworker else None,
            "address": address[:400] if address else None,
            "phone": phone[:40] if phone else None, "email": email[:254] if email else None}


def joined_contact(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


def _identities() -> sa.Table:
    return sa.table('identities', sa.column('person_id', sa.Integer()),
                    sa.column('legal_representative', sa.LargeBinary()))


def _person_key(conn: sa.Connection, person_id: int) -> bytes:
    from app.crypto.keyring import master_keyring, person_key_label

    wrapped, key_id = conn.execute(sa.text("SELECT wrapped_key, master_key_id FROM person_keys WHERE person_id = :p"),
                                   {"p": person_id}).one()
    return master_keyring().unwrap(wrapped, key_id, person_key_label(person_id))


def _migrate_texts(conn: sa.Connection) -> None:
    from app.crypto.fields import open_value

    identities = _identities()
    contacts: dict[tuple[str | None, ...], int] = {}
    rows = conn.execute(sa.select(identities.c.person_id, identities.c.legal_representative)
                        .where(identities.c.legal_representative.is_not(None))).all()
    for person_id, blob in rows:
        text = open_value(_person_key(conn, person_id), "text", blob, "identities.legal_representative")
        if not text or not text.strip():
            continue
        fields = split_contact(text)
        key = tuple(fields.values())
        if key not in contacts:
            contacts[key] = conn.execute(sa.text(
                "INSERT INTO legal_representatives (firm, caseworker, address, phone, email, legal_aid_contract, "
                "created_at, version) VALUES (:firm, :caseworker, :address, :phone, :email, :no, CURRENT_TIMESTAMP, 1) "
                "RETURNING id"),
                {**fields, "no": False}).scalar_one()
        conn.execute(sa.text("INSERT INTO representations (person_id, legal_representative_id, started_at) "
                             "VALUES (:p, :r, CURRENT_TIMESTAMP)"), {"p": person_id, "r": contacts[key]})


def upgrade() -> None:
    op.create_table(
        'legal_representatives',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('firm', sa.String(length=200), nullable=False),
        sa.Column('caseworker', sa.String(length=200), nullable=True),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('address', sa.String(length=400), nullable=True),
        sa.Column('legal_aid_contract', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('archived_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_representatives')),
    )
    op.create_index('ix_legal_representatives_firm', 'legal_representatives', ['firm'])

    op.create_table('handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=False),
    sa.Column('handed_by_id', sa.Integer(), nullable=False),
    sa.Column('handed_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint('from_user_id IS NULL OR from_user_id <> to_user_id', name=op.f('ck_handovers_to_someone_else')),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_handovers_from_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['handed_by_id'], ['users.id'], name=op.f('fk_handovers_handed_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_handovers_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_handovers_to_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers'))
    )
    op.create_index('ix_handovers_from_user_id_handed_at', 'handovers', ['from_user_id', 'handed_at'])
    op.create_index('ix_handovers_person_id_handed_at', 'handovers', ['person_id', 'handed_at'])
    op.create_index('ix_handovers_to_user_id_handed_at', 'handovers', ['to_user_id', 'handed_at'])

    op.create_table('representations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('legal_representative_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_representations_ended_after_started')),
    sa.ForeignKeyConstraint(['legal_representative_id'], ['legal_representatives.id'], name=op.f('fk_representations_legal_representative_id_legal_representatives'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_representations_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_representations_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_representations'))
    )
    op.create_index('ix_representations_legal_representative_id', 'representations', ['legal_representative_id'])
    op.create_index('uq_representations_current_person_id', 'representations', ['person_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=11), nullable=False),
    sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'online_form', 'letter', 'in_person', name='request_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('requester_kind', sa.Enum('self', 'legal_representative', 'visitor_group', 'charity', 'healthcare', 'other', name='requester_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('urgency', sa.Enum('immediate', 'this_week', 'routine', name='request_urgency', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('needs', sa.String(length=200), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('legal_representative_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.LargeBinary(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=32), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.Enum('accepted', 'declined', 'signposted', 'more_information', name='request_decision', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('decision_note', sa.LargeBinary(), nullable=True),
    sa.Column('signposted_to_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('document_name', sa.String(length=255), nullable=True),
    sa.Column('document_type', sa.String(length=100), nullable=True),
    sa.Column('document_size', sa.Integer(), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('document_content', sa.LargeBinary(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("decision <> 'accepted' OR person_id IS NOT NULL", name=op.f('ck_requests_accepted_has_person')),
    sa.CheckConstraint('(decided_at IS NULL) = (decided_by_id IS NULL)', name=op.f('ck_requests_decided_by_with_decided_at')),
    sa.CheckConstraint('(decided_at IS NULL) = (decision IS NULL)', name=op.f('ck_requests_decided_at_with_decision')),
    sa.CheckConstraint('decided_at IS NULL OR decided_at >= received_at', name=op.f('ck_requests_decided_after_received')),
    sa.CheckConstraint('document_size IS NULL OR document_size >= 0', name=op.f('ck_requests_document_size_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_requests_decided_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_requests_facility_id_facilities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['legal_representative_id'], ['legal_representatives.id'], name=op.f('fk_requests_legal_representative_id_legal_representatives'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_requests_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_requests_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signposted_to_id'], ['organisations.id'], name=op.f('fk_requests_signposted_to_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_requests_reference'))
    )
    op.create_index('ix_requests_legal_representative_id', 'requests', ['legal_representative_id'])
    op.create_index('ix_requests_open_received_at', 'requests', ['urgency', 'received_at'], sqlite_where=sa.text("decided_at IS NULL OR decision = 'more_information'"), postgresql_where=sa.text("decided_at IS NULL OR decision = 'more_information'"))
    op.create_index('ix_requests_person_id', 'requests', ['person_id'])

    _migrate_texts(op.get_bind())
    op.drop_column('identities', 'legal_representative')


def downgrade() -> None:
    from app.crypto.fields import seal_value

    op.add_column('identities', sa.Column('legal_representative', sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    identities = _identities()
    for person_id, *parts in conn.execute(sa.text(
            "SELECT r.person_id, c.firm, c.caseworker, c.address, c.phone, c.email FROM representations r "
            "JOIN legal_representatives c ON c.id = r.legal_representative_id WHERE r.ended_at IS NULL")).all():
        blob = seal_value(_person_key(conn, person_id), "text", joined_contact(*parts),
                          "identities.legal_representative")
        conn.execute(identities.update().where(identities.c.person_id == person_id)
                     .values(legal_representative=blob))
    op.drop_table('requests')
    op.drop_table('representations')
    op.drop_table('handovers')
    op.drop_table('legal_representatives')
