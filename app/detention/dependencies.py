"""Detention records named in a path: an episode loaded through the person in scope, a facility by its id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.db import DbSession
from app.detention import service
from app.detention.models import DetentionEpisode, Facility
from app.errors import NotFound
from app.people.dependencies import CaseInScope
from app.web.params import Id


def episode_in_case(person: CaseInScope, episode_id: Id, db: DbSession) -> DetentionEpisode:
    episode = service.get_episode(db, person.id, episode_id)
    if episode is None:
        raise NotFound
    return episode


CaseEpisode = Annotated[DetentionEpisode, Depends(episode_in_case)]


def facility_in_path(facility_id: Id, db: DbSession) -> Facility:
    facility = service.get_facility(db, facility_id)
    if facility is None:
        raise NotFound
    return facility


# Facilities are reference data, not a person's record: the admin pages name them by id alone.
PathFacility = Annotated[Facility, Depends(facility_in_path)]
