"""Forms for instructing a medico-legal report, drafting its sections, sending it for review, reviewing it,
signing it off and recording its service; what each section, paper and state is called on the pages."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.dates import typed_date
from app.medicolegal.models import SECTIONS, ReportState
from app.web.params import FormId, VersionToken

QUESTIONS_LIMIT = 10000
SECTION_LIMIT = 50000
COMMENT_LIMIT = 5000
OUTCOME_LIMIT = 500

STATE_LABELS = {
    ReportState.instructed: "Instructed",
    ReportState.drafting: "Drafting",
    ReportState.in_review: "In peer review",
    ReportState.signed: "Signed",
    ReportState.served: "Served",
}
# The Istanbul Protocol (2022), Annex IV section headings.
SECTION_LABELS = {
    "case_details": "Case details",
    "qualifications": "The examiner's qualifications",
    "allegations": "Statement of the allegations",
    "physical_findings": "Physical signs and symptoms",
    "psychological_findings": "Psychological history and examination",
    "interpretation": "Interpretation of findings and their consistency",
    "recommendations": "Conclusions and recommendations",
}
SECTION_HINTS = {
    "case_details": "Who was examined, when, where, with which interpreter, at whose request.",
    "qualifications": "Your clinical training and experience of documenting torture and ill-treatment.",
    "allegations": "What the person describes, in their words where possible, and its chronology.",
    "physical_findings": "Each lesion: site, type, size, shape, colour and estimated age.",
    "psychological_findings": "History, mental state examination, tests used, diagnosis.",
    "interpretation": "The consistency of each finding and the overall evaluation of the evidence "
                      "(Istanbul Protocol levels).",
    "recommendations": "Your conclusions, and what is recommended for the person's care.",
}
PAPER_LABELS = {
    "interview_record": "Asylum interview record",
    "witness_statement": "Witness statement",
    "refusal_letter": "Refusal letter",
    "determination": "Tribunal determination",
    "medical_records": "Medical records",
}


class Paper(enum.StrEnum):
    interview_record = "interview_record"
    witness_statement = "witness_statement"
    refusal_letter = "refusal_letter"
    determination = "determination"
    medical_records = "medical_records"


def _date(value: object) -> object:
    return typed_date(value)


class InstructionForm(BaseModel):
    """The instruction from a legal representative. `author_id` is offered to coordinators only: a clinician
    instructed writes the report themself."""

    model_config = ConfigDict(extra="forbid")

    author_id: FormId | None = Field(default=None, title="The clinician who will write the report")
    legal_representative_id: FormId | None = Field(default=None, title="The legal representative",
                                                   validate_default=True)
    visit_id: FormId | None = Field(default=None, title="The visit the report is written from")
    questions: str = Field(title="The questions asked", min_length=1, max_length=QUESTIONS_LIMIT)
    received_date: date = Field(title="The date the instruction was received")
    due_date: date | None = Field(default=None, title="The due date")
    papers: list[Paper] = Field(default_factory=list, title="Papers received")

    _dates = field_validator("received_date", "due_date", mode="before")(lambda cls, value: _date(value))

    @field_validator("legal_representative_id")
    @classmethod
    def _chosen(cls, value: int | None) -> int | None:
        if value is None:
            raise ValueError("Choose the legal representative who sent the instruction.")
        return value

    @field_validator("questions")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Enter the questions the legal representative asked.")
        return value


class SectionsForm(BaseModel):
    """The draft's seven sections, as the author edits them."""

    model_config = ConfigDict(extra="forbid")

    case_details: str = Field(default="", title=SECTION_LABELS["case_details"], max_length=SECTION_LIMIT)
    qualifications: str = Field(default="", title=SECTION_LABELS["qualifications"], max_length=SECTION_LIMIT)
    allegations: str = Field(default="", title=SECTION_LABELS["allegations"], max_length=SECTION_LIMIT)
    physical_findings: str = Field(default="", title=SECTION_LABELS["physical_findings"], max_length=SECTION_LIMIT)
    psychological_findings: str = Field(default="", title=SECTION_LABELS["psychological_findings"],
                                        max_length=SECTION_LIMIT)
    interpretation: str = Field(default="", title=SECTION_LABELS["interpretation"], max_length=SECTION_LIMIT)
    recommendations: str = Field(default="", title=SECTION_LABELS["recommendations"], max_length=SECTION_LIMIT)
    version: VersionToken = Field(default=None, title="Version")


class ReportActionForm(BaseModel):
    """Starting the draft: the version the page showed."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")


class ReviewRequestForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer_id: FormId | None = Field(default=None, title="The reviewer", validate_default=True)
    version: VersionToken = Field(default=None, title="Version")

    @field_validator("reviewer_id")
    @classmethod
    def _chosen(cls, value: int | None) -> int | None:
        if value is None:
            raise ValueError("Choose the clinician who will review the report.")
        return value


class Decision(enum.StrEnum):
    approve = "approve"
    return_ = "return"


DECISION_LABELS = {Decision.approve: "Approve it for sign-off", Decision.return_: "Return it to the author"}


class ReviewForm(BaseModel):
    """The reviewer's comments, one per section (any may be empty), and the decision."""

    model_config = ConfigDict(extra="forbid")

    comment_case_details: str = Field(default="", title="Comment on the case details", max_length=COMMENT_LIMIT)
    comment_qualifications: str = Field(default="", title="Comment on the qualifications", max_length=COMMENT_LIMIT)
    comment_allegations: str = Field(default="", title="Comment on the allegations", max_length=COMMENT_LIMIT)
    comment_physical_findings: str = Field(default="", title="Comment on the physical findings",
                                           max_length=COMMENT_LIMIT)
    comment_psychological_findings: str = Field(default="", title="Comment on the psychological findings",
                                                max_length=COMMENT_LIMIT)
    comment_interpretation: str = Field(default="", title="Comment on the interpretation", max_length=COMMENT_LIMIT)
    comment_recommendations: str = Field(default="", title="Comment on the recommendations",
                                         max_length=COMMENT_LIMIT)
    decision: Decision | None = Field(default=None, title="Your decision", validate_default=True)
    version: VersionToken = Field(default=None, title="Version")

    @field_validator("decision")
    @classmethod
    def _chosen(cls, value: Decision | None) -> Decision | None:
        if value is None:
            raise ValueError("Choose whether to approve the report or return it to the author.")
        return value

    def comments(self) -> dict[str, str]:
        """The sections commented on, with the comment."""
        return {name: text.strip() for name in SECTIONS if (text := getattr(self, f"comment_{name}")).strip()}


class SignForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
    declaration: bool = Field(default=False, title="Declaration")


class ServedForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    served_date: date = Field(title="The date the report was served")
    outcome: str = Field(default="", title="The outcome", max_length=OUTCOME_LIMIT)
    version: VersionToken = Field(default=None, title="Version")

    _dates = field_validator("served_date", mode="before")(lambda cls, value: _date(value))
