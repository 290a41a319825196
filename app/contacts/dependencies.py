"""Route dependencies of the contacts pages: a legal representative of the register, named by its id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.contacts import service
from app.contacts.models import LegalRepresentative
from app.db import DbSession
from app.errors import found
from app.web.params import Id

ManageContacts = Depends(require(Permission.manage_contacts))


def representative_in_register(representative_id: Id, db: DbSession,
                               _user: User = ManageContacts) -> LegalRepresentative:
    # The permission first, so that only someone who keeps the register learns whether an id exists.
    return found(service.get(db, representative_id))


# Representatives are contacts, not a person's record: the register's pages name them by id alone.
PathRepresentative = Annotated[LegalRepresentative, Depends(representative_in_register)]
