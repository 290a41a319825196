"""The API's endpoints under /api/v1: people, detention, visits, referrals, requests for help and tasks read;
visit drafts and case notes written. Each declares its token scope and role permission, reads through the
domain services, and records what the pages record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from app.api import schemas
from app.api.deps import ApiCaseInScope, Caller, PageParams, Paging, any_token, scoped
from app.api.problems import PROBLEM_RESPONSES, WRITE_RESPONSES, ProblemRoute
from app.auth.permissions import Permission, has_permission
from app.config import organisation_today
from app.db import DbSession
from app.detention import service as detention_service
from app.detention.models import DetentionEpisode, Facility, Placement
from app.errors import NotFound
from app.intake.models import HelpRequest
from app.people import service as people_service
from app.people.models import Person
from app.referrals import service as referrals_service
from app.visits import service as visits_service
from app.visits.models import Visit, VisitStatus
from app.work import notes, tasks

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX, route_class=ProblemRoute, responses=PROBLEM_RESPONSES, tags=["casework"])


def _caller(domain: str, access: str, permission: Permission) -> Any:
    return Depends(scoped(domain, access, permission))


ReadPeople = Annotated[Caller, _caller("people", "read", Permission.view_caseload)]
ReadPerson = Annotated[Caller, _caller("people", "read", Permission.view_person)]
ReadDetention = Annotated[Caller, _caller("detention", "read", Permission.view_person)]
ReadVisits = Annotated[Caller, _caller("visits", "read", Permission.view_person)]
WriteVisits = Annotated[Caller, _caller("visits", "write", Permission.record_clinical)]
ReadReferrals = Annotated[Caller, _caller("referrals", "read", Permission.view_person)]
ReadRequests = Annotated[Caller, _caller("requests", "read", Permission.view_requests)]
ReadTasks = Annotated[Caller, _caller("tasks", "read", Permission.view_home)]
WriteNotes = Annotated[Caller, _caller("notes", "write", Permission.record_clinical)]


def _next(request: Request, paging: PageParams, more: bool) -> str | None:
    if not more:
        return None
    return str(request.url.include_query_params(limit=paging.limit, offset=paging.offset + paging.limit)
               .replace(scheme="", netloc="")).removeprefix("//")


def _page(request: Request, paging: PageParams, items: list[Any]) -> dict[str, Any]:
    """One page from `items` holding up to limit+1 of them (the one past the page says there is a next)."""
    return {"items": items[:paging.limit], "limit": paging.limit, "offset": paging.offset,
            "next": _next(request, paging, len(items) > paging.limit)}


def _slice(paging: PageParams, items: list[Any]) -> list[Any]:
    return items[paging.offset:paging.offset + paging.limit + 1]


# --- people ---------------------------------------------------------------------------------------

@router.get("/people", response_model=schemas.PageOf[schemas.PersonListed])
def people_list(request: Request, db: DbSession, caller: ReadPeople, paging: Paging) -> dict[str, Any]:
    """The open cases this user may see (a clinician: those assigned to them), oldest record first."""
    current = aliased(DetentionEpisode)
    query = people_service.PeopleQuery()
    where = people_service.list_conditions(db, caller.user, query, current)
    rows = db.execute(select(Person.reference, Person.status, Person.opened_date, Person.closed_date)
                      .where(*where).order_by(Person.id).offset(paging.offset).limit(paging.limit + 1)).all()
    items = [schemas.PersonListed(reference=r.reference, status=r.status.value, opened_date=r.opened_date,
                                  closed_date=r.closed_date) for r in rows]
    caller.audit.record("people.listed", filters=[], results=len(items[:paging.limit]), via="api")
    return _page(request, paging, items)


@router.get("/people/{reference}", response_model=schemas.PersonRead)
def person_read(person: ApiCaseInScope, db: DbSession, caller: ReadPerson) -> schemas.PersonRead:
    """One person's case facts and name; nothing else of their identity."""
    details = people_service.load_details(db, person)
    caller.audit.record("person.viewed", person, via="api")
    return schemas.PersonRead(
        reference=person.reference, given_names=details.get("given_names"), family_name=details.get("family_name"),
        status=person.status.value, nationality=person.nationality, interpreter_needed=person.interpreter_needed,
        opened_date=person.opened_date, closed_date=person.closed_date, aar_level=person.aar_level)


