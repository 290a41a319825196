"""The keys in use: the master keyring from the settings, a per-session cache of people's data keys, and the
process-wide blind-index key.

A session opens each person's key at most once, and loads the keys of many people in one statement: when one
is missing it also fetches every other person whose sealed rows are already loaded in the session (a list page
of 50 people costs one key query, not 50).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, cast

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from app.config import Settings, get_settings
from app.crypto import registry
from app.crypto.models import IndexKey, PersonKey
from app.crypto.primitives import KEY_BYTES, KeyMissing, MasterKeyring, new_key, parse_master_keys
from app.db import utcnow


def _derived_development_key(settings: Settings) -> MasterKeyring:
    """Development and tests only (production refuses to start without a master key): one key derived from the
    secret key, so the demo runs without configuration."""
    key = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=b"casework master key").derive(
        settings.secret_key.encode())
    return MasterKeyring((("dev", key),))


_rings: dict[str, MasterKeyring] = {}


def master_keyring(settings: Settings | None = None) -> MasterKeyring:
    settings = settings or get_settings()
    text = settings.master_key_text
    cache_key = text or "derived:" + hashlib.sha256(settings.secret_key.encode()).hexdigest()
    ring = _rings.get(cache_key)
    if ring is None:
        ring = parse_master_keys(text) if text else _derived_development_key(settings)
        _rings.clear()
        _rings[cache_key] = ring
    return ring


_INFO_KEY = "casework_keyring"
_CHUNK = 500
INDEX_KEY_ID = 1


def person_key_label(person_id: int) -> str:
    """Associated data of a wrapped data key: a wrapped key moved to another person's row does not open."""
    return f"person_keys.{person_id}"


INDEX_KEY_LABEL = "index_keys.1"


class SessionKeyring:
    def __init__(self, session: Session, master: MasterKeyring) -> None:
        self.session = session
        self.master = master
        self.keys: dict[int, bytes] = {}
        self.request_keys: dict[str, bytes] = {}
        # Wrapped keys a query already fetched, opened only when one of their values is read: a page that reads
        # a hundred rows to show ten opens ten.
        self.wrapped: dict[int, tuple[bytes, str]] = {}

    def remember_wrapped(self, person_id: int, wrapped: bytes | None, master_key_id: str | None) -> None:
        """Keep a wrapped key that a query already fetched (e.g. joined onto a list page's rows)."""
        if person_id in self.keys or person_id in self.wrapped:
            return
        if wrapped is None or master_key_id is None:
            raise KeyMissing(f"person {person_id} has no data key (erased?)")
        self.wrapped[person_id] = (wrapped, master_key_id)

    def _open_fetched(self, person_id: int) -> bool:
        fetched = self.wrapped.pop(person_id, None)
        if fetched is None:
            return False
        self.keys[person_id] = self.master.unwrap(fetched[0], fetched[1], person_key_label(person_id))
        return True

    def load(self, person_ids: Iterable[int]) -> None:
        missing = sorted({p for p in person_ids if p is not None and p not in self.keys and p not in self.wrapped})
        with self.session.no_autoflush:
            for start in range(0, len(missing), _CHUNK):
                chunk = missing[start:start + _CHUNK]
                for person_id, wrapped, key_id in self.session.execute(
                        select(PersonKey.person_id, PersonKey.wrapped_key, PersonKey.master_key_id)
                        .where(PersonKey.person_id.in_(chunk))):
                    self.keys[person_id] = self.master.unwrap(wrapped, key_id, person_key_label(person_id))

    def key(self, person_id: int) -> bytes:
        """The data key for reading a person's values."""
        if person_id not in self.keys and not self._open_fetched(person_id):
            self.load([person_id, *self._loaded_people()])
        try:
            return self.keys[person_id]
        except KeyError:
            raise KeyMissing(f"person {person_id} has no data key: their sealed data cannot be read") from None

    def key_for_write(self, person_id: int) -> bytes:
        """The data key for sealing a person's values; a person who has none yet gets one here."""
        if person_id not in self.keys and not self._open_fetched(person_id):
            self.load([person_id])
        if person_id not in self.keys:
            key = new_key()
            wrapped, key_id = self.master.wrap(key, person_key_label(person_id))
            self.session.add(PersonKey(person_id=person_id, wrapped_key=wrapped, master_key_id=key_id,
                                       created_at=utcnow()))
            self.keys[person_id] = key
        return self.keys[person_id]

    def _loaded_people(self) -> set[int]:
        """People whose sealed rows sit in the session's identity map (read-ahead for the key query)."""
        classes = registry.sealed_classes()
        people: set[int] = set()
        for obj in list(self.session.identity_map.values()):
            if type(obj) in classes and not hasattr(type(obj), "__sealed_key__"):
                person_id = obj.__dict__.get("person_id")
                if person_id is not None and person_id not in self.keys and person_id not in self.wrapped:
                    people.add(person_id)
        return people


def request_key_label(reference: str) -> str:
    """Associated data of a request's wrapped key (app/intake): it opens on that request's row only."""
    return f"requests.{reference}"


def request_key(session: Session, request: Any, write: bool) -> bytes:
    """The data key of a request for help, kept wrapped on its own row: a request that never becomes a case has
    no person key to borrow. A new request gets its key when its details are first sealed."""
    ring = session_keyring(session)
    key = ring.request_keys.get(request.reference)
    if key is not None:
        return key
    if request.wrapped_key is None:
        if not write:
            raise KeyMissing(f"request {request.reference} has no data key")
        key = new_key()
        request.wrapped_key, request.master_key_id = ring.master.wrap(key, request_key_label(request.reference))
    else:
        key = ring.master.unwrap(request.wrapped_key, request.master_key_id, request_key_label(request.reference))
    ring.request_keys[request.reference] = key
    return key


def session_keyring(session: Session) -> SessionKeyring:
    ring = session.info.get(_INFO_KEY)
    master = master_keyring()
    if ring is None or ring.master is not master:
        ring = SessionKeyring(session, master)
        session.info[_INFO_KEY] = ring
    return ring


# --- the blind-index key -------------------------------------------------------------------------------------

# Opened once per database and process. The key itself never changes (rotation re-wraps it), so this never
# goes stale; forget_index_keys() is for tests that switch master keys.
_index_keys: dict[str, bytes] = {}


def _database_of(connection: Any) -> str:
    return connection.engine.url.render_as_string(hide_password=True)


def index_key(session: Session) -> bytes:
    connection = session.connection()
    return index_key_for_connection(connection)


def index_key_for_connection(connection: Any) -> bytes:
    database = _database_of(connection)
    key = _index_keys.get(database)
    if key is not None:
        return key
    table = cast(Table, IndexKey.__table__)  # a declarative model's table, which SQLAlchemy types as FromClause
    master = master_keyring()
    row = connection.execute(select(table.c.wrapped_key, table.c.master_key_id)
                             .where(table.c.id == INDEX_KEY_ID)).first()
    if row is None:
        key = new_key()
        wrapped, key_id = master.wrap(key, INDEX_KEY_LABEL)
        connection.execute(table.insert().values(id=INDEX_KEY_ID, wrapped_key=wrapped, master_key_id=key_id,
                                                 created_at=utcnow()))
        # Not cached until committed: if this transaction rolls back, the next caller makes the key again.
        return key
    else:
        key = master.unwrap(row.wrapped_key, row.master_key_id, INDEX_KEY_LABEL)
    _index_keys[database] = key
    return key


def forget_index_keys() -> None:
    _index_keys.clear()
