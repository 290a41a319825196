"""CaseConsent: the consent named by `{consent_id}`, loaded through the person in scope (another person's is a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.consent import service
from app.consent.models import Consent
from app.db import DbSession
from app.errors import NotFound
from app.people.dependencies import CaseInScope
from app.web.params import Id


def consent_in_case(person: CaseInScope, consent_id: Id, db: DbSession) -> Consent:
    consent = service.get_consent(db, person.id, consent_id)
    if consent is None:
        raise NotFound
    return consent


CaseConsent = Annotated[Consent, Depends(consent_in_case)]
