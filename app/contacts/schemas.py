"""The legal representative form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.web.params import VersionToken


class RepresentativeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    firm: str = Field(title="Firm", min_length=1, max_length=200)
    caseworker: str | None = Field(default=None, title="Caseworker", max_length=200)
    phone: str | None = Field(default=None, title="Phone", max_length=40)
    email: str | None = Field(default=None, title="E-mail", max_length=254)
    address: str | None = Field(default=None, title="Address", max_length=400)
    legal_aid_contract: bool = Field(default=False, title="Legal-aid contract")
    version: VersionToken = None

    @field_validator("firm", "caseworker", "phone", "email", "address")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = value.strip() if value else None
        return value or None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value and ("@" not in value or value.startswith("@") or value.endswith("@") or " " in value):
            raise ValueError("Enter an e-mail address like name@example.org")
        return value
