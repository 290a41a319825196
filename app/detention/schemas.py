"""Forms for facilities, detentions, transfers, bail and GP exams."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.dates import typed_date
from app.detention.models import BailOutcome, EndReason, FacilityType, HearingKind, HearingOutcome, RemovalStatus
from app.web.params import FormId, VersionToken


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
        return typed_date(value)


class FacilityCloseForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_date: date = Field(title="The closing date")

    @field_validator("closed_date", mode="before")
    @classmethod
    def _closed_date(cls, value: object) -> object:
        return typed_date(value)


def local_datetime(value: object) -> object:
    """A `datetime-local` input ("2026-03-12T10:30", or with a space) read in the organisation's time zone
    and returned as an aware UTC datetime. Anything else is left for pydantic to refuse."""
    if isinstance(value, str) and value.strip():
        from app.config import get_settings

        try:
            naive = datetime.fromisoformat(value.strip().replace(" ", "T"))
        except ValueError:
            return value
        if naive.tzinfo is None:
            return naive.replace(tzinfo=get_settings().zone).astimezone(UTC)
        return naive.astimezone(UTC)
    return value


def _dates(*names: str) -> Any:
    return field_validator(*names, mode="before")(lambda cls, value: typed_date(value))


class EpisodeStartForm(BaseModel):
    """A detention: where and when it began, and, for one recorded after the fact, when and why it ended."""

    model_config = ConfigDict(extra="forbid")

    facility_id: FormId = Field(title="Facility")
    start_date: date = Field(title="Date detained")
    end_date: date | None = Field(default=None, title="Date the detention ended")
    end_reason: EndReason | None = Field(default=None, title="Why the detention ended")
    arrived_at: datetime | None = Field(default=None, title="Time of arrival")
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("start_date", "end_date")
    _parse_times = field_validator("arrived_at", mode="before")(lambda cls, value: local_datetime(value))


class TransferForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facility_id: FormId = Field(title="Facility moved to")
    transfer_date: date = Field(title="Date of the transfer")
    arrived_at: datetime | None = Field(default=None, title="Time of arrival")
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("transfer_date")
    _parse_times = field_validator("arrived_at", mode="before")(lambda cls, value: local_datetime(value))


class EpisodeEndForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: date = Field(title="Date the detention ended")
    end_reason: EndReason = Field(title="Why the detention ended")
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("end_date")


class BailForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_date: date = Field(title="Date of the bail application")
    outcome: BailOutcome = Field(title="Outcome")
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("application_date")


class GpExamForm(BaseModel):
    """The centre GP's examination after arrival (Detention Centre Rules r.34; STHF Rules r.30)."""

    model_config = ConfigDict(extra="forbid")

    gp_exam_at: datetime = Field(title="Time of the GP examination")
    version: VersionToken = Field(default=None, title="Version")

    _parse_times = field_validator("gp_exam_at", mode="before")(lambda cls, value: local_datetime(value))


class RemovalForm(BaseModel):
    """A removal direction as the Home Office set it."""

    model_config = ConfigDict(extra="forbid")

    removal_at: datetime = Field(title="Date and time of the removal")
    carrier: str = Field(title="Airline and flight, or charter", min_length=1, max_length=120)
    destination: str = Field(title="Destination", min_length=1, max_length=120)
    source: str | None = Field(default=None, title="Where we heard of it", max_length=200)
    version: VersionToken = Field(default=None, title="Version")

    _parse_times = field_validator("removal_at", mode="before")(lambda cls, value: local_datetime(value))


class RemovalStatusForm(BaseModel):
    """What became of a removal direction; a removal carried out may end the detention in the same step."""

    model_config = ConfigDict(extra="forbid")

    # Optional here and required by the service: an empty form posted to an id that cannot exist must reach the
    # 404 for the id, not a 422 for the empty field shown on the person page.
    status: RemovalStatus | None = Field(default=None, title="What happened")
    end_detention: bool = Field(default=False, title="End the detention on the day of the removal")
    version: VersionToken = Field(default=None, title="Version")


class HearingForm(BaseModel):
    """A hearing as it was listed."""

    model_config = ConfigDict(extra="forbid")

    kind: HearingKind = Field(title="Kind of hearing")
    hearing_at: datetime = Field(title="Date and time of the hearing")
    venue: str | None = Field(default=None, title="Venue", max_length=160)
    remote: bool = Field(default=False, title="Heard remotely (video or phone)")
    version: VersionToken = Field(default=None, title="Version")

    _parse_times = field_validator("hearing_at", mode="before")(lambda cls, value: local_datetime(value))


class HearingOutcomeForm(BaseModel):
    """How a hearing ended. Optional here and required by the service, as for removal directions."""

    model_config = ConfigDict(extra="forbid")

    outcome: HearingOutcome | None = Field(default=None, title="Outcome")
    version: VersionToken = Field(default=None, title="Version")
