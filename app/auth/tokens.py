"""Personal API tokens: made by a user for their own account, shown once, kept only as a SHA-256 with a short
prefix for display, limited by an expiry and by scopes (read or write, per domain), and revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.auth.models import User
from app.db import Base, utcnow
from app.errors import RuleBroken

# The records an API token can reach; each is read or written as the same pages allow.
DOMAINS = ("people", "detention", "visits", "referrals", "requests", "tasks", "notes")
DOMAIN_LABELS = {
    "people": "People (case facts and the list you may see)",
    "detention": "Detention episodes and placements",
    "visits": "Visits",
    "referrals": "Referrals",
    "requests": "Requests for help",
    "tasks": "Your tasks",
    "notes": "Case notes",
}
ACCESS_LABELS = {"read": "Read only", "write": "Read and write"}
# What can be written today through the API; a write token for another domain reads it only.
WRITABLE = frozenset({"visits", "notes"})
PREFIX = "ct_"
SECRET_BYTES = 32
DISPLAY_LENGTH = 10  # "ct_" and the first 7 characters of the secret: enough to tell tokens apart
LONGEST = timedelta(days=366)
NAME_LIMIT = 80


class ApiToken(Base):
    """A personal API token. The secret itself is never stored: only its SHA-256, so a copy of the database
    gives no working token."""

    __tablename__ = "api_tokens"
    audit_type = "api_token"
    __table_args__ = (
        CheckConstraint("access IN ('read', 'write')", name="access_known"),
        Index("ix_api_tokens_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_LIMIT))
    prefix: Mapped[str] = mapped_column(String(DISPLAY_LENGTH))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    access: Mapped[str] = mapped_column(String(5))
    # The domains, space-separated, from DOMAINS.
    domains: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def domain_list(self) -> list[str]:
        return self.domains.split()

    def allows(self, domain: str, access: str) -> bool:
        return domain in self.domain_list and (access == "read" or self.access == "write")

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Created:
    token: ApiToken
    secret: str  # shown to the user once, never stored


def create(db: Session, user: User, *, name: str, access: str, domains: list[str], expires: date | None,
           today: date) -> Created:
    """A new token for `user`, valid to the end of `expires` (at most a year from today)."""
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Enter a name that says what the token is for."
    elif len(name) > NAME_LIMIT:
        errors["name"] = f"The name must be {NAME_LIMIT} characters or fewer."
    if access not in ACCESS_LABELS:
        errors["access"] = "Choose read only, or read and write."
    chosen = [d for d in DOMAINS if d in set(domains)]
    if not chosen or len(set(domains) - set(DOMAINS)) > 0:
        errors["domains"] = "Choose at least one kind of record the token may reach."
    if expires is None:
        errors["expires"] = "Enter the date the token stops working."
    elif expires <= today:
        errors["expires"] = "The expiry date must be in the future."
    elif expires > today + timedelta(days=365):
        errors["expires"] = "The expiry date must be within a year from today."
    if errors:
        raise RuleBroken(errors)
    assert expires is not None  # noqa: S101  (type narrowing: checked above)
    secret = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:DISPLAY_LENGTH], token_sha256=digest(secret),
                     access=access, domains=" ".join(chosen),
                     expires_at=datetime.combine(expires + timedelta(days=1), time.min, tzinfo=utcnow().tzinfo))
    db.add(token)
    db.flush()
    return Created(token, secret)


def of_user(db: Session, user_id: int) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                           .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                     ApiToken.id.desc())))


def get_own(db: Session, user_id: int, token_id: int) -> ApiToken | None:
    token = db.get(ApiToken, token_id)
    return token if token is not None and token.user_id == user_id else None


def revoke(db: Session, token: ApiToken, now: datetime | None = None) -> bool:
    """Whether it was live until now (a second revoke changes nothing)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now or utcnow()
    db.flush()
    return True


@dataclass(frozen=True)
class Lookup:
    token: ApiToken | None
    user: User | None
    problem: str | None  # None, or the reason code the refusal is recorded with


def look_up(db: Session, secret: str, now: datetime | None = None) -> Lookup:
    """The token a bearer secret names and its user, or why it does not work. Only the digest is looked up,
    so nothing here compares secrets."""
    now = now or utcnow()
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return Lookup(None, None, "malformed")
    token = db.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(secret)))
    if token is None:
        return Lookup(None, None, "unknown")
    user = db.get(User, token.user_id)
    if token.revoked_at is not None:
        return Lookup(token, user, "revoked")
    if token.expires_at <= now:
        return Lookup(token, user, "expired")
    if user is None or not user.is_active:
        return Lookup(token, user, "user_inactive")
    # Written at most once a minute, so a busy client does not update the row on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return Lookup(token, user, None)
