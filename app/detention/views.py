"""Detention pages: the admin's facility pages, and a person's detentions, transfers, end, bail and GP exam."""

from __future__ import annotations

import enum

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.deps import Audit
from app.auth.deps import require
from app.auth.models import User
from app.auth.permissions import Permission
from app.config import organisation_today
from app.db import DbSession
from app.detention import hearings, removals, service
from app.detention.dependencies import CaseEpisode, CaseHearing, CaseRemoval, PathFacility
from app.detention.models import END_REASON_LABELS, FACILITY_TYPE_LABELS, BailOutcome, DetentionEpisode, Facility
from app.detention.schemas import (
    BailForm,
    EpisodeEndForm,
    EpisodeStartForm,
    FacilityCloseForm,
    FacilityForm,
    GpExamForm,
    HearingForm,
    HearingOutcomeForm,
    RemovalForm,
    RemovalStatusForm,
    TransferForm,
)
from app.people.dependencies import CaseInScope
from app.people.models import Person
from app.people.service import load_details
from app.web.forms import Posted, shown_on
from app.web.redirects import done
from app.web.templating import render

facilities_router = APIRouter(prefix="/admin/facilities")
ManageReferenceData = Depends(require(Permission.manage_reference_data))
TYPE_CHOICES = [(t.value, label) for t, label in FACILITY_TYPE_LABELS.items()]
LIST_PATH = "/admin/facilities"


def _values_of(facility: Facility) -> dict[str, object]:
    return {
        "name": facility.name, "type": facility.type.value, "operator": facility.operator or "",
        "region": facility.region or "",
        "opened_date": facility.opened_date.isoformat() if facility.opened_date else "",
    }


def _form_page(request: Request, *, facility: Facility | None, values: dict[str, object],
               usage: service.FacilityUsage | None = None) -> Response:
    return render(request, "detention/facility_form.html", {
        "facility": facility, "errors": {}, "values": values, "types": TYPE_CHOICES,
        "type_labels": FACILITY_TYPE_LABELS, "usage": usage,
    })


@facilities_router.get("", dependencies=[ManageReferenceData])
def facilities_list(request: Request, db: DbSession) -> Response:
    facilities = service.list_facilities(db)
    return render(request, "detention/facilities.html", {
        "open_facilities": [f for f in facilities if f.is_active],
        "closed_facilities": [f for f in facilities if not f.is_active],
        "type_labels": FACILITY_TYPE_LABELS,
    })


@facilities_router.get("/new", dependencies=[ManageReferenceData])
def facility_new(request: Request) -> Response:
    return _form_page(request, facility=None, values={})


@facilities_router.post("/new", dependencies=[ManageReferenceData])
def facility_create(db: DbSession, audit: Audit, data: FacilityForm = Posted(FacilityForm)) -> Response:
    facility = service.create_facility(db, name=data.name, type=data.type, operator=data.operator,
                                       region=data.region, opened_date=data.opened_date)
    audit.record("admin.facility_created", facility, name=facility.name, type=facility.type.value)
    return done(LIST_PATH, f"{facility.name} added.")


@facilities_router.get("/{facility_id}", dependencies=[ManageReferenceData])
def facility_edit(request: Request, facility: PathFacility, db: DbSession) -> Response:
    return _form_page(request, facility=facility, values=_values_of(facility),
                      usage=service.facility_usage(db, facility.id))


@facilities_router.post("/{facility_id}", dependencies=[ManageReferenceData])
def facility_update(facility: PathFacility, db: DbSession, audit: Audit,
                    data: FacilityForm = Posted(FacilityForm)) -> Response:
    changes = service.update_facility(db, facility, name=data.name, type=data.type, operator=data.operator,
                                      region=data.region, opened_date=data.opened_date)
    if changes:
        audit.record("admin.facility_changed", facility, changes=changes)
    return done(LIST_PATH, f"{facility.name} updated." if changes else "Nothing was changed.")


