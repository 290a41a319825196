"""What the API sends and accepts: XRead models built from the domain's records, XWrite models that become the
pages' own forms (so a write is checked by exactly the rules the form is), and the page envelope."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.people.models import AarIndicator
from app.visits.models import RiskLevel, VisitMode
from app.visits.schemas import TEXT_LIMIT, VisitForm
from app.web.params import MAX_ID
from app.work.models import NoteKind, NoteWith
from app.work.schemas import SUMMARY_LIMIT, NoteForm

T = TypeVar("T")


class PageOf(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next: str | None = Field(description="The address of the next page; null on the last")


class PersonListed(BaseModel):
    reference: str
    status: str
    opened_date: date
    closed_date: date | None


class PersonRead(BaseModel):
    reference: str
    given_names: str | None
    family_name: str | None
    status: str
    nationality: str | None
    interpreter_needed: bool
    opened_date: date
    closed_date: date | None
    aar_level: int | None


class PlacementRead(BaseModel):
    id: int
    facility: str
    date_in: date
    date_out: date | None


class EpisodeRead(BaseModel):
    id: int
    start_date: date
    end_date: date | None
    end_reason: str | None
    last_bail_application_date: date | None
    last_bail_outcome: str | None
    placements: list[PlacementRead]


class VisitRead(BaseModel):
    id: int
    visit_date: date
    status: str
    mode: str
    clinician_id: int
    risk: str | None
    follow_up_date: date | None
    signed_at: datetime | None


class ReferralRead(BaseModel):
    id: int
    organisation: str
    status: str
    made_date: date | None
    response_date: date | None
    follow_up_date: date | None


class RequestRead(BaseModel):
    reference: str
    received_at: datetime
    channel: str
    urgency: str
    needs: list[str]
    decision: str | None
    person_reference: str | None


class TaskRead(BaseModel):
    id: int
    title: str
    person_reference: str | None
    due_date: date | None
    made_at: datetime


class VisitWrite(BaseModel):
    """A draft visit, checked by the visit form's own rules."""

    model_config = ConfigDict(extra="forbid")

    visit_date: date
    facility_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    mode: VisitMode
    interpreter_used: bool = False
    interpreter_language: str | None = Field(default=None, max_length=60)
    duration_minutes: int | None = Field(default=None, ge=1, le=1440)
    presenting_concerns: str | None = Field(default=None, max_length=TEXT_LIMIT)
    findings: str | None = Field(default=None, max_length=TEXT_LIMIT)
    risk: RiskLevel | None = None
    aar_indicators: list[AarIndicator] = Field(default_factory=list, max_length=20)
    actions: str | None = Field(default=None, max_length=TEXT_LIMIT)
    follow_up_date: date | None = None

    def as_form(self) -> VisitForm:
        return VisitForm.model_validate(self.model_dump())


class VisitCreated(BaseModel):
    id: int
    status: str
    url: str


class NoteWrite(BaseModel):
    """A case note, checked by the note form's own rules."""

    model_config = ConfigDict(extra="forbid")

    kind: NoteKind
    with_whom: NoteWith
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    happened_at: AwareDatetime = Field(description="With a UTC offset, e.g. 2026-12-07T10:30:00Z")
    summary: str = Field(min_length=1, max_length=SUMMARY_LIMIT)

    def as_form(self) -> NoteForm:
        return NoteForm.model_validate({"note_kind": self.kind, "with_whom": self.with_whom,
                                        "organisation_id": self.organisation_id, "happened_at": self.happened_at,
                                        "summary": self.summary})


class NoteCreated(BaseModel):
    id: int
