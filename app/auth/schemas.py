"""Forms for signing in (password and two-factor code) and for administering users."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.auth.models import Role
from app.auth.passwords import password_problem

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class SignInForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(title="E-mail address", min_length=1, max_length=254)
    password: str = Field(title="Password", min_length=1, max_length=1024)
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
    password: str = Field(title="Password", min_length=1, max_length=1024)

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
    def _password(cls, value: str) -> str:
        problem = password_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class UserUpdateForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(title="Name", min_length=1, max_length=120)
    role: Role = Field(title="Role")


class NewPasswordForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(title="New password", min_length=1, max_length=1024)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        problem = password_problem(value)
        if problem:
            raise ValueError(problem)
        return value
