"""Making API tokens for tests: straight through the token service (the page is tested on its own)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from app.auth import tokens
from app.auth.models import User
from app.config import organisation_today


def make_token(db: Session, user: User, access: str = "read", domains: tuple[str, ...] = tokens.DOMAINS,
               days: int = 30) -> str:
    db.rollback()
    user = db.merge(user)
    created = tokens.create(db, user, name="test client", access=access, domains=list(domains),
                            expires=organisation_today() + timedelta(days=days), today=organisation_today())
    db.commit()
    return created.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
