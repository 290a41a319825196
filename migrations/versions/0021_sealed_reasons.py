"""Break-glass reasons and review notes, and legal-hold reasons, are sealed with the person's data key like the
other free text; the values already stored are sealed here (and opened again by the downgrade).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 11:00:00

Like 0009 and 0019, this needs the master key the application is configured with (CASEWORK_MASTER_KEY or
CASEWORK_MASTER_KEY_FILE; development and tests derive one from the secret key).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> [(column, nullable)]
SEALED: dict[str, list[tuple[str, bool]]] = {
    'emergency_access_grants': [('reason', False), ('review_note', True)],
    'legal_holds': [('reason', False)],
}
_NEW = "__swap"
BATCH = 2000


class _Keys:
    """People's data keys, opened once each."""

    def __init__(self, conn: sa.Connection) -> None:
        from app.crypto.keyring import master_keyring

        self.conn = conn
        self.master = master_keyring()
        self.keys: dict[int, bytes] = {}

    def __call__(self, person_id: int) -> bytes:
        from app.crypto.keyring import person_key_label

        if person_id not in self.keys:
            wrapped, key_id = self.conn.execute(sa.text(
                "SELECT wrapped_key, master_key_id FROM person_keys WHERE person_id = :p"), {"p": person_id}).one()
            self.keys[person_id] = self.master.unwrap(wrapped, key_id, person_key_label(person_id))
        return self.keys[person_id]


def _values(conn: sa.Connection, table: str, *, sealing: bool) -> list[dict[str, Any]]:
    """Every row's values in their new form: sealed (upgrade) or opened back to text (downgrade)."""
    from app.crypto.fields import open_value, seal_value

    keys = _Keys(conn)
    names = [name for name, _ in SEALED[table]]
    rows = conn.execute(sa.text(f"SELECT id, person_id, {', '.join(names)} FROM {table}")).all()  # noqa: S608  (names are this module's constants)
    out = []
    for row in rows:
        values: dict[str, Any] = {"b_pk": row.id}
        for name in names:
            value = getattr(row, name)
            where = f"{table}.{name}"
            if value is None:
                values[f"b_{name}"] = None
            elif sealing:
                values[f"b_{name}"] = seal_value(keys(row.person_id), "text", value, where)
            else:
                values[f"b_{name}"] = open_value(keys(row.person_id), "text", bytes(value), where)
        out.append(values)
    return out


def _write(conn: sa.Connection, table: str, rows: list[dict[str, Any]], suffix: str, *, binary: bool) -> None:
    if not rows:
        return
    names = [name for name, _ in SEALED[table]]
    kind = sa.LargeBinary() if binary else sa.Text()
    target = sa.table(table, sa.column('id', sa.Integer()), *(sa.column(n + suffix, kind) for n in names))
    statement = (target.update().where(target.c.id == sa.bindparam("b_pk"))
                 .values({n + suffix: sa.bindparam(f"b_{n}") for n in names}))
    for start in range(0, len(rows), BATCH):
        conn.execute(statement, rows[start:start + BATCH])


def _convert(table: str, *, to_binary: bool) -> None:
    conn = op.get_bind()
    rows = _values(conn, table, sealing=to_binary)
    old, new = (sa.Text(), sa.LargeBinary()) if to_binary else (sa.LargeBinary(), sa.Text())
    if conn.dialect.name == 'postgresql':
        if to_binary:
            for name, nullable in SEALED[table]:
                op.alter_column(table, name, type_=new, existing_type=old, existing_nullable=nullable,
                                postgresql_using=f"convert_to(\"{name}\", 'UTF8')")
            _write(conn, table, rows, "", binary=True)
        else:
            # The plain text goes in as its UTF-8 bytes first, so that the type change can read it back.
            _write(conn, table, [{k: v.encode() if isinstance(v, str) else v for k, v in r.items()} for r in rows],
                   "", binary=True)
            for name, nullable in SEALED[table]:
                op.alter_column(table, name, type_=new, existing_type=old, existing_nullable=nullable,
                                postgresql_using=f"convert_from(\"{name}\", 'UTF8')")
        return
    # SQLite changes a column's type only by rebuilding the table, which would drop it and, with foreign keys on,
    # everything that hangs off it; so the column is swapped: a new one added, filled, the old one dropped, the
    # new one renamed (as in 0009).
    for name, nullable in SEALED[table]:
        default = None if nullable else sa.text("x''" if to_binary else "''")
        op.add_column(table, sa.Column(name + _NEW, new, nullable=nullable, server_default=default))
    _write(conn, table, rows, _NEW, binary=to_binary)
    for name, _ in SEALED[table]:
        op.drop_column(table, name)
        op.alter_column(table, name + _NEW, new_column_name=name)


def upgrade() -> None:
    for table in SEALED:
        _convert(table, to_binary=True)


def downgrade() -> None:
    for table in SEALED:
        _convert(table, to_binary=False)
