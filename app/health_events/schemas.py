"""Forms for recording a health event and for recording when an ongoing one ended; plain labels for kinds.

Times are typed in the organisation's time zone and turned into aware UTC here, so the rest of the code
only ever sees UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.config import get_settings
from app.dates import format_datetime as _day
from app.dates import typed_date
from app.errors import RuleBroken
from app.health_events.models import HealthEventKind

KIND_LABELS = {
    HealthEventKind.self_harm: "Self-harm",
    HealthEventKind.acdt_opened: "ACDT opened",
    HealthEventKind.acdt_closed: "ACDT closed",
    HealthEventKind.food_refusal: "Food refusal",
    HealthEventKind.fluid_refusal: "Fluid refusal",
    HealthEventKind.segregation: "Segregation",
    HealthEventKind.use_of_force: "Use of force",
    HealthEventKind.hospital_transfer: "Transfer to hospital",
    HealthEventKind.missed_appointment: "Missed appointment",
}
# Kinds that last a while and are "ongoing" until their end is recorded; the others are single moments.
LASTING_KINDS = frozenset({HealthEventKind.food_refusal, HealthEventKind.fluid_refusal,
                           HealthEventKind.segregation, HealthEventKind.hospital_transfer,
                           HealthEventKind.acdt_opened})
# Kinds whose length is shown (the food and fluid refusal thresholds are counted in hours).
TIMED_KINDS = frozenset({HealthEventKind.food_refusal, HealthEventKind.fluid_refusal})

TIME_RE = re.compile(r"^(\d{1,2})[:.](\d{2})(?::\d{2})?$")


def typed_time(value: object) -> object:
    """Read "14:30", "9:05", "14.30" or a browser's "14:30:00"; anything else is refused with a plain message."""
    if not isinstance(value, str):
        return value
    match = TIME_RE.match(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError("Enter the time as hours and minutes on the 24-hour clock, for example 14:30.")
    return time(int(match[1]), int(match[2]))


def to_utc(day: date, at: time) -> datetime:
    """A local date and time in the organisation's zone as aware UTC. Raises ValueError for a time that did
    not exist locally (the hour skipped when the clocks go forward)."""
    zone = get_settings().zone
    local = datetime.combine(day, at, tzinfo=zone)
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError("That time did not exist here: the clocks went forward. Enter the time as it was shown.")
    return moment



class _Times(BaseModel):
    @field_validator("started_date", "ended_date", mode="before", check_fields=False)
    @classmethod
    def _dates(cls, value: object) -> object:
        return typed_date(value)

    @field_validator("started_time", "ended_time", mode="before", check_fields=False)
    @classmethod
    def _times(cls, value: object) -> object:
        return typed_time(value)


class HealthEventForm(_Times):
    model_config = ConfigDict(extra="forbid")

    kind: HealthEventKind | None = Field(default=None, title="What happened", validate_default=True)
    started_date: date = Field(title="The date it started")
    started_time: time = Field(title="The time it started")
    ended_date: date | None = Field(default=None, title="The date it ended")
    ended_time: time | None = Field(default=None, title="The time it ended")
    notes: str | None = Field(default=None, title="Notes", max_length=4000)

    @field_validator("kind")
    @classmethod
    def _kind_chosen(cls, value: HealthEventKind | None) -> HealthEventKind | None:
        if value is None:
            raise ValueError("Choose what happened.")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HealthEventForm:
        problems: dict[str, str] = {}
        now = datetime.now(UTC)
        started = ended = None
        try:
            started = to_utc(self.started_date, self.started_time)
        except ValueError as exc:
            problems["started_time"] = str(exc)
        if started is not None and started > now:
            problems["started_date"] = "The start cannot be in the future."
        if (self.ended_date is None) != (self.ended_time is None):
            missing = "ended_time" if self.ended_time is None else "ended_date"
            problems[missing] = ("Enter the time it ended as well as the date." if missing == "ended_time"
                                 else "Enter the date it ended as well as the time.")
        elif self.ended_date is not None and self.ended_time is not None:
            try:
                ended = to_utc(self.ended_date, self.ended_time)
            except ValueError as exc:
                problems["ended_time"] = str(exc)
        if ended is not None:
            if ended > now:
                problems["ended_date"] = "The end cannot be in the future. Leave it empty while it is ongoing."
            elif started is not None and ended <= started:
                problems["ended_date"] = f"The end must be after the start ({_day(started)})."
        if problems:
            raise RuleBroken(problems)
        return self

    @property
    def started_at(self) -> datetime:
        return to_utc(self.started_date, self.started_time)

    @property
    def ended_at(self) -> datetime | None:
        if self.ended_date is None or self.ended_time is None:
            return None
        return to_utc(self.ended_date, self.ended_time)


class HealthEventEndForm(_Times):
    model_config = ConfigDict(extra="forbid")

    ended_date: date = Field(title="The date it ended")
    ended_time: time = Field(title="The time it ended")

    @model_validator(mode="after")
    def _real_time(self) -> HealthEventEndForm:
        try:
            moment = to_utc(self.ended_date, self.ended_time)
        except ValueError as exc:
            raise RuleBroken({"ended_time": str(exc)}) from None
        if moment > datetime.now(UTC):
            raise RuleBroken({"ended_date": "The end cannot be in the future."})
        return self

    @property
    def ended_at(self) -> datetime:
        return to_utc(self.ended_date, self.ended_time)
