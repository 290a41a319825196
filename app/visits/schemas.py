"""Forms for logging and changing a visit, and for adding an addendum to a signed one; plain labels for codes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.config import get_settings, organisation_today
from app.dates import format_date as _day
from app.dates import typed_date
from app.people.models import AarIndicator
from app.visits.models import RiskLevel, VisitMode, VisitStatus
from app.web.params import FormId, FormInt, VersionToken

MODE_LABELS = {
    VisitMode.in_person: "In person",
    VisitMode.legal_visit_room: "In a legal visit room",
    VisitMode.phone: "By phone",
    VisitMode.video: "By video",
}
RISK_LABELS = {
    RiskLevel.none: "No risk identified",
    RiskLevel.low: "Low",
    RiskLevel.moderate: "Moderate",
    RiskLevel.high: "High",
}
STATUS_LABELS = {VisitStatus.draft: "Draft", VisitStatus.signed: "Signed"}
# What the form, the visit page and the conflict page call each field.
FIELD_LABELS = {
    "visit_date": "Date of the visit",
    "facility_id": "Facility",
    "mode": "How the visit was made",
    "interpreter_used": "Interpreter used",
    "interpreter_language": "Interpreter's language",
    "duration_minutes": "Duration in minutes",
    "presenting_concerns": "Presenting concerns",
    "findings": "Findings",
    "risk": "Self-harm or suicide risk",
    "aar_indicators": "Adults at Risk indicators observed",
    "actions": "Actions",
    "follow_up_date": "Follow-up due",
}
TEXT_LIMIT = 20000
ADDENDUM_LIMIT = 10000
MAX_MINUTES = 24 * 60



class VisitForm(BaseModel):
    """What a clinician types about a visit. Field order matters: later checks read earlier fields."""

    model_config = ConfigDict(extra="forbid")

    visit_date: date = Field(title="The date of the visit")
    facility_id: FormId | None = Field(default=None, title="Facility")
    mode: VisitMode | None = Field(default=None, title="How the visit was made", validate_default=True)
    interpreter_used: bool = Field(default=False, title="Interpreter used")
    interpreter_language: str | None = Field(default=None, title="The interpreter's language", max_length=60,
                                             validate_default=True)
    duration_minutes: FormInt | None = Field(default=None, title="The duration in minutes")
    presenting_concerns: str | None = Field(default=None, title="Presenting concerns", max_length=TEXT_LIMIT)
    findings: str | None = Field(default=None, title="Findings", max_length=TEXT_LIMIT)
    risk: RiskLevel | None = Field(default=None, title="Self-harm or suicide risk")
    aar_indicators: list[AarIndicator] = Field(default_factory=list, title="Adults at Risk indicators observed")
    actions: str | None = Field(default=None, title="Actions", max_length=TEXT_LIMIT)
    follow_up_date: date | None = Field(default=None, title="The follow-up date")
    # The edit form carries the visit's version; a form loaded before someone else saved is refused.
    version: VersionToken = Field(default=None, title="Version")

    @field_validator("visit_date", "follow_up_date", mode="before")
    @classmethod
    def _typed_dates(cls, value: object) -> object:
        return typed_date(value)

    @field_validator("visit_date")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > organisation_today(get_settings()):
            raise ValueError("The date of the visit cannot be in the future.")
        return value

    @field_validator("mode")
    @classmethod
    def _mode_chosen(cls, value: VisitMode | None) -> VisitMode | None:
        if value is None:
            raise ValueError("Choose how the visit was made.")
        return value

    @field_validator("interpreter_language")
    @classmethod
    def _language_when_used(cls, value: str | None, info: ValidationInfo) -> str | None:
        used = info.data.get("interpreter_used")
        if used and not value:
            raise ValueError("Enter the language the interpreter used.")
        if value and used is False:
            raise ValueError("Tick \u201cInterpreter used\u201d, or clear the language.")
        return value

    @field_validator("duration_minutes")
    @classmethod
    def _duration_range(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_MINUTES:
            raise ValueError(f"The duration must be between 1 and {MAX_MINUTES} minutes (24 hours).")
        return value

    @field_validator("follow_up_date")
    @classmethod
    def _follow_up_after_visit(cls, value: date | None, info: ValidationInfo) -> date | None:
        visit_date = info.data.get("visit_date")
        if value is not None and visit_date is not None and value < visit_date:
            raise ValueError(f"The follow-up date must be on or after the date of the visit ({_day(visit_date)}).")
        return value

    @field_validator("aar_indicators")
    @classmethod
    def _distinct(cls, value: list[AarIndicator]) -> list[AarIndicator]:
        return sorted(set(value), key=list(AarIndicator).index)


class AddendumForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(title="The addendum", min_length=1, max_length=ADDENDUM_LIMIT)


class SignForm(BaseModel):
    """Signing a draft: the author confirms the declaration on the page that shows what will be signed."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
    declaration: bool = Field(default=False, title="Declaration")
