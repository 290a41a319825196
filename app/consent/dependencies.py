"""CaseConsent: the consent named by `{consent_id}`, loaded through the person in scope (another person's is a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.consent import service
from app.consent.models import Consent
from app.db import DbSession
from app.errors import found
from app.people.dependencies import CaseInScope
from app.web.params import Id


def consent_in_case(person: CaseInScope, consent_id: Id, db: DbSession) -> Consent:
    return found(service.get_consent(db, person.id, consent_id))


CaseConsent = Annotated[Consent, Depends(consent_in_case)]
