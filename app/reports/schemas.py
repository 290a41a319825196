"""Forms of the reports pages: summary parameters, narrative redactions and approvals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.detention.models import FacilityType
from app.errors import RuleBroken
from app.reports import periods
from app.reports.periods import Period
from app.web.params import VersionToken


class SummaryForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field(title="Period")
    facility_type: FacilityType | None = Field(default=None, title="Type of place")
    region: str | None = Field(default=None, title="Region", max_length=80)
    rounding: bool = Field(default=False, title="Round to the nearest 5")
    output_format: Literal["html", "csv", "pdf", "json"] = Field(default="html", title="Format")
    override_reason: str | None = Field(default=None, title="Reason for overriding", max_length=2000)

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: object) -> object:
        if isinstance(value, Period):
            return value
        period = periods.parse(value) if isinstance(value, str) else None
        if period is None:
            raise RuleBroken({"period": "Choose a whole month, quarter or year from the list."})
        return period


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