@facilities_router.post("/{facility_id}/close", dependencies=[ManageReferenceData])
@shown_on("/admin/facilities/{facility_id}")
def facility_close(facility: PathFacility, db: DbSession, audit: Audit,
                   data: FacilityCloseForm = Posted(FacilityCloseForm)) -> Response:
    service.close_facility(db, facility, closed_date=data.closed_date)
    audit.record("admin.facility_closed", facility, closed_date=data.closed_date.isoformat())
    return done(LIST_PATH, f"{facility.name} closed. It stays on the records that name it.")


@facilities_router.post("/{facility_id}/reopen", dependencies=[ManageReferenceData])
@shown_on("/admin/facilities/{facility_id}")
def facility_reopen(facility: PathFacility, db: DbSession, audit: Audit) -> Response:
    previous = service.reopen_facility(db, facility)
    audit.record("admin.facility_reopened", facility,
                 previous_closed_date=previous.isoformat() if previous else None)
    return done(LIST_PATH, f"{facility.name} is open again.")


# --- detention episodes, transfers, bail (on a person's record) ---------------------------------------

episodes_router = APIRouter(prefix="/people/{reference}/episodes")
EditPerson = Depends(require(Permission.edit_person))


class EpisodeAction(enum.StrEnum):
    """What can be recorded about a detention going on: the `{kind}` of its form pages' paths."""

    transfer = "transfer"
    end = "end"
    bail = "bail"
    exam = "exam"


TITLES = {
    "new": "Record a detention",
    EpisodeAction.transfer: "Record a transfer",
    EpisodeAction.end: "End this detention",
    EpisodeAction.bail: "Record a bail application",
    EpisodeAction.exam: "Record the admission GP examination",
}


def _person_url(person: Person) -> str:
    return f"/people/{person.reference}"


def _episode_page(request: Request, db: Session, person: Person, kind: str,
                  episode: DetentionEpisode | None) -> Response:
    current = service.open_placement(db, episode.id) if episode is not None else None
    return render(request, "detention/episode_form.html", {
        "kind": kind, "title": TITLES[kind], "person": person, "details": load_details(db, person),
        "episode": episode, "current_facility": db.get(Facility, current.facility_id) if current else None,
        "facilities": [(f.id, f.name) for f in service.open_facilities(db)],
        "end_reasons": [(r.value, label) for r, label in END_REASON_LABELS.items()],
        "outcomes": [(o.value, o.value.capitalize()) for o in BailOutcome],
        # These forms add to the record rather than change a field of it: all that is saved is the person's
        # version, which every change to their detention moves on.
        "values": {"version": person.version}, "errors": {},
        "action": request.url.path,
    })


@episodes_router.get("/new", dependencies=[EditPerson])
def episode_new(request: Request, person: CaseInScope, db: DbSession) -> Response:
    return _episode_page(request, db, person, "new", None)


@episodes_router.post("/new")
def episode_create(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                   data: EpisodeStartForm = Posted(EpisodeStartForm)) -> Response:
    episode = service.start_episode(db, user.id, person, data, organisation_today())
    audit.record("detention.episode_started", person, episode_id=episode.id)
    return done(_person_url(person), "Detention recorded.")


@episodes_router.get("/{episode_id}/{kind}", dependencies=[EditPerson])
def episode_action_form(request: Request, person: CaseInScope, episode: CaseEpisode, kind: EpisodeAction,
                        db: DbSession) -> Response:
    if episode.end_date is not None:
        return done(_person_url(person), "That detention has already ended.", kind="warning")
    return _episode_page(request, db, person, kind, episode)


@episodes_router.post("/{episode_id}/transfer")
def episode_transfer(person: CaseInScope, episode: CaseEpisode, db: DbSession, audit: Audit,
                     user: User = EditPerson, data: TransferForm = Posted(TransferForm)) -> Response:
    placement = service.record_transfer(db, user.id, person, episode, data, organisation_today())
    audit.record("detention.transferred", person, episode_id=episode.id, placement_id=placement.id)
    return done(_person_url(person), "Transfer recorded.")


