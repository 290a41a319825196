"""The register of legal representatives: the list, adding, changing, archiving and restoring (manage_contacts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.models import User
from app.contacts import service
from app.contacts.dependencies import ManageContacts, PathRepresentative
from app.contacts.models import LegalRepresentative
from app.contacts.schemas import RepresentativeForm
from app.db import DbSession
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/contacts/representatives")
LIST_PATH = "/contacts/representatives"
EDIT_PAGE = LIST_PATH + "/{representative_id}/edit"


def _values_of(rep: LegalRepresentative) -> dict[str, object]:
    return {
        "firm": rep.firm, "caseworker": rep.caseworker or "", "phone": rep.phone or "", "email": rep.email or "",
        "address": rep.address or "", "legal_aid_contract": rep.legal_aid_contract, "version": rep.version,
    }


def _form_page(request: Request, db: Session, rep: LegalRepresentative | None) -> Response:
    return render(request, "contacts/form.html", {
        "representative": rep, "errors": {}, "values": _values_of(rep) if rep is not None else {},
        "acting": service.acting_count(db, rep.id) if rep is not None else 0,
    })


@router.get("", dependencies=[ManageContacts])
def representatives_list(request: Request, db: DbSession) -> Response:
    rows = service.register(db)
    return render(request, "contacts/list.html", {
        "active": [(rep, people) for rep, people in rows if rep.archived_at is None],
        "archived": [(rep, people) for rep, people in rows if rep.archived_at is not None],
    })


@router.get("/new", dependencies=[ManageContacts])
def representative_new(request: Request, db: DbSession) -> Response:
    return _form_page(request, db, None)


@router.post("/new")
def representative_create(db: DbSession, audit: Audit, user: User = ManageContacts,
                          data: RepresentativeForm = Posted(RepresentativeForm)) -> Response:
    rep = service.create(db, user.id, data)  # RuleBroken beside the firm for one already in the register
    audit.record("contacts.representative_created", rep)
    return done(LIST_PATH, f"{rep.firm} added to the register.")


@router.get("/{representative_id}/edit", dependencies=[ManageContacts])
def representative_edit(request: Request, rep: PathRepresentative, db: DbSession) -> Response:
    return _form_page(request, db, rep)


@router.post("/{representative_id}/edit")
def representative_update(rep: PathRepresentative, db: DbSession, audit: Audit, user: User = ManageContacts,
                          data: RepresentativeForm = Posted(RepresentativeForm)) -> Response:
    changed = service.update(db, user.id, rep, data)  # StaleForm: the conflict page
    if changed:
        # Field names only: the caseworker is a person too; the revision keeps the values.
        audit.record("contacts.representative_changed", rep, fields=changed)
    return done(LIST_PATH, f"{rep.firm} updated." if changed else "Nothing was changed.")


@router.post("/{representative_id}/archive")
@shown_on(EDIT_PAGE)
def representative_archive(rep: PathRepresentative, db: DbSession, audit: Audit,
                           user: User = ManageContacts) -> Response:
    service.archive(db, user.id, rep)
    audit.record("contacts.representative_archived", rep, acting_for=service.acting_count(db, rep.id))
    return done(LIST_PATH, f"{rep.firm} archived. They stay on the records that name them.")


@router.post("/{representative_id}/restore")
@shown_on(EDIT_PAGE)
def representative_restore(rep: PathRepresentative, db: DbSession, audit: Audit,
                           user: User = ManageContacts) -> Response:
    service.restore(db, user.id, rep)
    audit.record("contacts.representative_restored", rep)
    return done(LIST_PATH, f"{rep.firm} can be chosen again.")
