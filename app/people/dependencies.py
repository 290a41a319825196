"""CaseInScope: the person named by `{reference}` in a route's path, resolved only for a user who may see them.

Every route whose path names a person declares it, so that need-to-know is declared rather than called: a
clinician sees the people assigned to them (or one opened under break-glass), coordinators and admins everyone,
researchers no one. Anything else is Refused (403, recorded) or NotFound (404); the route-table test fails on a
person-scoped route that does not declare it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.audit.deps import request_context
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.db import DbSession
from app.errors import NotFound, Refused
from app.people import emergency, service
from app.people.models import Assignment, Person
from app.web.params import Id

# A case reference as made by service.new_reference: anything else names no one, and is a 404 before any query.
Reference = Annotated[str, Path(min_length=9, max_length=9, pattern=r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")]
ViewPerson = Depends(require(Permission.view_person))


def person_in_scope(request: Request, reference: Reference, db: DbSession, user: User = ViewPerson) -> Person:
    try:
        person, access = service.find_visible(db, user, reference)
    except service.NotAllowed as refused:
        offer = None
        if has_permission(user.role, Permission.break_glass):
            # The refusal page offers break-glass, coming back to the page asked for (a GET) once it is open.
            wanted = request.url.path if request.method == "GET" else None
            offer = emergency.Offer(refused.person.reference,
                                    emergency.return_path(refused.person.reference, wanted))
        raise Refused("assigned_clinician", actor_id=user.id, emergency_offer=offer) from None
    if person is None:
        raise NotFound
    if access is not None:
        # Every request served under break-glass is recorded as such, with the reason given.
        request_context(request, db, user.id).record(
            "emergency_access.used", access, access_id=access.id, path=request.url.path)
        request.state.emergency_access = emergency.LiveAccess(access.id, access.reason, access.expires_at)
    return person


CaseInScope = Annotated[Person, Depends(person_in_scope)]


def assignment_in_case(person: CaseInScope, assignment_id: Id, db: DbSession) -> Assignment:
    assignment = db.get(Assignment, assignment_id)
    if assignment is None or assignment.person_id != person.id:
        raise NotFound
    return assignment


CaseAssignment = Annotated[Assignment, Depends(assignment_in_case)]
