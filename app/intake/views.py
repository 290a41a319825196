"""Requests for help: the triage queue, taking one down, a request's page with the decision, its document, and
the person page's list of the requests attached to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission, has_permission
from app.config import get_settings, organisation_today
from app.contacts import service as contacts
from app.db import DbSession, utcnow
from app.detention import service as detention
from app.errors import NotFound, Refused
from app.intake import service
from app.intake.models import (
    CHANNEL_LABELS,
    DECISION_LABELS,
    FINAL_DECISIONS,
    NEED_LABELS,
    REQUESTER_LABELS,
    URGENCY_LABELS,
    Decision,
    HelpRequest,
)
from app.intake.schemas import DecisionForm, RequestForm, detail_rows
from app.people.models import Person
from app.people.schemas import nationality_name
from app.referrals import service as referrals
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

router = APIRouter(prefix="/requests")
TriageRequests = Depends(require(Permission.triage_requests))
ViewRequests = Depends(require(Permission.view_requests))

# A request reference as made by service.new_reference; anything else names nothing, a 404 before any query.
RequestReference = Annotated[str, Path(min_length=11, max_length=11, pattern=r"^R-[A-Z0-9]{4}-[A-Z0-9]{4}$")]


def request_in_scope(request_ref: RequestReference, db: DbSession, user: User = ViewRequests) -> HelpRequest:
    try:
        found = service.find_visible(db, user, request_ref)
    except service.NotAllowed:
        raise Refused("request_not_in_scope", actor_id=user.id) from None
    if found is None:
        raise NotFound
    return found


RequestInScope = Annotated[HelpRequest, Depends(request_in_scope)]

LABELS = {"channels": CHANNEL_LABELS, "requesters": REQUESTER_LABELS, "urgencies": URGENCY_LABELS,
          "needs": NEED_LABELS, "decisions": DECISION_LABELS}


def _url(request: HelpRequest) -> str:
    return f"/requests/{request.reference}"


@router.get("")
def queue(request: Request, db: DbSession, audit: Audit, user: User = TriageRequests) -> Response:
    now = utcnow()
    rows = service.queue(db, now)
    decided = service.recently_decided(db)
    audit.record("request.queue_viewed", object_type="request_queue", shown=len(rows) + len(decided))
    return render(request, "intake/queue.html", {
        "rows": rows, "decided": decided, "limit": service.QUEUE_LIMIT, "now": now, **LABELS,
        "waiting_limits": [(URGENCY_LABELS[u], service.waiting_limit(u)) for u in service.URGENCY_ORDER],
    })


def _form_context(db: Session, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "values": values, "errors": {}, **LABELS,
        "channels_options": [(k.value, v) for k, v in CHANNEL_LABELS.items()],
        "requester_options": [(k.value, v) for k, v in REQUESTER_LABELS.items()],
        "urgency_options": [(k.value, v) for k, v in URGENCY_LABELS.items()],
        "need_options": [(k.value, v) for k, v in NEED_LABELS.items()],
        "facilities": [(f.id, f.name) for f in detention.open_facilities(db)],
        "representatives": [(r.id, r.label) for r in contacts.choices(db)],
    }


@router.get("/new", dependencies=[TriageRequests])
def request_new(request: Request, db: DbSession) -> Response:
    now = utcnow().astimezone(get_settings().zone)
    return render(request, "intake/form.html", _form_context(db, {"received_at": now.strftime("%Y-%m-%dT%H:%M")}))


@router.post("/new")
def request_create(db: DbSession, audit: Audit, user: User = TriageRequests,
                   data: RequestForm = Posted(RequestForm, lists=frozenset({"needs"}))) -> Response:
    created = service.record(db, user, data)
    audit.record("request.recorded", created, channel=created.channel.value, urgency=created.urgency.value)
    return done(_url(created), f"Request {created.reference} recorded. It is in the triage queue.")


@router.get("/{request_ref}")
def request_show(request: Request, help_request: RequestInScope, db: DbSession, audit: Audit,
                 user: User = ViewRequests) -> Response:
    can_triage = has_permission(user.role, Permission.triage_requests)
    undecided = help_request.decision not in FINAL_DECISIONS
    links = service.linked(db, help_request)
    audit.record("request.viewed", help_request)
    return render(request, "intake/request.html", {
        "req": help_request, "details": detail_rows(help_request.details), "person": links.person,
        "facility": links.facility, "representative": links.representative, "signposted": links.signposted_to,
        "can_triage": can_triage and undecided,
        "matches": service.possible_matches(db, help_request) if can_triage and undecided else [],
        "organisations": [(o.id, o.name) for o in referrals.active_organisations(db)] if can_triage else [],
        "decision_choices": [(d.value, label) for d, label in DECISION_LABELS.items()],
        "overdue": undecided and utcnow() - help_request.received_at > service.waiting_limit(help_request.urgency),
        "nationality_name": nationality_name, "values": {}, "errors": {}, **LABELS,
    })


@router.post("/{request_ref}/decision")
@shown_on("/requests/{request_ref}")
def request_decide(help_request: RequestInScope, db: DbSession, audit: Audit, user: User = TriageRequests,
                   data: DecisionForm = Posted(DecisionForm)) -> Response:
    decided = service.decide(db, user, help_request, data, organisation_today(get_settings()))
    if decided.opened_new and decided.person is not None:
        audit.record("person.created", decided.person)
    audit.record("request.decided", help_request, decision=help_request.decision.value if help_request.decision
                 else None, opened_new=decided.opened_new)
    if decided.person is not None:
        verb = "opened for" if decided.opened_new else "attached to"
        return done(f"/people/{decided.person.reference}",
                    f"Request {help_request.reference} accepted and {verb} record {decided.person.reference}.")
    if help_request.decision is Decision.more_information:
        return done(_url(help_request), "Noted. The request stays in the queue until it is decided.")
    return done("/requests", f"Request {help_request.reference}: {DECISION_LABELS[help_request.decision].lower()}."
                if help_request.decision else "Decision recorded.")


@router.get("/{request_ref}/document")
def request_document(help_request: RequestInScope, audit: Audit, user: User = ViewRequests) -> Response:
    if help_request.document_sha256 is None:
        raise NotFound
    audit.record("request.document_downloaded", help_request)
    # The stored name is the sender's: shown on the page, never used for the file, which is named by the request.
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        help_request.document_type or "", "bin")
    return Response(content=help_request.document_content, media_type=help_request.document_type, headers={
        "Content-Disposition": f'attachment; filename="request-{help_request.reference}.{extension}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def requests_section(db: Session, user: User, person: Person) -> dict[str, Any]:
    """The person page's requests for help: those attached to this person (one statement)."""
    return {"requests": service.of_person(db, person.id), **LABELS}

