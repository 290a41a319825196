"""Password hashing with argon2id (pwdlib) and the password rules staff accounts must meet."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 12


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


# A hash of a random string, verified against when the e-mail is unknown, so that a wrong e-mail
# takes as long as a wrong password and response times do not reveal which accounts exist.
@lru_cache
def dummy_hash() -> str:
    return hash_password("no account has this password: timing equaliser")


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    if password.strip() != password:
        return "Do not start or end the password with a space."
    return None
