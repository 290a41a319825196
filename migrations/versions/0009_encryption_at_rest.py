"""Encryption at rest: each person's data key wrapped by the master key, identity fields, clinical free text,
document bytes, narratives and revisions sealed with it, and name search on keyed hashes.

Existing rows are sealed in place (upgrade) and opened again (downgrade), so the master key configured for the
application (CASEWORK_MASTER_KEY or CASEWORK_MASTER_KEY_FILE) must be set when this migration runs.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 20:01:58.741744
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.crypto.keyring import INDEX_KEY_LABEL, master_keyring, person_key_label
from app.crypto.primitives import new_key, open_sealed, seal
from app.people import names

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TEXT = sa.Text()

# table -> (SQL giving each row's key and person, [(column, kind, type before, nullable)])
SEALED: dict[str, tuple[str, list[tuple[str, str, Any, bool]]]] = {
    'identities': ("SELECT t.person_id AS pk, t.person_id AS person_id {cols} FROM identities t", [
        ('given_names', 'text', sa.String(200), False), ('family_name', 'text', sa.String(200), False),
        ('home_office_reference', 'text', sa.String(40), True), ('port_reference', 'text', sa.String(40), True),
        ('cid_number', 'text', sa.String(40), True), ('other_numbers', 'text', TEXT, True),
        ('phone_in_detention', 'text', sa.String(40), True), ('legal_representative', 'text', TEXT, True)]),
    'identity_aliases': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM identity_aliases t",
                         [('name', 'text', sa.String(400), False)]),
    'visits': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM visits t", [
        ('presenting_concerns', 'text', TEXT, True), ('findings', 'text', TEXT, True),
        ('actions', 'text', TEXT, True)]),
    'visit_addenda': ("SELECT t.id AS pk, v.person_id AS person_id {cols} FROM visit_addenda t "
                      "JOIN visits v ON v.id = t.visit_id", [('text', 'text', TEXT, False)]),
    'evidence_items': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM evidence_items t", [
        ('author', 'text', sa.String(200), True), ('summary', 'text', TEXT, True)]),
    'findings': ("SELECT t.id AS pk, e.person_id AS person_id {cols} FROM findings t "
                 "JOIN evidence_items e ON e.id = t.evidence_item_id", [
                     ('description', 'text', TEXT, False), ('attributed_cause', 'text', TEXT, True)]),
    'documents': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM documents t", [
        ('original_filename', 'text', sa.String(255), False), ('content', 'bytes', None, False)]),
    'rule35_records': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM rule35_records t",
                       [('author_name', 'text', sa.String(200), True)]),
    'health_events': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM health_events t",
                      [('notes', 'text', TEXT, True)]),
    'consents': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM consents t",
                 [('notes', 'text', TEXT, True)]),
    'detention_episodes': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM detention_episodes t",
                           [('notes', 'text', TEXT, True)]),
    'referrals': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM referrals t", [
        ('reason', 'text', TEXT, True), ('outcome', 'text', TEXT, True)]),
    'case_narratives': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM case_narratives t", [
        ('extra_redactions', 'json', JSON, False), ('content', 'json', JSON, True)]),
    'revisions': ("SELECT t.id AS pk, t.person_id AS person_id {cols} FROM revisions t", [
        ('before', 'json', JSON, True), ('after', 'json', JSON, True)]),
}
PK = {'identities': 'person_id'}
BATCH = 2000


def _now() -> datetime:
    return datetime.now(UTC)


def _rows(conn: sa.Connection, table: str) -> list[dict[str, Any]]:
    query, columns = SEALED[table]
    cols = "".join(f", t.{name} AS {name}" for name, *_ in columns)
    return [dict(r._mapping) for r in conn.execute(sa.text(query.format(cols=cols)))]


def _as_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _encode(kind: str, value: Any) -> bytes:
    if kind == 'json':
        # SQLite gives the JSON text, PostgreSQL the parsed value.
        parsed = json.loads(value) if isinstance(value, str | bytes) else value
        return json.dumps(parsed, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    return _as_bytes(value)


# SQLite rebuilds a table to change a column's type, and dropping the old table cascades to its children
# (findings, addenda, aliases, placements ...) because the application's connections enforce foreign keys. So
# on SQLite a column is swapped instead: add the new one, fill it, drop the old one, rename. Only tables that no
# other table references and whose CHECK constraints name a sealed column are rebuilt.
REBUILT_ON_SQLITE = {'case_narratives'}
_NEW = "__swap"


def _convert(conn: sa.Connection, table: str, rows: list[dict[str, Any]], *, to_binary: bool) -> None:
    """Change the table's sealed columns to bytes (or back) and store `rows` in them."""
    columns = [(name, old, nullable) for name, _, old, nullable in SEALED[table][1]]
    changing = [(name, old, nullable) for name, old, nullable in columns if old is not None]
    if conn.dialect.name == 'postgresql':
        for name, old, nullable in changing:
            if to_binary:
                op.alter_column(table, name, type_=sa.LargeBinary(), existing_type=old, existing_nullable=nullable,
                                postgresql_using=f"convert_to(\"{name}\"::text, 'UTF8')")
        _update_mixed(conn, table, rows, {name for name, *_ in SEALED[table][1]})
        for name, old, nullable in changing:
            if not to_binary:
                cast = '::jsonb' if old is JSON else ''
                op.alter_column(table, name, type_=old, existing_type=sa.LargeBinary(), existing_nullable=nullable,
                                postgresql_using=f"convert_from(\"{name}\", 'UTF8'){cast}")
        return
    if table in REBUILT_ON_SQLITE:
        with op.batch_alter_table(table) as batch:
            for name, old, nullable in changing:
                batch.alter_column(name, type_=sa.LargeBinary() if to_binary else old,
                                   existing_type=old if to_binary else sa.LargeBinary(), existing_nullable=nullable)
        _update_mixed(conn, table, rows, {name for name, *_ in SEALED[table][1]})
        return
    for name, old, nullable in changing:
        new_type = sa.LargeBinary() if to_binary else old
        default = None if nullable else sa.text("x''" if to_binary else "''")
        op.add_column(table, sa.Column(name + _NEW, new_type, nullable=nullable, server_default=default))
    # Columns whose type stays (document bytes) are written in place.
    same = {name for name, old, _ in columns if old is None}
    _update_mixed(conn, table, rows, same)
    for name, _, _ in changing:
        op.drop_column(table, name)
        op.alter_column(table, name + _NEW, new_column_name=name)