@router.get("/people/{reference}/detention", response_model=schemas.PageOf[schemas.EpisodeRead])
def detention_read(request: Request, person: ApiCaseInScope, db: DbSession, caller: ReadDetention,
                   paging: Paging) -> dict[str, Any]:
    """The person's detention episodes, earliest first, each with its placements."""
    episodes = _slice(paging, detention_service.episodes_of(db, person.id))
    ids = [e.id for e in episodes]
    placements: dict[int, list[schemas.PlacementRead]] = {i: [] for i in ids}
    for placement, facility in db.execute(
            select(Placement, Facility.name).join(Facility, Facility.id == Placement.facility_id)
            .where(Placement.episode_id.in_(ids)).order_by(Placement.date_in, Placement.id)):
        placements[placement.episode_id].append(schemas.PlacementRead(
            id=placement.id, facility=facility, date_in=placement.date_in, date_out=placement.date_out))
    items = [schemas.EpisodeRead(
        id=e.id, start_date=e.start_date, end_date=e.end_date, end_reason=e.end_reason.value if e.end_reason else None,
        last_bail_application_date=e.last_bail_application_date,
        last_bail_outcome=e.last_bail_outcome.value if e.last_bail_outcome else None,
        placements=placements[e.id]) for e in episodes]
    caller.audit.record("person.viewed", person, via="api", section="detention")
    return _page(request, paging, items)


# --- visits ---------------------------------------------------------------------------------------

@router.get("/people/{reference}/visits", response_model=schemas.PageOf[schemas.VisitRead])
def visits_read(request: Request, person: ApiCaseInScope, db: DbSession, caller: ReadVisits,
                paging: Paging) -> dict[str, Any]:
    """The person's signed visits and the caller's own drafts, newest first."""
    visits = db.scalars(
        select(Visit).where(Visit.person_id == person.id,
                            or_(Visit.status == VisitStatus.signed, Visit.clinician_id == caller.user.id))
        .order_by(Visit.visit_date.desc(), Visit.id.desc()).offset(paging.offset).limit(paging.limit + 1)).all()
    items = [schemas.VisitRead(id=v.id, visit_date=v.visit_date, status=v.status.value, mode=v.mode.value,
                               clinician_id=v.clinician_id, risk=v.risk.value if v.risk else None,
                               follow_up_date=v.follow_up_date, signed_at=v.signed_at) for v in visits]
    caller.audit.record("person.viewed", person, via="api", section="visits")
    return _page(request, paging, items)


def _form(build: Any, rename: dict[str, str] | None = None) -> Any:
    """The page's own form from an API body, its rule messages as a 422 pointing at each field (by the API's
    name for it, where `rename` says the form's differs)."""
    try:
        return build()
    except ValidationError as invalid:
        names = rename or {}
        raise RequestValidationError([
            {**e, "loc": ("body", *(names.get(str(part), part) for part in e["loc"]))} for e in invalid.errors()
        ]) from None


@router.post("/people/{reference}/visits", status_code=201, response_model=schemas.VisitCreated,
             responses=WRITE_RESPONSES)
def visit_create(person: ApiCaseInScope, db: DbSession, caller: WriteVisits,
                 body: schemas.VisitWrite) -> schemas.VisitCreated:
    """A draft visit, by the rules of the visit form; it is signed on its page."""
    visit = visits_service.create_visit(db, caller.user, person, _form(body.as_form), organisation_today())
    caller.audit.record("visit.created", visit, via="api")
    return schemas.VisitCreated(id=visit.id, status=visit.status.value,
                                url=f"/people/{person.reference}/visits/{visit.id}")


