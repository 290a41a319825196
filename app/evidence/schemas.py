"""Forms for evidence items, findings and Rule 35 records, with the rules that tie their fields together."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.dates import typed_date
from app.errors import RuleBroken
from app.evidence.body_regions import BY_CODE
from app.evidence.models import (
    SIZE_LIMIT_MM,
    Consistency,
    EvidenceKind,
    LesionAge,
    LesionType,
    Rule35Limb,
    Rule35Outcome,
    Sensitivity,
)
from app.web.params import FormId, FormInt, VersionToken

KIND_LABELS: dict[EvidenceKind, str] = {
    EvidenceKind.medico_legal_report: "Medico-legal report",
    EvidenceKind.rule35_report: "Rule 35 report",
    EvidenceKind.gp_records: "GP records",
    EvidenceKind.hospital_letter: "Hospital letter",
    EvidenceKind.psychiatric_report: "Psychiatric report",
    EvidenceKind.photographs: "Photographs",
    EvidenceKind.body_map: "Body map",
    EvidenceKind.home_office_response: "Home Office response",
    EvidenceKind.other: "Other evidence",
}

SENSITIVITY_LABELS: dict[Sensitivity, str] = {
    Sensitivity.standard: "Standard",
    Sensitivity.high: "High (for example photographs of scars, sexual violence)",
}

# Istanbul Protocol (2022 edition, para. 400): how far a finding is consistent with the attributed cause.
CONSISTENCY_LABELS: dict[Consistency, str] = {
    Consistency.not_consistent: "Not consistent",
    Consistency.consistent: "Consistent",
    Consistency.highly_consistent: "Highly consistent",
    Consistency.typical: "Typical of",
    Consistency.diagnostic: "Diagnostic of",
}

# Istanbul Protocol (2022 edition, para. 401): the overall evaluation of all the findings together, which is what
# counts in assessing the account of torture, rather than the consistency of each lesion.
OVERALL_EVALUATION_LABELS: dict[Consistency, str] = {
    Consistency.not_consistent: "Not consistent with the account",
    Consistency.consistent: "Consistent with the account",
    Consistency.highly_consistent: "Highly consistent with the account",
    Consistency.typical: "Typical of the account",
    Consistency.diagnostic: "Diagnostic of the account",
}

LESION_TYPE_LABELS: dict[LesionType, str] = {
    LesionType.abrasion: "Abrasion",
    LesionType.bruise: "Bruise",
    LesionType.laceration: "Laceration",
    LesionType.scar: "Scar",
    LesionType.burn: "Burn",
    LesionType.incised_wound: "Incised wound",
    LesionType.puncture: "Puncture wound",
    LesionType.fracture_deformity: "Fracture deformity",
    LesionType.pigmentation_change: "Change in pigmentation",
    LesionType.other: "Other lesion or symptom",
}

LESION_AGE_LABELS: dict[LesionAge, str] = {
    LesionAge.recent: "Recent (less than 2 weeks)",
    LesionAge.weeks: "Weeks (2 to 6 weeks)",
    LesionAge.months: "Months (6 weeks to 6 months)",
    LesionAge.over_6_months: "More than 6 months (up to a year)",
    LesionAge.years: "Years (more than a year)",
}

OUTCOME_LABELS: dict[Rule35Outcome, str] = {
    Rule35Outcome.detention_maintained: "Detention maintained",
    Rule35Outcome.released: "Released",
    Rule35Outcome.no_response: "No response",
}


def day(value: date) -> str:
    """The date format every page uses: 3 Mar 2026."""
    return f"{value.day} {value:%b %Y}"


def _dates(*names: str) -> Any:
    return field_validator(*names, mode="before")(lambda cls, value: typed_date(value))


class EvidenceItemForm(BaseModel):
    """A piece of medical evidence: what it is, who wrote it, when it was issued and received."""

    model_config = ConfigDict(extra="forbid")

    kind: EvidenceKind = Field(title="Kind of evidence")
    author: str | None = Field(default=None, title="Author", max_length=200)
    issued_date: date | None = Field(default=None, title="Date issued")
    received_date: date | None = Field(default=None, title="Date received")
    summary: str | None = Field(default=None, title="Summary", max_length=20000)
    sensitivity: Sensitivity = Field(default=Sensitivity.standard, title="Sensitivity")
    overall_evaluation: Consistency | None = Field(default=None, title="Overall evaluation of the evidence")
    overall_evaluation_note: str | None = Field(default=None, title="Note on the overall evaluation",
                                                max_length=2000)
    # Edit forms carry the person's version they were loaded at (evidence items have no version of their own).
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("issued_date", "received_date")

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceItemForm:
        problems: dict[str, str] = {}
        if self.issued_date and self.received_date and self.received_date < self.issued_date:
            problems["received_date"] = (
                f"The date received must be on or after the date issued ({day(self.issued_date)}).")
        if self.kind is not EvidenceKind.medico_legal_report:
            if self.overall_evaluation is not None:
                problems["overall_evaluation"] = ("Only a medico-legal report has an overall evaluation: "
                                                  "choose Not evaluated, or choose Medico-legal report as the kind.")
            if (self.overall_evaluation_note or "").strip():
                problems["overall_evaluation_note"] = ("Only a medico-legal report has an overall evaluation: "
                                                       "clear the note, or choose Medico-legal report as the kind.")
        elif (self.overall_evaluation_note or "").strip() and self.overall_evaluation is None:
            problems["overall_evaluation"] = "Choose the overall evaluation the note is about, or clear the note."
        if problems:
            raise RuleBroken(problems)
        return self


class FindingForm(BaseModel):
    """One lesion or symptom described in an evidence item, placed on a coded body region."""

    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(title="Part of the body")
    lesion_type: LesionType = Field(title="Type of lesion")
    length_mm: FormInt | None = Field(default=None, title="Length in millimetres")
    width_mm: FormInt | None = Field(default=None, title="Width in millimetres")
    shape: str | None = Field(default=None, title="Shape", max_length=200)
    colour: str | None = Field(default=None, title="Colour", max_length=200)
    estimated_age: LesionAge | None = Field(default=None, title="Estimated age of the lesion")
    description: str = Field(title="Description", min_length=1, max_length=4000)
    attributed_cause: str | None = Field(default=None, title="Attributed cause", max_length=2000)
    consistency: Consistency | None = Field(default=None, title="Consistency with the attributed cause")
    photographs: list[FormId] = Field(default_factory=list, title="Photographs of this finding")

    @field_validator("region_code")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in BY_CODE:
            raise ValueError("Choose the part of the body from the list.")
        return value

    @field_validator("length_mm", "width_mm")
    @classmethod
    def _size(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= SIZE_LIMIT_MM:
            raise ValueError(f"Enter a size from 1 to {SIZE_LIMIT_MM:,} millimetres, or leave it empty.")
        return value

    @model_validator(mode="after")
    def _width_with_length(self) -> FindingForm:
        if self.width_mm is not None and self.length_mm is None:
            raise RuleBroken.on("length_mm", "Enter the length as well as the width (the length is the longer side).")
        return self


class Rule35Form(BaseModel):
    """A Rule 35 report: which limb, who wrote it, when it was sent and what the Home Office decided."""

    model_config = ConfigDict(extra="forbid")

    limb: Rule35Limb = Field(title="Rule 35 limb")
    author_name: str | None = Field(default=None, title="GP who wrote it", max_length=200)
    written_date: date = Field(title="Date written")
    consent_to_send: bool = Field(default=False, title="Consent to send")
    sent_date: date | None = Field(default=None, title="Date sent to the Home Office")
    response_date: date | None = Field(default=None, title="Date of the Home Office response")
    outcome: Rule35Outcome | None = Field(default=None, title="Home Office decision")
    aar_level_given: FormInt | None = Field(default=None, title="Adults at Risk level given")
    evidence_item_id: FormId | None = Field(default=None, title="The report in the evidence list")
    # Edit forms carry the person's version they were loaded at.
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = _dates("written_date", "sent_date", "response_date")

    @field_validator("aar_level_given")
    @classmethod
    def _level(cls, value: int | None) -> int | None:
        if value is not None and value not in (1, 2, 3):
            raise ValueError("Choose Adults at Risk level 1, 2 or 3.")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule35Form:
        problems: dict[str, str] = {}
        if self.sent_date is not None:
            if not self.consent_to_send:
                problems["consent_to_send"] = ("A report can only be recorded as sent with the person's consent: "
                                               "tick consent to send, or clear the date sent.")
            if self.sent_date < self.written_date:
                problems["sent_date"] = (f"The date sent must be on or after the date written "
                                         f"({day(self.written_date)}).")
        if self.response_date is not None:
            if self.sent_date is None:
                problems["response_date"] = "Enter the date the report was sent before the date of a response."
            elif self.response_date < self.sent_date:
                problems["response_date"] = (f"The response date must be on or after the date sent "
                                             f"({day(self.sent_date)}).")
            if self.outcome is None:
                problems["outcome"] = "Choose the Home Office decision, or clear the response date."
            elif self.outcome is Rule35Outcome.no_response:
                problems["outcome"] = ("A report with a response date had a response: choose the decision, "
                                       "or clear the response date.")
        elif self.outcome in (Rule35Outcome.detention_maintained, Rule35Outcome.released):
            problems["response_date"] = "Enter the date of the Home Office response that gave this decision."
        if self.outcome is Rule35Outcome.no_response and self.sent_date is None:
            problems["outcome"] = "Only a report that was sent can be recorded as having had no response."
        if problems:
            raise RuleBroken(problems)
        return self
