"""Route dependencies: a referral loaded through the person in scope, and an organisation of the admin's register."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.db import DbSession
from app.errors import NotFound, found
from app.people.dependencies import CaseInScope
from app.referrals import service
from app.referrals.models import Organisation, Referral
from app.web.params import Id

ManageReferenceData = Depends(require(Permission.manage_reference_data))


def referral_in_case(person: CaseInScope, referral_id: Id, db: DbSession) -> Referral:
    return found(service.get_referral(db, person.id, referral_id))


def nrm_referral_in_case(person: CaseInScope, referral_id: Id, db: DbSession) -> Referral:
    """The referral, when it is a National Referral Mechanism one (only those have NRM details)."""
    referral = referral_in_case(person, referral_id, db)
    if referral.nrm is None:
        raise NotFound
    return referral


def organisation_in_register(organisation_id: Id, db: DbSession, _admin: User = ManageReferenceData) -> Organisation:
    # The permission first, so that only an admin learns whether an organisation id exists.
    return found(service.get_organisation(db, organisation_id))


CaseReferral = Annotated[Referral, Depends(referral_in_case)]
CaseNrmReferral = Annotated[Referral, Depends(nrm_referral_in_case)]
RegisterOrganisation = Annotated[Organisation, Depends(organisation_in_register)]
