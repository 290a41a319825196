"""Who calls the API: the bearer token, its scopes, and the role permission each route needs. Cookies are never
read here, so no browser session (and no cross-site request riding on one) can reach the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from app.api.problems import Problem
from app.audit.deps import AuditContext, request_context
from app.auth import tokens
from app.auth.deps import session_cookie_name
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings
from app.db import DbSession
from app.errors import Refused
from app.people.dependencies import Reference, person_in_scope
from app.people.models import Person

UNAUTHENTICATED = {
    "missing": "Send the token in an Authorization: Bearer header.",
    "cookie_only": "The API does not accept a browser session: send an API token in an Authorization header.",
    "malformed": "The Authorization header does not hold an API token.",
    "unknown": "This token is not known.",
    "revoked": "This token has been revoked.",
    "expired": "This token has expired.",
    "user_inactive": "The account this token belongs to is not active.",
    "mfa_required": "Two-factor sign-in is required: set it up on the pages before using a token.",
}


@dataclass
class Caller:
    """The user a live token acts for, the token, and the audit context bound to them."""

    user: User
    token: tokens.ApiToken
    audit: AuditContext


def _refuse(reason: str, actor_id: int | None = None, token_id: int | None = None) -> Problem:
    return Problem(401, UNAUTHENTICATED[reason], kind="unauthenticated", headers={"WWW-Authenticate": "Bearer"},
                   audit_action="api.refused", actor_id=actor_id, reason=reason, token_id=token_id)


def token_caller(request: Request, db: DbSession) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise _refuse("cookie_only" if session_cookie_name() in request.cookies else "missing")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _refuse("malformed")
    found = tokens.look_up(db, secret.strip())
    if found.problem is not None:
        raise _refuse(found.problem, found.user.id if found.user else None,
                      found.token.id if found.token else None)
    assert found.user is not None and found.token is not None  # noqa: S101  (type narrowing: look_up guarantees it)
    if get_settings().mfa_required and found.user.mfa_enabled_at is None:
        # As a session begun before two-factor sign-in was required ends, a token does not carry on without it.
        raise _refuse("mfa_required", found.user.id, found.token.id)
    request.state.api_token_id = found.token.id
    return Caller(found.user, found.token, request_context(request, db, found.user.id))


TokenCaller = Annotated[Caller, Depends(token_caller)]


def scoped(domain: str, access: str, permission: Permission) -> Callable[..., Caller]:
    """Route dependency: a live token whose scopes reach `domain` with `access` ("read" or "write"), held by a
    user whose role grants `permission`, exactly as the pages require it."""

    def dependency(request: Request, caller: TokenCaller) -> Caller:
        if not caller.token.allows(domain, access):
            raise Problem(403, f"This token does not allow {access} access to {domain}.", kind="scope",
                          audit_action="api.refused", actor_id=caller.user.id, reason="scope",
                          token_id=caller.token.id, scope=f"{access}:{domain}", path=request.url.path)
        if not has_permission(caller.user.role, permission):
            raise Refused(permission.value, actor_id=caller.user.id)
        return caller

    dependency.required_permission = permission  # type: ignore[attr-defined]  # read by the route tests
    dependency.required_scope = f"{access}:{domain}"  # type: ignore[attr-defined]  # read by the route tests
    return dependency


def any_token(caller: TokenCaller) -> Caller:
    """Route dependency: any live token (every role holds view_home); for the answer to an unknown address."""
    return caller


any_token.required_permission = Permission.view_home  # type: ignore[attr-defined]  # read by the route tests
any_token.required_scope = "any"  # type: ignore[attr-defined]  # read by the route tests


def person_for(caller: Caller, request: Request, db: Session, reference: str) -> Person:
    """The person named in the path, for a caller who may see them: the very check CaseInScope makes (a
    clinician sees their own people, or one opened under break-glass), refused and recorded the same way."""
    if not has_permission(caller.user.role, Permission.view_person):
        raise Refused(Permission.view_person.value, actor_id=caller.user.id)
    return person_in_scope(request, reference, db, caller.user)


def api_person(request: Request, reference: Reference, db: DbSession, caller: TokenCaller) -> Person:
    return person_for(caller, request, db, reference)


ApiCaseInScope = Annotated[Person, Depends(api_person)]


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(limit: Annotated[int, Query(ge=1, le=100, description="How many items, 1 to 100")] = 50,
                offset: Annotated[int, Query(ge=0, le=1_000_000, description="How many to skip")] = 0) -> PageParams:
    return PageParams(limit, offset)


Paging = Annotated[PageParams, Depends(page_params)]
