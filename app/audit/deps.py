"""The Audit route dependency: audit rows written in the request's transaction, bound once to who, where and which
request, so that a route says only what happened and to what (`audit.record("visit.signed", visit)`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.audit import service
from app.audit.models import AuditEvent, Outcome
from app.auth.deps import CurrentSession, client_ip
from app.db import DbSession


def describe(obj: object) -> tuple[str, str | int, int | None]:
    """(object type, object id, person id) of a record, as the audit log names it: a person by their reference,
    anything else by its table's singular name and id, with the person it belongs to when it has one."""
    from app.people.models import Person

    if isinstance(obj, Person):
        return "person", obj.reference, obj.id
    # `object` has neither __tablename__ nor id; every mapped record passed here has both.
    kind = (getattr(type(obj), "audit_type", None)
            or _singular(type(obj).__tablename__))  # type: ignore[attr-defined]  # a model's table name
    return kind, obj.id, getattr(obj, "person_id", None)  # type: ignore[attr-defined]  # a model's id


def _singular(table: str) -> str:
    if table.endswith("ies"):
        return table[:-3] + "y"
    return table.removesuffix("s")


@dataclass
class AuditContext:
    """Who acts, from which address, in which request; `record` adds one catalogued row to the transaction."""

    db: Session
    actor_id: int | None
    ip_address: str
    correlation_id: str | None

    def record(self, action: str, obj: object = None, *, outcome: Outcome = Outcome.success,
               person: object = None, object_type: str | None = None, object_id: str | int | None = None,
               **details: Any) -> AuditEvent:
        """Records `action` about `obj` (a Person or any record; its person is found from it) or about `person`
        when the object is not a record. Details must carry the keys the catalogue requires for the action."""
        person_id = None
        if obj is not None:
            object_type, object_id, person_id = describe(obj)
        if person is not None:
            _, reference, person_id = describe(person)
            if obj is None and object_type is None:
                object_type, object_id = "person", reference
        return service.record(self.db, action, actor_id=self.actor_id, outcome=outcome, object_type=object_type,
                              object_id=object_id, person_id=person_id, ip_address=self.ip_address,
                              correlation_id=self.correlation_id, **details)


def request_context(request: Request, db: Session, actor_id: int | None) -> AuditContext:
    return AuditContext(db, actor_id, client_ip(request), getattr(request.state, "correlation_id", None))


def signed_in_audit(request: Request, db: DbSession, current: CurrentSession) -> AuditContext:
    return request_context(request, db, current[1].id)


def public_audit(request: Request, db: DbSession) -> AuditContext:
    """For routes with no session (the sign-in pages): they set `actor_id` once they learn who is acting."""
    return request_context(request, db, None)


Audit = Annotated[AuditContext, Depends(signed_in_audit)]
PublicAudit = Annotated[AuditContext, Depends(public_audit)]
