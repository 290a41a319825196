"""Forms of the whole record: closing and reopening the case, setting a legal hold, and confirming an erasure."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.casefile.erasure import ErasureReason
from app.dates import typed_date
from app.people.models import ClosingReason
from app.web.params import FormId, VersionToken


class LegalHoldForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(title="Why the record must be kept", max_length=2000)


class ErasureForm(BaseModel):
    """The erasure confirmation: the record's reference typed again, and why it is being erased."""

    model_config = ConfigDict(extra="forbid")

    confirm_reference: str = Field(title="The record's reference", max_length=40)
    reason: ErasureReason = Field(title="Why the record is being erased")

    @field_validator("reason")
    @classmethod
    def _chosen_by_hand(cls, value: ErasureReason) -> ErasureReason:
        if value is ErasureReason.retention:
            raise ValueError("Records past their retention period are erased by the retention command.")
        return value


class CloseCaseForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_date: date = Field(title="Date the case closed")
    closing_reason: ClosingReason = Field(title="Why the case is closing")
    version: VersionToken = Field(default=None, title="Version")

    @field_validator("closed_date", mode="before")
    @classmethod
    def _typed(cls, value: object) -> object:
        return typed_date(value)


class HandoverForm(BaseModel):
    """Handing the case to another coordinator. Who takes it is checked by the service, so a missing choice is
    answered beside the field on the person page."""

    model_config = ConfigDict(extra="forbid")

    to_user_id: FormId | None = Field(default=None, title="Who takes the case over")
    note: str | None = Field(default=None, title="Note for them", max_length=4000)
    version: VersionToken = Field(default=None, title="Version")


class ReopenCaseForm(BaseModel):
    """The reopen button: nothing but the version the record was read at."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
