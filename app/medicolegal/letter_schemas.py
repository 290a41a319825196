"""Forms for choosing a letter's template, editing a draft letter and issuing it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.web.params import VersionToken

BODY_LIMIT = 20_000

STATE_LABELS = {"draft": "Draft", "issued": "Issued"}


class LetterNewForm(BaseModel):
    """The template a new draft letter is filled from."""

    model_config = ConfigDict(extra="forbid")

    template_key: str | None = Field(default=None, title="The letter template", max_length=60, validate_default=True)

    @field_validator("template_key")
    @classmethod
    def _chosen(cls, value: str | None) -> str:
        if not value:
            raise ValueError("Choose the letter to write.")
        return value


class LetterBodyForm(BaseModel):
    """The edited text of a draft letter, with the version the edit page showed."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(title="The letter", max_length=BODY_LIMIT)
    version: VersionToken = Field(default=None, title="Version")

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Enter the text of the letter.")
        return value


class LetterIssueForm(BaseModel):
    """Issuing a draft: the issuer confirms the declaration under the letter as it will be issued."""

    model_config = ConfigDict(extra="forbid")

    declaration: bool = Field(default=False, title="Declaration", validate_default=True)
    version: VersionToken = Field(default=None, title="Version")

    @field_validator("declaration")
    @classmethod
    def _confirmed(cls, value: bool) -> bool:
        if not value:
            raise ValueError("Confirm that the letter is ready to be issued.")
        return value
