"""Encryption at rest: each person's data key (AES-256-GCM) wrapped by a master key from the settings, sealed
columns that the rest of the code reads and writes as plain values, and keyed hashes for name search."""

from app.crypto.primitives import DecryptionError, KeyMissing, MasterKeyring

__all__ = ["DecryptionError", "KeyMissing", "MasterKeyring"]
