"""Forms for the admin's facility pages: a facility's details, and closing it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.detention.models import FacilityType

# Date inputs send ISO dates; where a browser shows a plain text box, people type UK-style dates.
TYPED_DATE_FORMATS = ("%d %B %Y", "%d %b %Y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def _typed_date(value: object) -> object:
    """Read "3 March 2026", "3 Mar 2026" or "03/03/2026" as well as ISO; anything else is left for pydantic
    to refuse with its date message."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    for fmt in TYPED_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time or zone)
        except ValueError:
            continue
    return value


class FacilityForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(title="The facility's name", min_length=1, max_length=120)
    type: FacilityType = Field(title="The type of facility")
    operator: str | None = Field(default=None, title="The operator", max_length=120)
    region: str | None = Field(default=None, title="The region", max_length=80)
    opened_date: date | None = Field(default=None, title="The opening date")

    @field_validator("opened_date", mode="before")
    @classmethod
    def _opened_date(cls, value: object) -> object:
        return _typed_date(value)


class FacilityCloseForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_date: date = Field(title="The closing date")

    @field_validator("closed_date", mode="before")
    @classmethod
    def _closed_date(cls, value: object) -> object:
        return _typed_date(value)
