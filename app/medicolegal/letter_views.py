"""Letter pages: choose a template and draft a letter from the record, edit the draft, check and issue it, read it
with its seal, download the issued letter as a PDF; the admin page of template files; the person page's list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.db import DbSession, utcnow
from app.errors import found
from app.evidence.storage import content_disposition
from app.medicolegal import letter_pdf, letter_templates, letters
from app.medicolegal.letter_models import Letter, LetterState
from app.medicolegal.letter_schemas import BODY_LIMIT, STATE_LABELS, LetterBodyForm, LetterIssueForm, LetterNewForm
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.web.forms import Posted
from app.web.params import Id
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/people/{reference}/letters")
templates_router = APIRouter(prefix="/admin/letter-templates")
RecordClinical = Depends(require(Permission.record_clinical))
ManageReferenceData = Depends(require(Permission.manage_reference_data))
DECLARATION = "I have read this letter and it is ready to be issued. I understand that an issued letter cannot be " \
              "changed."


def letter_in_case(request: Request, person: CaseInScope, letter_id: Id, db: DbSession) -> Letter:
    # A write locks the row (PostgreSQL), so two requests changing or issuing it run one after the other.
    return found(letters.get_for_person(db, person.id, letter_id, for_update=request.method == "POST"))


CaseLetter = Annotated[Letter, Depends(letter_in_case)]


def _path(person: Person, letter: Letter, page: str = "") -> str:
    return f"/people/{person.reference}/letters/{letter.id}{f'/{page}' if page else ''}"


def _context(db: Session, person: Person, letter: Letter) -> dict[str, Any]:
    names = letters.user_names(db, letter.made_by_id, letter.issued_by_id)
    return {"person": person, "details": load_details(db, person), "letter": letter,
            "made_by": names.get(letter.made_by_id, ""), "issued_by": names.get(letter.issued_by_id or 0, ""),
            "state_labels": STATE_LABELS, "paragraphs": letter_pdf.paragraphs(letter.body)}


# --- drafting ------------------------------------------------------------------------------------

@router.get("/new")
def letter_new(request: Request, person: CaseInScope, db: DbSession, user: User = RecordClinical) -> Response:
    available = letter_templates.load_all()
    return render(request, "medicolegal/letter_new.html", {
        "person": person, "details": load_details(db, person), "values": {}, "errors": {},
        "usable": [t for t in available if t.usable], "broken": [t for t in available if not t.usable],
    })


@router.post("/new")
def letter_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = RecordClinical,
                  data: LetterNewForm = Posted(LetterNewForm)) -> Response:
    letter = letters.draft(db, user, person, data.template_key or "", organisation_today(), utcnow())
    audit.record("letter.drafted", letter, template=letter.template_key)
    return done(_path(person, letter, "edit"), "Draft letter filled from the record. Check and change it, then "
                                               "save it.")


# --- the PDF (before the letter page, whose path would otherwise take "7.pdf" as a letter id) ----------------

@router.get("/{letter_id}.pdf")
def letter_pdf_file(person: CaseInScope, letter: CaseLetter, db: DbSession, audit: Audit,
                    user: User = RecordClinical) -> Response:
    if letter.state is not LetterState.issued:
        return render_not_issued(person, letter)
    content = letter_pdf.to_pdf(letter, reference=person.reference, letterhead=get_settings().letterhead)
    audit.record("letter.pdf_downloaded", letter)
    return Response(content=content, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(letter_pdf.filename(person.reference, letter)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })


def render_not_issued(person: Person, letter: Letter) -> Response:
    """A draft has no PDF: only what was issued goes out."""
    return done(_path(person, letter), "Only an issued letter can be downloaded. Check it and issue it first.",
                kind="warning")


# --- the letter page -----------------------------------------------------------------------------

@router.get("/{letter_id}")
def letter_show(request: Request, person: CaseInScope, letter: CaseLetter, db: DbSession, audit: Audit,
                user: User = RecordClinical) -> Response:
    audit.record("letter.viewed", letter)
    seal = letters.check_seal(letter)
    if seal.state is letters.SealState.changed:
        audit.record("letter.seal_broken", letter, kept=seal.kept, now=seal.now)
    return render(request, "medicolegal/letter_show.html", {**_context(db, person, letter), "seal": seal})


@router.get("/{letter_id}/edit")
def letter_edit(request: Request, person: CaseInScope, letter: CaseLetter, db: DbSession,
                user: User = RecordClinical) -> Response:
    return render(request, "medicolegal/letter_edit.html", {
        **_context(db, person, letter), "values": {"body": letter.body, "version": letter.version}, "errors": {},
        "limit": BODY_LIMIT,
    })


@router.post("/{letter_id}/edit")
def letter_update(person: CaseInScope, letter: CaseLetter, db: DbSession, audit: Audit,
                  user: User = RecordClinical, data: LetterBodyForm = Posted(LetterBodyForm)) -> Response:
    changed = letters.change(db, user, person, letter, data, utcnow())
    if changed:
        audit.record("letter.changed", letter)
    return done(_path(person, letter, "issue"), "Changes saved. Check the letter before you issue it."
                if changed else "Nothing was changed. Check the letter before you issue it.")


@router.get("/{letter_id}/issue")
def letter_check(request: Request, person: CaseInScope, letter: CaseLetter, db: DbSession,
                 user: User = RecordClinical) -> Response:
    return render(request, "medicolegal/letter_issue.html", {
        **_context(db, person, letter), "values": {"version": letter.version}, "errors": {},
        "declaration": DECLARATION, "placeholders": letter_pdf.placeholders(letter.body),
    })


@router.post("/{letter_id}/issue")
def letter_issue(person: CaseInScope, letter: CaseLetter, db: DbSession, audit: Audit, user: User = RecordClinical,
                 data: LetterIssueForm = Posted(LetterIssueForm)) -> Response:
    letters.issue(db, user, person, letter, data.version, utcnow())
    audit.record("letter.issued", letter, content_sha256=letter.content_sha256)
    return done(_path(person, letter), "Letter issued. Download the PDF to send it.")


# --- the admin page of template files ------------------------------------------------------------

@templates_router.get("")
def letter_templates_page(request: Request, user: User = ManageReferenceData) -> Response:
    return render(request, "medicolegal/letter_templates.html", {
        "templates": letter_templates.load_all(), "fields": letter_templates.FIELDS,
        "folder": letter_templates.templates_dir(), "shipped": letter_templates.templates_dir()
        == letter_templates.SHIPPED_DIR, "kinds": letter_templates.KINDS,
    })


# --- the person page's section -------------------------------------------------------------------

def letters_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person's letters, newest first, in one statement."""
    return {"rows": letters.for_person(db, person.id), "state_labels": STATE_LABELS,
            "may_write": has_permission(user.role, Permission.record_clinical)}
