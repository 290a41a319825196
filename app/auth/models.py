"""Tables for staff accounts, their server-side sessions and sign-in attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, str_enum, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    clinician = "clinician"
    researcher = "researcher"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ReminderChoice(enum.StrEnum):
    """Which reminder e-mails a user gets (app/work/reminders.py)."""

    digest = "digest"  # one message a day of what is due, overdue or urgent
    immediate = "immediate"  # the daily digest, and a message as soon as something urgent happens
    none = "none"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Two-factor sign-in (app/auth/mfa.py): the TOTP secret only as AES-GCM ciphertext, set once enrolment is
    # confirmed, and the last time step accepted, so that no code is ever accepted twice.
    mfa_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    mfa_enabled_at: Mapped[datetime | None]
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)
    reminders: Mapped[ReminderChoice] = mapped_column(str_enum(ReminderChoice, "reminder_choice"),
                                                      default=ReminderChoice.digest,
                                                      server_default=ReminderChoice.digest.value)

    sessions: Mapped[list[UserSession]] = relationship(back_populates="user", lazy="raise")


class UserSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie token is stored, so a database leak yields no
    usable session."""

    __tablename__ = "user_sessions"
    audit_type = "session"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expiry_after_creation"),
        Index("ix_user_sessions_user_id_ended_at", "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(30))
    ip_address: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship(back_populates="sessions", lazy="raise")


class LoginAttempt(Base):
    """Every sign-in attempt, counted per account and per address for throttling across app processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        Index("ix_login_attempts_ip_address_attempted_at", "ip_address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip_address: Mapped[str] = mapped_column(String(45))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool]


class MfaRecoveryCode(Base):
    """A one-time recovery code. Only its SHA-256 is stored: the code carries 80 random bits, so a slow hash
    would add nothing against guessing and would make every sign-in check ten argon2 hashes."""

    __tablename__ = "mfa_recovery_codes"
    __table_args__ = (Index("ix_mfa_recovery_codes_user_id_code_hash", "user_id", "code_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class PendingStep(enum.StrEnum):
    verify = "verify"  # enrolled: enter a code
    enrol = "enrol"  # two-factor sign-in is required and not yet set up


class MfaPendingSignIn(Base):
    """A browser whose password was right but whose second factor is still to come. It is not a session:
    its cookie opens only the second-factor pages, and only the SHA-256 of that cookie is stored."""

    __tablename__ = "mfa_pending_sign_ins"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expiry_after_creation"),
        Index("ix_mfa_pending_sign_ins_expires_at", "expires_at"),
        Index("ix_mfa_pending_sign_ins_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    step: Mapped[PendingStep] = mapped_column(str_enum(PendingStep, "pending_step"))
    next_path: Mapped[str] = mapped_column(String(2000), default="/")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    ip_address: Mapped[str | None] = mapped_column(String(45))
