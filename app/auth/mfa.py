"""Two-factor sign-in: encrypted TOTP secrets, codes accepted once each, recovery codes, the pending state
between the password and the second factor, and the enrolment QR code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from markupsafe import Markup
from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.auth import service
from app.auth.models import LoginAttempt, MfaPendingSignIn, MfaRecoveryCode, PendingStep, User
from app.config import Settings
from app.db import utcnow

log = logging.getLogger("casework.auth.mfa")

# RFC 6238 as every common authenticator app expects it: SHA-1, 6 digits, 30-second steps.
STEP_SECONDS = 30
DIGITS = 6
# One step either side allows for a phone clock a little out and for the time spent typing.
DRIFT_STEPS = 1

RECOVERY_CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand is not misread.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CODE_LENGTH = 16  # 80 random bits

PENDING_LIFETIME = timedelta(minutes=5)
# Setting up an authenticator may mean installing an app first; a new sign-in would show a new QR code.
ENROL_PENDING_LIFETIME = timedelta(minutes=15)
# Wrong codes allowed against one password entry, on top of the per-account and per-address throttles.
MAX_PENDING_ATTEMPTS = 5

# Changing these labels makes every stored secret unreadable, so they carry a version.
_SECRET_KEY_INFO = b"casework totp secret encryption v1"
_ENROLMENT_KEY_INFO = b"casework totp enrolment secret v1"


class SecretUnreadable(Exception):
    """A stored TOTP secret did not decrypt: CASEWORK_SECRET_KEY changed, or the row was tampered with."""


# --- the secret at rest ----------------------------------------------------------------------------

def _derive(settings: Settings, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(settings.secret_key.encode())


def _associated_data(user_id: int) -> bytes:
    # Binds the ciphertext to its row: a secret copied onto another account does not decrypt there.
    return f"users.mfa_secret:{user_id}".encode()


def encrypt_secret(settings: Settings, user_id: int, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_derive(settings, _SECRET_KEY_INFO)).encrypt(
        nonce, secret.encode(), _associated_data(user_id))


def decrypt_secret(settings: Settings, user_id: int, stored: bytes) -> str:
    try:
        return AESGCM(_derive(settings, _SECRET_KEY_INFO)).decrypt(
            stored[:12], stored[12:], _associated_data(user_id)).decode()
    except (InvalidTag, ValueError) as exc:
        raise SecretUnreadable(f"the TOTP secret of user {user_id} cannot be decrypted") from exc


def enrolment_secret(settings: Settings, user_id: int, binding: str) -> str:
    """The secret offered for enrolment, derived from the pending sign-in or session it is shown to.

    Deriving it rather than drawing it at random keeps GET free of writes and keeps the same QR code on a
    reload, while a new sign-in (new binding) always gets a new secret; nothing about it is stored until the
    user proves they hold it."""
    key = _derive(settings, _ENROLMENT_KEY_INFO)
    raw = hmac.new(key, f"{user_id}:{binding}".encode(), hashlib.sha256).digest()[:20]  # 160 bits, RFC 4226
    return base64.b32encode(raw).decode()


# --- codes -----------------------------------------------------------------------------------------

def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def normalise_totp(code: str) -> str | None:
    digits = re.sub(r"[\s-]", "", code)
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step within the allowed drift whose code is `code`, or None."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(at)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every step is compared, so the time taken does not say which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def normalise_recovery_code(code: str) -> str:
    cleaned = re.sub(r"[\s-]", "", code).upper()
    return cleaned.translate(str.maketrans("ILO", "110"))  # I and L read as 1, O as 0


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(settings: Settings, user: User, secret: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=settings.mfa_issuer)


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG: drawn here, so the page needs no script and makes no outside request."""
    # Without a fixed size (only a viewBox) the code shrinks to fit a phone screen; CSS caps how large it grows.
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff", svgclass="qr-code",
                                                title="QR code for your authenticator app", omitsize=True)
    return Markup(svg)  # noqa: S704 - segno's own output, from our own URI; no user text reaches it unescaped


# --- enrolment, checks and reset -------------------------------------------------------------------

def is_enrolled(user: User) -> bool:
    return user.mfa_enabled_at is not None and user.mfa_secret is not None


def second_step(settings: Settings, user: User) -> PendingStep | None:
    """What must follow a right password: a code, enrolment (when required), or nothing."""
    if is_enrolled(user):
        return PendingStep.verify
    if settings.mfa_required:
        return PendingStep.enrol
    return None


def enrol(db: Session, settings: Settings, user: User, secret: str, code: str,
          at: datetime | None = None) -> list[str] | None:
    """Turn two-factor sign-in on if `code` is current for `secret`; returns the new recovery codes."""
    digits = normalise_totp(code)
    step = matching_step(secret, digits, at or utcnow()) if digits else None
    if step is None:
        return None
    user.mfa_secret = encrypt_secret(settings, user.id, secret)
    user.mfa_enabled_at = utcnow()
    user.mfa_last_step = step  # the code that proved enrolment cannot then sign in
    return replace_recovery_codes(db, user)


