"""Detention records named in a path: an episode or a removal direction loaded through the person in scope, a
facility by its id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.db import DbSession
from app.detention import hearings, removals, service
from app.detention.models import DetentionEpisode, Facility, Hearing, RemovalDirection
from app.errors import found
from app.people.dependencies import CaseInScope
from app.web.params import Id


def episode_in_case(person: CaseInScope, episode_id: Id, db: DbSession) -> DetentionEpisode:
    return found(service.get_episode(db, person.id, episode_id))


CaseEpisode = Annotated[DetentionEpisode, Depends(episode_in_case)]


def removal_in_case(person: CaseInScope, removal_id: Id, db: DbSession) -> RemovalDirection:
    return found(removals.get(db, person.id, removal_id))


CaseRemoval = Annotated[RemovalDirection, Depends(removal_in_case)]


def hearing_in_case(person: CaseInScope, hearing_id: Id, db: DbSession) -> Hearing:
    return found(hearings.get(db, person.id, hearing_id))


CaseHearing = Annotated[Hearing, Depends(hearing_in_case)]


def facility_in_path(facility_id: Id, db: DbSession) -> Facility:
    return found(service.get_facility(db, facility_id))


# Facilities are reference data, not a person's record: the admin pages name them by id alone.
PathFacility = Annotated[Facility, Depends(facility_in_path)]
