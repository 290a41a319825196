"""Forms for signing in (password and two-factor code) and for administering users."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.auth.models import Role
from app.auth.passwords import MAX_PASSWORD_LENGTH, password_problem
from app.web.forms import VERBATIM

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# A password is passed on exactly as typed: the form layer never strips it, so spaces at either end are kept.
Password = Annotated[str, VERBATIM]


class SignInForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(title="E-mail address", min_length=1, max_length=254)
    password: Password = Field(title="Password", min_length=1, max_length=MAX_PASSWORD_LENGTH)
    next: str | None = Field(default=None, max_length=2000)


class CodeForm(BaseModel):
    """A two-factor code, at sign-in or when setting it up."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(title="the code", min_length=1, max_length=64)


class UserCreateForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(title="E-mail address", min_length=1, max_length=254)
    display_name: str = Field(title="Name", min_length=1, max_length=120)
    role: Role = Field(title="Role")
    # Declared after the e-mail and name, so that its check sees them (a password built from them is refused).
    password: Password = Field(title="Password", min_length=1, max_length=MAX_PASSWORD_LENGTH)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        import re

        value = value.strip().lower()
        if not re.match(EMAIL_PATTERN, value):
            raise ValueError("Enter an e-mail address in the right format, like name@example.org.")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: str, info: ValidationInfo) -> str:
        problem = password_problem(value, email=info.data.get("email"), name=info.data.get("display_name"))
        if problem:
            raise ValueError(problem)
        return value


class UserUpdateForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(title="Name", min_length=1, max_length=120)
    role: Role = Field(title="Role")


class NewPasswordForm(BaseModel):
    """A new password for an existing account. The account's name and e-mail are not in the form, so the view
    checks the password against them too (app/auth/views.py user_set_password)."""

    model_config = ConfigDict(extra="forbid")

    password: Password = Field(title="New password", min_length=1, max_length=MAX_PASSWORD_LENGTH)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        problem = password_problem(value)
        if problem:
            raise ValueError(problem)
        return value
