"""Forms for planning a visit, changing it, cancelling it and logging it; what each field is called on the pages."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.detention.schemas import local_datetime
from app.visits.models import PlannedVisitStatus
from app.web.params import FormId, FormInt, VersionToken

MAX_MINUTES = 24 * 60
NOTES_LIMIT = 4000
# Digits, spaces and the signs people write phone numbers with.
PHONE = re.compile(r"^[0-9 +()\-]{6,40}$")

STATUS_LABELS = {PlannedVisitStatus.planned: "Planned", PlannedVisitStatus.cancelled: "Cancelled",
                 PlannedVisitStatus.logged: "Logged"}
# What the form, the planned visit page and the conflict page call each field.
FIELD_LABELS = {
    "clinician_id": "Clinician",
    "facility_id": "Centre",
    "starts_at": "Date and time",
    "duration_minutes": "Length in minutes",
    "booking_reference": "Legal-visit booking reference",
    "interpreter_booked": "Interpreter booked",
    "interpreter_language": "Interpreter's language",
    "interpreter_name": "Interpreter's name",
    "interpreter_phone": "Interpreter's phone number",
    "notes": "Notes for the visitor",
}


class PlannedVisitForm(BaseModel):
    """A visit planned ahead. Field order matters: the interpreter's details are checked against the box."""

    model_config = ConfigDict(extra="forbid")

    # None: the clinician planning their own visit (the form offers a choice to coordinators only).
    clinician_id: FormId | None = Field(default=None, title="The clinician")
    facility_id: FormId | None = Field(default=None, title="The centre", validate_default=True)
    starts_at: datetime = Field(title="The date and time of the visit")
    duration_minutes: FormInt = Field(default=60, title="The length in minutes")
    booking_reference: str | None = Field(default=None, title="The legal-visit booking reference", max_length=40)
    interpreter_booked: bool = Field(default=False, title="Interpreter booked")
    interpreter_language: str | None = Field(default=None, title="The interpreter's language", max_length=60,
                                             validate_default=True)
    interpreter_name: str | None = Field(default=None, title="The interpreter's name", max_length=120)
    interpreter_phone: str | None = Field(default=None, title="The interpreter's phone number", max_length=40)
    notes: str | None = Field(default=None, title="Notes for the visitor", max_length=NOTES_LIMIT)
    # The edit form carries the planned visit's version; a form loaded before someone else saved is refused.
    version: VersionToken = Field(default=None, title="Version")

    _parse_times = field_validator("starts_at", mode="before")(lambda cls, value: local_datetime(value))

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:  # a form that local_datetime could not read but pydantic could
            raise ValueError("Enter the date and time of the visit as a real date and time, for example "
                             "3 March 2026 at 10:30.")
        return value

    @field_validator("facility_id")
    @classmethod
    def _facility_chosen(cls, value: int | None) -> int | None:
        if value is None:
            raise ValueError("Choose the centre from the list.")
        return value

    @field_validator("duration_minutes")
    @classmethod
    def _duration_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_MINUTES:
            raise ValueError(f"The length must be between 1 and {MAX_MINUTES} minutes (24 hours).")
        return value

    @field_validator("interpreter_language")
    @classmethod
    def _language_when_booked(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("interpreter_booked") and not value:
            raise ValueError("Enter the language the interpreter will use.")
        return value

    @field_validator("interpreter_name", "interpreter_phone")
    @classmethod
    def _details_when_booked(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("interpreter_booked") is False:
            what = "name" if info.field_name == "interpreter_name" else "phone number"
            raise ValueError(f"Tick \u201cInterpreter booked\u201d, or clear the interpreter's {what}.")
        return value

    @field_validator("interpreter_phone")
    @classmethod
    def _phone_shape(cls, value: str | None) -> str | None:
        if value and not PHONE.match(value):
            raise ValueError("Enter the interpreter's phone number in digits, for example 07700 900123.")
        return value


class PlannedVisitActionForm(BaseModel):
    """Cancelling a planned visit, or logging it as a draft visit: the version the page showed."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
