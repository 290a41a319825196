"""The public online referral form for legal representatives (/refer), open without signing in: it writes one
request for help and nothing else, shows nothing of it back, and is switched off by a setting, rate-limited per
address, size-limited while the body streams in, and CSRF-protected with a double-submit cookie, as sign-in is."""

from __future__ import annotations

import enum
import re
import secrets
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from app.audit.deps import PublicAudit
from app.audit.models import AuditEvent, Outcome
from app.auth.deps import PUBLIC, origin_problem, token_matches
from app.config import get_settings
from app.contacts.models import LegalRepresentative
from app.db import DbSession, utcnow
from app.detention import service as detention
from app.evidence import storage
from app.intake import service
from app.intake.models import NEED_LABELS, URGENCY_LABELS, Channel, RequesterKind
from app.intake.schemas import ReferralForm
from app.web.forms import validate_form
from app.web.redirects import done
from app.web.templating import render

router = APIRouter()

PATH = "/refer"
SENT_PATH = "/refer/sent"
# The form is posted before anyone signs in, so its CSRF token is a double-submit cookie (as /login's is).
CSRF_COOKIE = "casework_refer_csrf"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes
# The field a person never sees or reaches (visually hidden, out of the tab order) and a bot fills in.
HONEYPOT = "website"
DOCUMENT = "document"
# On top of the document: the answers (a few long texts), the token, part headers and boundaries.
BODY_ALLOWANCE = 256 * 1024
FIELD_PART_LIMIT = 64 * 1024
MAX_FIELDS = 60
# What one address has sent in the last hour, counted from the audit log (nothing is kept in memory).
COUNTED_ACTIONS = ("request.submitted_online", "request.online_refused")
RATE_WINDOW = timedelta(hours=1)
SENT_MESSAGE = "Your referral has been sent."
EXPIRED_FORM = ("This form had expired or came from another site, so nothing was sent. Fill it in again and "
                 "send it.")


class Gate(enum.StrEnum):
    """Whether a submission may be read at all, decided before any of its body is."""

    open = "open"
    closed = "closed"
    rate_limited = "rate_limited"


def sent_recently(db: Session, ip_address: str, now: datetime) -> int:
    """Referrals sent, and refused, from this address in the last hour."""
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(COUNTED_ACTIONS), AuditEvent.ip_address == ip_address,
        AuditEvent.occurred_at >= now - RATE_WINDOW)) or 0


def registered_representative_id(db: Session, email: str) -> int | None:
    """The representative in the register (not archived) with this e-mail address, ignoring case."""
    return db.scalar(select(LegalRepresentative.id).where(
        func.lower(LegalRepresentative.email) == email.strip().lower(), LegalRepresentative.archived_at.is_(None))
        .order_by(LegalRepresentative.id).limit(1))


def referral_gate(db: DbSession, audit: PublicAudit) -> Gate:
    settings = get_settings()
    if not settings.referral_form_enabled:
        return Gate.closed
    if sent_recently(db, audit.ip_address, utcnow()) >= settings.referral_form_per_hour:
        return Gate.rate_limited
    return Gate.open


@dataclass
class ReferralBody:
    """What was read of a submission: its text fields and at most one document, or the problem that stopped
    the reading. Left unread (empty, no problem) when the gate did not open."""

    fields: FormData = field(default_factory=FormData)
    document: storage.ReceivedFile | None = None
    problem: storage.UploadProblem | None = None


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to be over `limit` (Content-Length, or bytes counted)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


async def referral_body(request: Request, gate: Annotated[Gate, Depends(referral_gate)]) -> ReferralBody:
    """Reads the submission within the upload limit and the allowance for the answers; a closed or
    rate-limited form reads nothing."""
    if gate is not Gate.open:
        return ReferralBody()
    try:
        body = await _bounded_body(request, get_settings().upload_limit_bytes + BODY_ALLOWANCE)
    except ClientDisconnect:
        return ReferralBody(problem=storage.UploadProblem.malformed)
    if body is None:
        return ReferralBody(problem=storage.UploadProblem.too_large)
    # Starlette parses the form from this cache once it is set; the body is already bounded.
    request._body = body  # noqa: SLF001
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=FIELD_PART_LIMIT)
    except StarletteHTTPException:  # Starlette's answer to a malformed multipart body
        return ReferralBody(problem=storage.UploadProblem.malformed)
    fields: list[tuple[str, str | UploadFile]] = []  # strings only; typed as FormData takes them
    document = None
    try:
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields.append((name, value))
                continue
            if name != DOCUMENT:
                return ReferralBody(problem=storage.UploadProblem.several_files)
            data = await value.read()
            if value.filename or data:  # an empty file input still sends a part, with no name and no bytes
                document = storage.ReceivedFile(filename=value.filename or "", data=data)
    finally:
        await form.close()
    return ReferralBody(fields=FormData(fields), document=document)


Gated = Annotated[Gate, Depends(referral_gate)]
Submission = Annotated[ReferralBody, Depends(referral_body)]


# --- pages --------------------------------------------------------------------------------------------------

def _form_page(request: Request, db: Session, *, values: dict[str, object] | None = None,
               errors: dict[str, str] | None = None, notice: str | None = None, status_code: int = 200) -> Response:
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    token = cookie if _TOKEN_SHAPE.fullmatch(cookie) else secrets.token_urlsafe(32)
    request.state.csrf_token = token
    settings = get_settings()
    response = render(request, "intake/refer.html", {
        "values": values or {}, "errors": errors or {}, "notice": notice,
        "facilities": [(f.id, f.name) for f in detention.open_facilities(db)],
        "needs": [(need.value, label) for need, label in NEED_LABELS.items()],
        "urgencies": [(urgency.value, label) for urgency, label in URGENCY_LABELS.items()],
        "honeypot": HONEYPOT, "upload_limit": storage.limit_words(settings.upload_limit_bytes),
    }, status_code=status_code)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=PATH,
                        secure=settings.is_production)
    return response


