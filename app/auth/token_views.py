"""The account page for personal API tokens: make one (its secret shown once), see each with when it was last
used, and revoke one."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth import tokens
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import organisation_today
from app.dates import typed_date
from app.db import DbSession, utcnow
from app.errors import found
from app.web.forms import Posted, shown_on
from app.web.params import Id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/account/tokens")
# Every role may make tokens for itself; what a token reaches is still limited by the role.
OwnAccount = Depends(require(Permission.view_home))
PATH = "/account/tokens"


class TokenForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", title="Name", max_length=tokens.NAME_LIMIT)
    access: str | None = Field(default=None, title="Access")
    domains: list[str] = Field(default_factory=list, title="Records the token may reach")
    expires: date | None = Field(default=None, title="Expiry date")

    @field_validator("expires", mode="before")
    @classmethod
    def _typed(cls, value: object) -> object:
        return typed_date(value) if value not in ("", None) else None


class RevokeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _context(db: DbSession, user: User) -> dict[str, Any]:
    return {
        "tokens": tokens.of_user(db, user.id), "now": utcnow(), "values": {"access": "read"}, "errors": {},
        "access_options": list(tokens.ACCESS_LABELS.items()),
        "domain_options": [(d, tokens.DOMAIN_LABELS[d]) for d in tokens.DOMAINS],
        "created": None, "today": organisation_today(),
    }


@router.get("")
def tokens_page(request: Request, db: DbSession, user: User = OwnAccount) -> Response:
    return render(request, "auth/tokens.html", _context(db, user))


@router.post("")
def token_create(request: Request, db: DbSession, audit: Audit, user: User = OwnAccount,
                 data: TokenForm = Posted(TokenForm, lists=frozenset({"domains"}))) -> Response:
    created = tokens.create(db, user, name=data.name, access=data.access or "", domains=data.domains,
                            expires=data.expires, today=organisation_today())
    audit.record("api.token_created", created.token, token_id=created.token.id, access=created.token.access,
                 domains=created.token.domain_list)
    # Shown in this response only: the secret is never stored, so it cannot be shown again.
    context = _context(db, user) | {"created": created}
    response = render(request, "auth/tokens.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/{token_id}/revoke")
@shown_on(PATH)
def token_revoke(token_id: Id, db: DbSession, audit: Audit, user: User = OwnAccount,
                 _data: RevokeForm = Posted(RevokeForm)) -> Response:
    token = found(tokens.get_own(db, user.id, token_id))
    if not tokens.revoke(db, token):
        return done(PATH, f"The token \u201c{token.name}\u201d was already revoked.", kind="info")
    audit.record("api.token_revoked", token, token_id=token.id)
    return done(PATH, f"The token \u201c{token.name}\u201d is revoked: it no longer works.")
