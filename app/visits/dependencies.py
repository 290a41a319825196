"""CaseVisit: the visit named by `{visit_id}`, loaded through the person in scope (another person's visit is a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.db import DbSession
from app.errors import found
from app.people.dependencies import CaseInScope
from app.visits import service
from app.visits.models import Visit
from app.web.params import Id


def visit_in_case(request: Request, person: CaseInScope, visit_id: Id, db: DbSession) -> Visit:
    # A write locks the row (PostgreSQL), so two requests changing or signing one visit run one after the other.
    return found(service.get_for_person(db, person.id, visit_id, for_update=request.method == "POST"))


CaseVisit = Annotated[Visit, Depends(visit_in_case)]
