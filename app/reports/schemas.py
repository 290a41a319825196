"""Forms of the reports pages: summary parameters, narrative redactions and approvals."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.dates import typed_date
from app.detention.models import FacilityType
from app.errors import RuleBroken
from app.web.params import VersionToken

# A summary covers at most this long: longer periods are several releases, each checked against the others.
MAX_PERIOD_DAYS = 366 * 5


class SummaryForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: date = Field(title="Start of the period")
    end_date: date = Field(title="End of the period")
    facility_type: FacilityType | None = Field(default=None, title="Type of place")
    region: str | None = Field(default=None, title="Region", max_length=80)
    rounding: bool = Field(default=False, title="Round to the nearest 5")
    output_format: Literal["html", "csv", "pdf", "json"] = Field(default="html", title="Format")
    override_reason: str | None = Field(default=None, title="Reason for overriding", max_length=2000)

    @field_validator("start_date", "end_date", mode="before")
    @classmethod
    def _typed(cls, value: object) -> object:
        return typed_date(value)

    @model_validator(mode="after")
    def _period(self) -> SummaryForm:
        if self.end_date < self.start_date:
            raise RuleBroken({"end_date": "The end of the period must be on or after its start."})
        if (self.end_date - self.start_date).days > MAX_PERIOD_DAYS:
            raise RuleBroken({"end_date": "A summary covers at most five years."})
        return self


class RedactionsForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extra_redactions: str | None = Field(default=None, title="Further words to redact", max_length=4000)
    keep_facility: bool = Field(default=False, title="Name the place of detention")
    # The narrative's version when the page was loaded; missing or unreadable counts as stale.
    version: VersionToken = Field(default=None, title="Version")

    def terms(self) -> list[str]:
        seen: list[str] = []
        for line in (self.extra_redactions or "").splitlines():
            term = line.strip()
            if term and term not in seen:
                seen.append(term)
        return seen

    @model_validator(mode="after")
    def _short_terms(self) -> RedactionsForm:
        short = [t for t in self.terms() if len(t) < 2]
        if short:
            raise RuleBroken({"extra_redactions": "Each word to redact needs at least two characters."})
        return self


class VersionForm(BaseModel):
    """The submit, send-back and approve buttons: nothing but the version the narrative was read at."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")


class ExportForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output_format: Literal["html", "pdf"] = Field(title="Format")