@episodes_router.post("/{episode_id}/end")
def episode_end(person: CaseInScope, episode: CaseEpisode, db: DbSession, audit: Audit,
                user: User = EditPerson, data: EpisodeEndForm = Posted(EpisodeEndForm)) -> Response:
    service.end_episode(db, user.id, person, episode, data, organisation_today())
    audit.record("detention.episode_ended", person, episode_id=episode.id, reason=data.end_reason.value)
    return done(_person_url(person), "Detention ended.")


@episodes_router.post("/{episode_id}/bail")
def episode_bail(person: CaseInScope, episode: CaseEpisode, db: DbSession, audit: Audit,
                 user: User = EditPerson, data: BailForm = Posted(BailForm)) -> Response:
    service.record_bail(db, user.id, person, episode, data, organisation_today())
    audit.record("detention.bail_recorded", person, episode_id=episode.id, bail_outcome=data.outcome.value)
    return done(_person_url(person), "Bail application recorded.")


@episodes_router.post("/{episode_id}/exam")
def episode_gp_exam(person: CaseInScope, episode: CaseEpisode, db: DbSession, audit: Audit,
                    user: User = EditPerson, data: GpExamForm = Posted(GpExamForm)) -> Response:
    placement = service.record_gp_exam(db, user.id, person, episode, data)
    audit.record("detention.gp_exam_recorded", person, episode_id=episode.id, placement_id=placement.id)
    return done(_person_url(person), "Admission GP examination recorded.")


# --- removal directions (forms on the person page) ---------------------------------------------------------

removals_router = APIRouter(prefix="/people/{reference}/removals")


@removals_router.post("")
@shown_on("/people/{reference}")
def removal_record(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                   data: RemovalForm = Posted(RemovalForm)) -> Response:
    direction = removals.record(db, user, person, data)
    audit.record("removal.recorded", direction, removal_id=direction.id, status=direction.status.value)
    return done(_person_url(person) + "#removals-section", "Removal direction recorded.")


@removals_router.post("/{removal_id}/status")
@shown_on("/people/{reference}")
def removal_status(person: CaseInScope, direction: CaseRemoval, db: DbSession, audit: Audit,
                   user: User = EditPerson, data: RemovalStatusForm = Posted(RemovalStatusForm)) -> Response:
    previous = direction.status
    ended = removals.change_status(db, user, person, direction, data.version, data.status,
                                   end_detention=data.end_detention)
    audit.record("removal.status_changed", direction, removal_id=direction.id, status=direction.status.value,
                 previous_status=previous.value, detention_ended=ended)
    return done(_person_url(person) + "#removals-section",
                "Removal recorded as carried out and the detention ended." if ended else "Removal updated.")


# --- hearings (forms on the person page) ----------------------------------------------------------------------

hearings_router = APIRouter(prefix="/people/{reference}/hearings")


@hearings_router.post("")
@shown_on("/people/{reference}")
def hearing_record(person: CaseInScope, db: DbSession, audit: Audit, user: User = EditPerson,
                   data: HearingForm = Posted(HearingForm)) -> Response:
    hearing = hearings.record(db, user, person, data)
    audit.record("hearing.recorded", hearing, hearing_id=hearing.id, kind=hearing.kind.value)
    return done(_person_url(person) + "#hearings-section", "Hearing recorded.")


@hearings_router.post("/{hearing_id}/outcome")
@shown_on("/people/{reference}")
def hearing_outcome(person: CaseInScope, hearing: CaseHearing, db: DbSession, audit: Audit,
                    user: User = EditPerson, data: HearingOutcomeForm = Posted(HearingOutcomeForm)) -> Response:
    bail = hearings.record_outcome(db, user, person, hearing, data.version, data.outcome)
    audit.record("hearing.outcome_recorded", hearing, hearing_id=hearing.id,
                 hearing_outcome=hearing.outcome.value if hearing.outcome else None, bail_updated=bail)
    return done(_person_url(person) + "#hearings-section",
                "Outcome recorded, and the detention's bail record updated." if bail else "Outcome recorded.")
