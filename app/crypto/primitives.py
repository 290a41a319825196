"""AES-256-GCM sealing and the master keyring.

A sealed value is: one version byte (1), a 12-byte random nonce, then the AES-GCM ciphertext and its 16-byte
tag. The associated data names where the value belongs ("identities.given_names"), so a value copied into
another column, or under another person's key, does not open. Every failure raises DecryptionError; nothing
in the application catches it to show a blank instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class DecryptionError(Exception):
    """A sealed value did not open: wrong key, tampered bytes, or a value moved from another field or person."""


class KeyMissing(DecryptionError):
    """The key a value needs is not there (a person's key erased, or a master key no longer configured)."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


@lru_cache(maxsize=4096)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, where: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return bytes([VERSION]) + nonce + _aead(key).encrypt(nonce, plaintext, where.encode())


def open_sealed(key: bytes, blob: bytes, where: str) -> bytes:
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != VERSION:
        raise DecryptionError(f"{where}: not a sealed value of a known version")
    try:
        return _aead(key).decrypt(blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:], where.encode())
    except InvalidTag:
        raise DecryptionError(f"{where}: the value does not open with its key (tampered, moved, or the wrong key)"
                              ) from None


def keyed_hash(key: bytes, text: str, length: int = 16) -> bytes:
    """HMAC-SHA256, truncated: the blind index values name search looks up."""
    return hmac.new(key, text.encode(), hashlib.sha256).digest()[:length]


@dataclass(frozen=True)
class MasterKeyring:
    """The configured master keys: the first one wraps new keys, all of them unwrap."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise KeyMissing(f"master key {key_id!r} is not configured (CASEWORK_MASTER_KEY)")

    def wrap(self, data_key: bytes, where: str) -> tuple[bytes, str]:
        return seal(self.keys[0][1], data_key, where), self.current_id

    def unwrap(self, wrapped: bytes, key_id: str, where: str) -> bytes:
        return open_sealed(self.key(key_id), wrapped, where)


def parse_master_keys(text: str) -> MasterKeyring:
    """Entries "id:base64key" (or a bare base64 key, named by its fingerprint), separated by commas, spaces or
    new lines; '#' starts a comment in a key file."""
    keys: list[tuple[str, bytes]] = []
    for line in text.splitlines():
        for entry in re.split(r"[,\s]+", line.split("#", 1)[0].strip()):
            if not entry:
                continue
            key_id, _, encoded = entry.rpartition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise ValueError("a master key is not valid base64") from None
            if len(key) != KEY_BYTES:
                raise ValueError(f"a master key must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
            key_id = key_id or hashlib.sha256(key).hexdigest()[:8]
            if not _KEY_ID.match(key_id):
                raise ValueError("a master key id may hold only letters, digits, '.', '_' and '-' (32 at most)")
            if any(kid == key_id for kid, _ in keys):
                raise ValueError(f"master key id {key_id!r} is given twice")
            keys.append((key_id, key))
    if not keys:
        raise ValueError("no master key configured")
    return MasterKeyring(tuple(keys))


def generate_master_key_entry(key_id: str) -> str:
    if not _KEY_ID.match(key_id):
        raise ValueError("a master key id may hold only letters, digits, '.', '_' and '-' (32 at most)")
    return f"{key_id}:{base64.b64encode(new_key()).decode()}"
