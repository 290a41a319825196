"""The error vocabulary: what services and route dependencies raise, each rendered by one handler in app/web/errors.py.

- `RuleBroken`: what was sent breaks a rule; the form page again, with each message beside its field (422).
- `StaleForm`: the record changed after the form was loaded; the conflict page (409).
- `Refused`: the user may not do this; 403, with its audit row written in a transaction of its own.
- `NotFound`: no such record, or not one that belongs to the person in the address (404).

Each is raised before anything is half-saved matters: the request's transaction is rolled back when any of them
leaves the endpoint, so a refused or invalid request changes nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

# The key of a message about the form as a whole rather than one field.
FORM_ERROR = "__form__"


class CaseworkError(Exception):
    """Base of the vocabulary: an expected refusal of a request, never a bug."""


class RuleBroken(CaseworkError, ValueError):
    """One or more fields break a rule. `errors` maps a field name (or FORM_ERROR) to a plain-English message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)

    @classmethod
    def on(cls, field: str, message: str) -> RuleBroken:
        return cls({field: message})

    @property
    def message(self) -> str:
        """The first message, for places that show a single line."""
        return next(iter(self.errors.values()), "")


class StaleForm(CaseworkError):
    """The record changed after this form was loaded (someone else saved or signed it); nothing was saved.
    `message` says what changed when it is more than "someone else saved it"."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "stale form")
        self.message = message


class Refused(CaseworkError):
    """The signed-in user may not do this. `permission` names what they lack, for the audit row; `action` and
    `details` say which audit event records the refusal."""

    def __init__(self, permission: str = "", *, action: str = "security.permission_denied",
                 actor_id: int | None = None, **details: Any) -> None:
        super().__init__(permission or action)
        self.permission = permission
        self.action = action
        self.actor_id = actor_id
        self.details = details


class NotFound(CaseworkError):
    """No such record here."""


def found(record: T | None) -> T:
    """The record a lookup found, or NotFound: the one "load or 404" of every loader."""
    if record is None:
        raise NotFound
    return record