def _closed_page(request: Request) -> Response:
    return render(request, "intake/refer_closed.html", status_code=503)


def _refused_page(request: Request, status_code: int, title: str, explanation: str) -> Response:
    return render(request, "intake/refer_refused.html", {"title": title, "explanation": explanation},
                  status_code=status_code)


@router.get(PATH, dependencies=[PUBLIC])
def referral_form(request: Request, db: DbSession) -> Response:
    if not get_settings().referral_form_enabled:
        return _closed_page(request)
    return _form_page(request, db)


@router.get(SENT_PATH, dependencies=[PUBLIC])
def referral_sent(request: Request) -> Response:
    return render(request, "intake/refer_sent.html")


def _csrf_problem(request: Request, fields: FormData) -> str | None:
    problem = origin_problem(request)
    if problem is not None:
        return problem
    cookie = request.cookies.get(CSRF_COOKIE)
    posted = fields.get("csrf_token")
    if not isinstance(posted, str) or not posted:
        return "missing token"
    if not cookie or not token_matches(posted, cookie):
        return "wrong token"
    return None


def _check_document(document: storage.ReceivedFile | None) -> tuple[storage.CheckedFile | None,
                                                                      storage.UploadRefused | None]:
    """The document under the same upload rules as evidence documents (type by content, size, images
    re-encoded); none sent is neither."""
    if document is None:
        return None, None
    try:
        return storage.check_file(document.filename, document.data,
                                  limit_bytes=get_settings().upload_limit_bytes), None
    except storage.UploadRefused as refused:
        return None, refused


def _facility_problem(db: Session, facility_id: int | None) -> str | None:
    if facility_id is None:
        return None
    facility = detention.get_facility(db, facility_id)
    if facility is None or not facility.is_active:
        return "Choose where your client is held from the list, or type it under “somewhere else”."
    return None


def _in_form_order(errors: dict[str, str]) -> dict[str, str]:
    """The messages in the order the page shows the fields (the document comes with the case)."""
    order = list(ReferralForm.model_fields)
    order.insert(order.index("removal_or_hearing") + 1, DOCUMENT)
    return dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1))


@router.post(PATH, dependencies=[PUBLIC])
def referral_submit(request: Request, db: DbSession, audit: PublicAudit, gate: Gated,
                    body: Submission) -> Response:
    if gate is Gate.closed:
        return _closed_page(request)
    if gate is Gate.rate_limited:
        audit.record("request.online_refused", outcome=Outcome.denied, reason="rate_limited")
        return _refused_page(request, 429, "Too many referrals from this connection", (
            "Too many referrals have been sent from this connection in the last hour; try again later, or "
            "telephone us. Nothing from this attempt was kept."))
    if body.problem is storage.UploadProblem.too_large:
        audit.record("request.online_refused", outcome=Outcome.denied, reason="too_large")
        limit = storage.limit_words(get_settings().upload_limit_bytes)
        return _refused_page(request, 413, "The referral was too large to send", (
            f"Nothing was sent. A document sent with a referral can be up to {limit}. Go back, choose a "
            "smaller file (or leave it out and send it to us later), and send the referral again."))
    if body.problem is not None:
        audit.record("request.online_refused", outcome=Outcome.denied, reason="malformed")
        return _refused_page(request, 400, "The referral did not arrive complete", (
            "Nothing was sent. Go back, check the form (send at most one document), and send it again."))
    problem = _csrf_problem(request, body.fields)
    if problem is not None:
        audit.record("security.csrf_rejected", outcome=Outcome.denied, reason=problem, path=PATH)
        return _form_page(request, db, notice=EXPIRED_FORM, status_code=403)
    if body.fields.get(HONEYPOT):
        # Answered exactly as a success, so that whatever filled it learns nothing; only the refusal is kept.
        audit.record("request.online_refused", outcome=Outcome.denied, reason="honeypot")
        return done(SENT_PATH, SENT_MESSAGE)

    answers = FormData([(k, v) for k, v in body.fields.multi_items() if k != HONEYPOT])
    result = validate_form(answers, ReferralForm, lists=frozenset({"needs"}))
    errors = dict(result.errors)
    if result.data is not None and (facility := _facility_problem(db, result.data.facility_id)):
        errors["facility_id"] = facility
    checked, refused = _check_document(body.document)
    if refused is not None:
        errors[DOCUMENT] = refused.message + " Nothing was sent: choose the file again, or leave it out."
    if errors or result.data is None:
        status = refused.status_code if refused is not None and len(errors) == 1 else 422
        return _form_page(request, db, values=result.values, errors=_in_form_order(errors), status_code=status)

    data = result.data
    attachment = None if checked is None else service.Attachment(
        name=checked.filename, media_type=checked.content_type, content=checked.content, sha256=checked.sha256)
    created = service.create(db, None, service.NewRequest(
        received_at=utcnow(), channel=Channel.online_form, requester_kind=RequesterKind.legal_representative,
        urgency=data.urgency, needs=list(data.needs), details=data.details(), facility_id=data.facility_id,
        legal_representative_id=registered_representative_id(db, data.solicitor_email), document=attachment))
    # What was taken out of a PDF to make it inert, by kind (never its content), when anything was.
    removed: dict[str, Any] = {"removed": list(checked.removed)} if checked is not None and checked.removed else {}
    audit.record("request.submitted_online", created, urgency=data.urgency.value, with_document=checked is not None,
                 **removed)
    return done(SENT_PATH, SENT_MESSAGE)