def replace_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.add_all([MfaRecoveryCode(user_id=user.id, code_hash=hash_recovery_code(c)) for c in codes])
    db.flush()
    return codes


def recovery_codes_left(db: Session, user_id: int) -> int:
    return db.scalar(select(func.count()).select_from(MfaRecoveryCode).where(
        MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None))) or 0


@dataclass(frozen=True)
class CheckResult:
    method: str | None = None  # "totp" | "recovery_code" when accepted
    failure: str | None = None  # "wrong_code" | "reused_code" | "recovery_code_wrong" | "secret_unreadable"


def check_code(db: Session, settings: Settings, user: User, code: str, at: datetime | None = None) -> CheckResult:
    """Accept a current TOTP code not used before, or an unused recovery code; either is then spent."""
    digits = normalise_totp(code)
    if digits is None:
        return _spend_recovery_code(db, user, code)
    assert user.mfa_secret is not None  # noqa: S101  (type narrowing: the code above guarantees it)
    try:
        secret = decrypt_secret(settings, user.id, user.mfa_secret)
    except SecretUnreadable:
        log.error("TOTP secret unreadable user_id=%s (was CASEWORK_SECRET_KEY changed?)", user.id)
        return CheckResult(failure="secret_unreadable")
    step = matching_step(secret, digits, at or utcnow())
    if step is None:
        return CheckResult(failure="wrong_code")
    # A conditional update, so two requests racing with one code cannot both win.
    # An UPDATE gives a CursorResult, which Session.execute is typed as the plain Result of a query.
    spent = cast(CursorResult[Any], db.execute(
        update(User).where(User.id == user.id, or_(User.mfa_last_step.is_(None), User.mfa_last_step < step))
        .values(mfa_last_step=step).execution_options(synchronize_session=False)
    )).rowcount
    if spent != 1:
        return CheckResult(failure="reused_code")
    return CheckResult(method="totp")


def _spend_recovery_code(db: Session, user: User, code: str) -> CheckResult:
    if len(normalise_recovery_code(code)) != RECOVERY_CODE_LENGTH:
        return CheckResult(failure="wrong_code")
    spent = cast(CursorResult[Any], db.execute(  # a CursorResult, typed as a query's Result
        update(MfaRecoveryCode)
        .where(MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.code_hash == hash_recovery_code(code),
               MfaRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    )).rowcount
    return CheckResult(method="recovery_code") if spent == 1 else CheckResult(failure="recovery_code_wrong")


def reset(db: Session, user: User) -> int:
    """Remove the user's second factor and end their sessions, so they enrol again at their next sign-in."""
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    db.execute(delete(MfaPendingSignIn).where(MfaPendingSignIn.user_id == user.id))
    ended = service.end_all_sessions(db, user.id, reason="mfa_reset")
    db.flush()
    return ended


# --- the pending state between password and second factor -----------------------------------------

def start_pending(db: Session, user: User, step: PendingStep, next_path: str, ip_address: str | None) -> str:
    now = utcnow()
    db.execute(delete(MfaPendingSignIn).where(MfaPendingSignIn.expires_at <= now))
    token = secrets.token_urlsafe(32)
    db.add(MfaPendingSignIn(
        token_hash=service.hash_token(token), csrf_token=secrets.token_urlsafe(32), user_id=user.id, step=step,
        next_path=next_path, created_at=now,
        expires_at=now + (ENROL_PENDING_LIFETIME if step is PendingStep.enrol else PENDING_LIFETIME),
        ip_address=ip_address,
    ))
    db.flush()
    return token


def load_pending(db: Session, token: str | None) -> tuple[MfaPendingSignIn, User] | None:
    """The live pending sign-in for a cookie token; an expired one, or one for a deactivated user, is removed."""
    if not token:
        return None
    row = db.execute(
        select(MfaPendingSignIn, User).join(User, User.id == MfaPendingSignIn.user_id)
        .where(MfaPendingSignIn.token_hash == service.hash_token(token))
    ).first()
    if row is None:
        return None
    pending, user = row
    if utcnow() >= pending.expires_at or not user.is_active:
        db.delete(pending)
        db.flush()
        return None
    return pending, user


def finish_pending(db: Session, pending: MfaPendingSignIn) -> None:
    db.delete(pending)
    db.flush()


def record_failure(db: Session, pending: MfaPendingSignIn, user: User, ip_address: str) -> bool:
    """Count a wrong code against the account (the password step's throttle) and against this pending
    sign-in; True when the pending sign-in has used up its attempts and was removed."""
    db.add(LoginAttempt(email=user.email, ip_address=ip_address, succeeded=False))
    pending.failed_attempts += 1
    exhausted = pending.failed_attempts >= MAX_PENDING_ATTEMPTS
    if exhausted:
        db.delete(pending)
    db.flush()
    return exhausted
