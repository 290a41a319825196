"""Evidence records named in a path, loaded through the person in scope: another person's record is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.db import DbSession
from app.errors import NotFound, found
from app.evidence import service
from app.evidence.models import Document, EvidenceItem, Finding, Rule35Record
from app.people.dependencies import CaseInScope
from app.web.params import Id


def item_in_case(person: CaseInScope, item_id: Id, db: DbSession) -> EvidenceItem:
    return found(service.get_item(db, person, item_id))


CaseItem = Annotated[EvidenceItem, Depends(item_in_case)]


def finding_of_item(item: CaseItem, finding_id: Id, db: DbSession) -> Finding | None:
    """The finding of this item; None once it is gone (removed, a second click). A finding of another item is a
    404, like any record reached through an address it does not belong to."""
    finding = service.get_finding(db, item, finding_id)
    if finding is None and db.get(Finding, finding_id) is not None:
        raise NotFound
    return finding


def finding_in_item(finding: Annotated[Finding | None, Depends(finding_of_item)]) -> Finding:
    if finding is None:
        raise NotFound
    return finding


CaseFinding = Annotated[Finding, Depends(finding_in_item)]
# For removing a finding: one already removed (a second click) is not an error but a message.
CaseFindingIfAny = Annotated[Finding | None, Depends(finding_of_item)]


def document_in_case(person: CaseInScope, document_id: Id, db: DbSession) -> Document:
    return found(service.get_document(db, person, document_id))


CaseDocument = Annotated[Document, Depends(document_in_case)]


def rule35_in_case(person: CaseInScope, record_id: Id, db: DbSession) -> Rule35Record:
    return found(service.get_rule35(db, person, record_id))


CaseRule35 = Annotated[Rule35Record, Depends(rule35_in_case)]
