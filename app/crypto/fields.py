"""Sealed columns that the rest of the code reads and writes as plain values.

A model declares the stored column (bytes) and, beside it, a SealedField under the name the code uses:

    given_names_sealed: Mapped[bytes] = mapped_column("given_names", LargeBinary)
    given_names = SealedField("given_names_sealed", "identities.given_names")

Writing `identity.given_names = "Ana"` keeps the plain value on the object until the session flushes; the
before_flush hook below then seals it with the person's data key. Reading opens the stored bytes with the key
from the session's keyring (app/crypto/keyring.py) and remembers the result. Queries that select the stored
column directly get bytes and must open them with `open_value`.

A row that belongs to no person yet (a request for help) declares `__sealed_key__(obj, session, write)` and is
sealed with a key of its own instead.

Chosen over a column type (TypeDecorator) because opening needs the row's person, which a column type never
sees, and because the keys of a whole page of rows can then be fetched in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from app.crypto import registry
from app.crypto.keyring import session_keyring
from app.crypto.primitives import DecryptionError, open_sealed, seal

# The column value while a plain value waits for the flush to seal it. Never reaches the database.
_PENDING = b"\x00awaiting-seal"
# A JSON value stored unsealed because its row belongs to no person (a revision of a user account, say).
_PLAIN_JSON = 0


def encode(kind: str, value: Any) -> bytes:
    if kind == "text":
        return str(value).encode()
    if kind == "json":
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    return bytes(value)


def decode(kind: str, data: bytes) -> Any:
    if kind == "text":
        return data.decode()
    if kind == "json":
        return json.loads(data)
    return data


def unsealed_json(value: Any) -> bytes:
    """How a person_optional JSON field stores its value on a row that belongs to no person."""
    return bytes([_PLAIN_JSON]) + encode("json", value)


def seal_value(key: bytes, kind: str, value: Any, where: str) -> bytes:
    return seal(key, encode(kind, value), where)


def open_value(key: bytes, kind: str, blob: bytes | None, where: str) -> Any:
    if blob is None:
        return None
    return decode(kind, open_sealed(key, blob, where))


class SealedField:
    """The plain view of a sealed column (see the module docstring)."""

    def __init__(self, column_attr: str, where: str, kind: str = "text", *, person_optional: bool = False) -> None:
        self.column_attr = column_attr
        self.where = where  # "table.column": the associated data every sealed value of this field carries
        self.kind = kind
        self.person_optional = person_optional  # rows without a person keep the value unsealed (JSON only)
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        registry.register(owner, self)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        pending = obj.__dict__.get("_sealed_pending")
        if pending and self.name in pending:
            return pending[self.name]
        blob = getattr(obj, self.column_attr)
        if blob is None:
            return None
        opened = obj.__dict__.setdefault("_sealed_opened", {})
        hit = opened.get(self.name)
        if hit is not None and hit[0] == blob:
            return hit[1]
        value = self._open(obj, bytes(blob))
        opened[self.name] = (blob, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        pending = obj.__dict__.setdefault("_sealed_pending", {})
        if value is None:
            pending.pop(self.name, None)
            setattr(obj, self.column_attr, None)
            return
        hit = obj.__dict__.get("_sealed_opened", {}).get(self.name)
        if (self.name not in pending and hit is not None and hit[0] == obj.__dict__.get(self.column_attr)
                and hit[1] == value):
            return  # unchanged: no new ciphertext, no UPDATE
        pending[self.name] = value
        setattr(obj, self.column_attr, _PENDING)

    def _open(self, obj: Any, blob: bytes) -> Any:
        session = object_session(obj)
        if session is None:
            raise DecryptionError(f"{self.where}: a sealed value read outside a database session")
        own_key = getattr(type(obj), "__sealed_key__", None)
        if own_key is not None:
            return open_value(own_key(obj, session, False), self.kind, blob, self.where)
        person_id = person_of(obj, session)
        if person_id is None:
            if self.person_optional and blob[:1] == bytes([_PLAIN_JSON]):
                return decode(self.kind, blob[1:])
            raise DecryptionError(f"{self.where}: a sealed value with no person to open it")
        return open_value(session_keyring(session).key(person_id), self.kind, blob, self.where)

    def seal_pending(self, obj: Any, session: Session, person_id: int | None) -> None:
        value = obj.__dict__["_sealed_pending"].pop(self.name)
        own_key = getattr(type(obj), "__sealed_key__", None)
        if own_key is not None:
            blob = seal_value(own_key(obj, session, True), self.kind, value, self.where)
        elif person_id is None:
            if not self.person_optional:
                raise DecryptionError(f"{self.where}: cannot seal a value whose row has no person yet")
            blob = unsealed_json(value)
        else:
            blob = seal_value(session_keyring(session).key_for_write(person_id), self.kind, value, self.where)
        setattr(obj, self.column_attr, blob)
        obj.__dict__.setdefault("_sealed_opened", {})[self.name] = (blob, value)


def forget(db: Session, obj: Any, name: str) -> None:
    """Let go of a sealed value and its opened copy (a large document, once it has been sent on)."""
    field = next(f for f in sealed_fields(type(obj)) if f.name == name)
    obj.__dict__.get("_sealed_opened", {}).pop(name, None)
    db.expire(obj, [field.column_attr])


def sealed_fields(cls: type) -> list[SealedField]:
    return registry.fields_of(cls)


def person_of(obj: Any, session: Session) -> int | None:
    """The person whose key seals this row: its person_id, or its parent's for rows keyed by a parent."""
    resolver: Callable[[Any, Session], int | None] | None = getattr(type(obj), "__sealed_person__", None)
    if resolver is not None:
        return resolver(obj, session)
    return obj.person_id


@event.listens_for(Session, "before_flush")
def _seal_pending_values(session: Session, _context: Any, _instances: Any) -> None:
    waiting = [obj for obj in [*session.new, *session.dirty] if obj.__dict__.get("_sealed_pending")]
    if not waiting:
        return
    with session.no_autoflush:
        # A row with a key of its own (a request for help) needs no person's.
        people = {id(obj): None if hasattr(type(obj), "__sealed_key__") else person_of(obj, session)
                  for obj in waiting}
        ring = session_keyring(session)
        ring.load(p for p in people.values() if p is not None)
        for obj in waiting:
            for field in sealed_fields(type(obj)):
                if field.name in obj.__dict__["_sealed_pending"]:
                    field.seal_pending(obj, session, people[id(obj)])
