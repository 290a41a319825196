"""Forms of the whole record: setting a legal hold, and confirming an erasure."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.casefile.erasure import ErasureReason


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