# --- referrals, notes ------------------------------------------------------------------------------

@router.get("/people/{reference}/referrals", response_model=schemas.PageOf[schemas.ReferralRead])
def referrals_read(request: Request, person: ApiCaseInScope, db: DbSession, caller: ReadReferrals,
                   paging: Paging) -> dict[str, Any]:
    rows = _slice(paging, referrals_service.referrals_of(db, person.id))
    items = [schemas.ReferralRead(id=r.referral.id, organisation=r.organisation, status=r.referral.status.value,
                                  made_date=r.referral.made_date, response_date=r.referral.response_date,
                                  follow_up_date=r.referral.follow_up_date) for r in rows]
    caller.audit.record("person.viewed", person, via="api", section="referrals")
    return _page(request, paging, items)


@router.post("/people/{reference}/notes", status_code=201, response_model=schemas.NoteCreated,
             responses=WRITE_RESPONSES)
def note_create(person: ApiCaseInScope, db: DbSession, caller: WriteNotes,
                body: schemas.NoteWrite) -> schemas.NoteCreated:
    """A case note (a call, e-mail, letter or meeting), by the rules of the note form."""
    note = notes.record(db, caller.user, person, _form(body.as_form, rename={"note_kind": "kind"}))
    caller.audit.record("note.recorded", note, note_id=note.id, kind=note.kind.value,
                        with_whom=note.with_whom.value, via="api")
    return schemas.NoteCreated(id=note.id)


# --- requests for help, tasks ----------------------------------------------------------------------

@router.get("/requests", response_model=schemas.PageOf[schemas.RequestRead])
def requests_read(request: Request, db: DbSession, caller: ReadRequests, paging: Paging) -> dict[str, Any]:
    """Every request (coordinators and admins), or those attached to the caller's own people (clinicians)."""
    statement = (select(HelpRequest, Person.reference).outerjoin(Person, Person.id == HelpRequest.person_id)
                 .order_by(HelpRequest.received_at.desc(), HelpRequest.id.desc()))
    if not has_permission(caller.user.role, Permission.triage_requests):
        visible = people_service.visible_to(caller.user)
        statement = statement.where(HelpRequest.person_id.is_not(None), *([visible] if visible is not None else []))
    rows = db.execute(statement.offset(paging.offset).limit(paging.limit + 1)).all()
    items = [schemas.RequestRead(reference=r.reference, received_at=r.received_at, channel=r.channel.value,
                                 urgency=r.urgency.value, needs=[n for n in r.needs.split(",") if n],
                                 decision=r.decision.value if r.decision else None, person_reference=ref)
             for r, ref in rows]
    caller.audit.record("request.queue_viewed", object_type="request_queue", shown=len(items[:paging.limit]),
                        via="api")
    return _page(request, paging, items)


@router.get("/tasks", response_model=schemas.PageOf[schemas.TaskRead])
def tasks_read(request: Request, db: DbSession, caller: ReadTasks, paging: Paging) -> dict[str, Any]:
    """The caller's open tasks, soonest due first."""
    rows = tasks.list_for_user(db, caller.user, limit=paging.limit + 1, offset=paging.offset)
    items = [schemas.TaskRead(id=r.task.id, title=str(r.task.title), person_reference=r.reference,
                              due_date=r.task.due_date, made_at=r.task.made_at) for r in rows]
    caller.audit.record("task.list_viewed", object_type="task_list", shown=len(items[:paging.limit]), via="api")
    return _page(request, paging, items)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def not_found(rest: Annotated[str, Path(max_length=500)], caller: Annotated[Caller, Depends(any_token)]) -> None:
    """Any other address under /api/v1: a problem, not the HTML page (and only once the token is known)."""
    raise NotFound