def _update_mixed(conn: sa.Connection, table: str, rows: list[dict[str, Any]], same: set[str]) -> None:
    """Write the rows' values: columns in `same` in place, the others into their swap columns (SQLite) or in
    place (same holding every column)."""
    if not rows:
        return
    columns = [name for name, *_ in SEALED[table][1]]
    key = PK.get(table, 'id')
    target_names = {c: c if c in same else c + _NEW for c in columns}
    target = sa.table(table, sa.column(key), *(sa.column(n) for n in target_names.values()))
    statement = (target.update().where(target.c[key] == sa.bindparam("b_pk"))
                 .values({n: sa.bindparam(f"b_{c}") for c, n in target_names.items()}))
    for start in range(0, len(rows), BATCH):
        conn.execute(statement, [{"b_pk": r["pk"], **{f"b_{c}": r[c] for c in columns}}
                                 for r in rows[start:start + BATCH]])


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == 'postgresql'
    master = master_keyring()
    op.create_table('index_keys',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rewrapped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_keys'))
    )
    op.create_table('person_keys',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rewrapped_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_keys_person_id_people'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_keys'))
    )
    op.create_index('ix_person_keys_master_key_id', 'person_keys', ['master_key_id'], unique=False)

    # Keys: the blind-index key, and one data key for every person already recorded.
    now = _now().replace(tzinfo=None) if not postgres else _now()
    index_key = new_key()
    wrapped, key_id = master.wrap(index_key, INDEX_KEY_LABEL)
    conn.execute(sa.text("INSERT INTO index_keys (id, wrapped_key, master_key_id, created_at) "
                         "VALUES (1, :w, :k, :t)"), {"w": wrapped, "k": key_id, "t": now})
    keys: dict[int, bytes] = {}
    key_rows = []
    for (person_id,) in conn.execute(sa.text("SELECT id FROM people")):
        keys[person_id] = new_key()
        wrapped, key_id = master.wrap(keys[person_id], person_key_label(person_id))
        key_rows.append({"p": person_id, "w": wrapped, "k": key_id, "t": now})
    for start in range(0, len(key_rows), BATCH):
        conn.execute(sa.text("INSERT INTO person_keys (person_id, wrapped_key, master_key_id, created_at) "
                             "VALUES (:p, :w, :k, :t)"), key_rows[start:start + BATCH])

    # Plain names, read before sealing, for the new name index and the Home Office reference hash.
    people_names: dict[int, list[str]] = {}
    references: dict[int, str | None] = {}
    for person_id, given, family, reference in conn.execute(sa.text(
            "SELECT person_id, given_names, family_name, home_office_reference FROM identities")):
        people_names[person_id] = [given, family]
        references[person_id] = reference
    for person_id, alias in conn.execute(sa.text("SELECT person_id, name FROM identity_aliases ORDER BY id")):
        people_names.setdefault(person_id, ["", ""]).append(alias)

    # Seal every listed column in place.
    op.drop_index('ix_identities_home_office_reference', table_name='identities')
    for table, (_, columns) in SEALED.items():
        rows = _rows(conn, table)
        for row in rows:
            for name, kind, _, _ in columns:
                if row[name] is None:
                    continue
                data = _encode(kind, row[name])
                if row["person_id"] is None:  # a revision about no person: kept unsealed (app/crypto/fields.py)
                    row[name] = b"\x00" + data
                else:
                    row[name] = seal(keys[row["person_id"]], data, f"{table}.{name}")
        _convert(conn, table, rows, to_binary=True)

    op.add_column('identities', sa.Column('home_office_reference_digest', sa.LargeBinary(length=16), nullable=True))
    op.create_index('ix_identities_home_office_reference_digest', 'identities', ['home_office_reference_digest'],
                    unique=False)
    digests = [{"pk": p, "d": names.reference_digest(index_key, r)} for p, r in references.items() if r]
    for start in range(0, len(digests), BATCH):
        conn.execute(sa.text("UPDATE identities SET home_office_reference_digest = :d WHERE person_id = :pk"),
                     digests[start:start + BATCH])

    # The name index: plain tokens and sound keys give way to keyed hashes.
    op.drop_table('person_name_tokens')
    op.create_table('person_name_tokens',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.LargeBinary(length=16), nullable=False),
    sa.Column('token_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_name_tokens_person_id_people'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'digest', name=op.f('pk_person_name_tokens'))
    )
    op.create_index('ix_person_name_tokens_digest', 'person_name_tokens', ['digest'], unique=False)
    token_rows = [row for person_id, (given, family, *aliases) in people_names.items()
                  for row in names.token_rows(index_key, person_id, given, family, aliases)]
    for start in range(0, len(token_rows), BATCH):
        conn.execute(sa.text("INSERT INTO person_name_tokens (person_id, digest, token_no) "
                             "VALUES (:person_id, :digest, :token_no)"), token_rows[start:start + BATCH])


def downgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == 'postgresql'
    master = master_keyring()
    keys = {person_id: master.unwrap(wrapped, key_id, person_key_label(person_id))
            for person_id, wrapped, key_id in conn.execute(sa.text(
                "SELECT person_id, wrapped_key, master_key_id FROM person_keys"))}

    for table, (_, columns) in SEALED.items():
        rows = _rows(conn, table)
        for row in rows:
            for name, kind, _, _ in columns:
                if row[name] is None:
                    continue
                blob = bytes(row[name])
                data = blob[1:] if row["person_id"] is None else open_sealed(keys[row["person_id"]], blob,
                                                                               f"{table}.{name}")
                # PostgreSQL converts bytes back to text in the ALTER; SQLite keeps what it is given.
                row[name] = data if postgres or kind == 'bytes' else data.decode()
        if table == 'identities':
            op.drop_index('ix_identities_home_office_reference_digest', table_name='identities')
            op.drop_column('identities', 'home_office_reference_digest')
        _convert(conn, table, rows, to_binary=False)
    op.create_index('ix_identities_home_office_reference', 'identities', ['home_office_reference'], unique=False)

    op.drop_table('person_name_tokens')
    op.create_table('person_name_tokens',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=100), nullable=False),
    sa.Column('phonetic', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Enum('given', 'family', 'alias', name='name_source', native_enum=False,
                                create_constraint=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_name_tokens_person_id_people'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'token', name=op.f('pk_person_name_tokens'))
    )
    op.create_index('ix_person_name_tokens_phonetic', 'person_name_tokens', ['phonetic'], unique=False)
    op.create_index('ix_person_name_tokens_token', 'person_name_tokens', ['token'], unique=False)
    sources: dict[int, list[tuple[str, str]]] = {}
    for person_id, given, family in conn.execute(sa.text(
            "SELECT person_id, given_names, family_name FROM identities")):
        sources[person_id] = [("given", given), ("family", family)]
    for person_id, alias in conn.execute(sa.text("SELECT person_id, name FROM identity_aliases ORDER BY id")):
        sources.setdefault(person_id, []).append(("alias", alias))
    plain_rows = []
    for person_id, texts in sources.items():
        seen: set[str] = set()
        for source, text in texts:
            for token in names.tokens(text):
                token = token[:100]
                if token not in seen:
                    seen.add(token)
                    plain_rows.append({"p": person_id, "t": token, "ph": names.phonetic(token), "s": source})
    for start in range(0, len(plain_rows), BATCH):
        conn.execute(sa.text("INSERT INTO person_name_tokens (person_id, token, phonetic, source) "
                             "VALUES (:p, :t, :ph, :s)"), plain_rows[start:start + BATCH])

    op.drop_index('ix_person_keys_master_key_id', table_name='person_keys')
    op.drop_table('person_keys')
    op.drop_table('index_keys')
