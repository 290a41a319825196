"""CaseHealthEvent: the health event named by `{event_id}`, loaded through the person in scope (another's is a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.db import DbSession
from app.errors import found
from app.health_events import service
from app.health_events.models import HealthEvent
from app.people.dependencies import CaseInScope
from app.web.params import Id


def event_in_case(request: Request, person: CaseInScope, event_id: Id, db: DbSession) -> HealthEvent:
    # A write locks the row (PostgreSQL), so two requests recording the end of one event run one after the other
    # and the second is told it has already ended.
    return found(service.get_for_person(db, person.id, event_id, for_update=request.method == "POST"))


CaseHealthEvent = Annotated[HealthEvent, Depends(event_in_case)]
