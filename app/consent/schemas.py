"""Forms for recording a consent and for recording its withdrawal, with the plain labels pages show."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.consent.models import ConsentMethod, ConsentPurpose
from app.dates import typed_date
from app.errors import RuleBroken
from app.web.params import FormId, VersionToken

PURPOSE_LABELS: dict[ConsentPurpose, str] = {
    ConsentPurpose.care_record: "Care record",
    ConsentPurpose.share_with_organisation: "Share with an organisation",
    ConsentPurpose.home_office_submission: "Home Office submission",
    ConsentPurpose.medico_legal_report: "Medico-legal report",
    ConsentPurpose.anonymised_research: "Anonymised research",
}

METHOD_LABELS: dict[ConsentMethod, str] = {
    ConsentMethod.verbal: "Verbal",
    ConsentMethod.verbal_with_interpreter: "Verbal, with an interpreter",
    ConsentMethod.written: "Written",
    ConsentMethod.written_with_interpreter: "Written, with an interpreter",
}

INTERPRETED_METHODS = frozenset({ConsentMethod.verbal_with_interpreter, ConsentMethod.written_with_interpreter})


def _dates(*names: str) -> Any:
    return field_validator(*names, mode="before")(lambda cls, value: typed_date(value))


class ConsentForm(BaseModel):
    """A consent as the person gave it. The organisation is named only for a consent to share."""

    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose = Field(title="What the consent is for")
    organisation_id: FormId | None = Field(default=None, title="Organisation")
    given_date: date = Field(title="Date consent was given")
    method: ConsentMethod = Field(title="How consent was given")
    interpreter_language: str | None = Field(default=None, title="Interpreter's language", max_length=60)
    notes: str | None = Field(default=None, title="Notes", max_length=4000)
    # The person's version the form was loaded at (consents have none of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("given_date")

    @model_validator(mode="after")
    def _consistent(self) -> ConsentForm:
        problems: dict[str, str] = {}
        if self.purpose is ConsentPurpose.share_with_organisation and self.organisation_id is None:
            problems["organisation_id"] = "Choose the organisation the person agreed to share with."
        elif self.purpose is not ConsentPurpose.share_with_organisation and self.organisation_id is not None:
            problems["organisation_id"] = ("Only a consent to share names an organisation: clear the organisation, "
                                           "or choose Share with an organisation.")
        if self.method in INTERPRETED_METHODS and not self.interpreter_language:
            problems["interpreter_language"] = "Enter the language the interpreter used."
        if problems:
            raise RuleBroken(problems)
        return self


class WithdrawForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawn_date: date = Field(title="Date consent was withdrawn")
    # The person's version the form was loaded at (consents have none of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("withdrawn_date")
