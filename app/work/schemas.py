"""Forms for the daily work: a case note and its addenda (the contact log); tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.dates import typed_date
from app.detention.schemas import local_datetime
from app.web.params import FormId, VersionToken
from app.work.models import NoteKind, NoteWith
from app.work.tasks import task_title_for

# --- case notes ---------------------------------------------------------------------------------------------

SUMMARY_LIMIT = 8000
ADDENDUM_LIMIT = 8000


class NoteForm(BaseModel):
    """A call, e-mail, letter or meeting about the case. The kind is posted as `note_kind`: the person page
    also holds the hearing form, whose `kind` would otherwise share this one's messages and values."""

    model_config = ConfigDict(extra="forbid")

    note_kind: NoteKind = Field(title="Call, e-mail, letter or meeting")
    with_whom: NoteWith = Field(title="Who it was with")
    organisation_id: FormId | None = Field(default=None, title="The organisation")
    happened_at: datetime = Field(title="When it happened")
    summary: str = Field(title="A summary", min_length=1, max_length=SUMMARY_LIMIT)

    _parse_times = field_validator("happened_at", mode="before")(lambda cls, value: local_datetime(value))


class AddendumForm(BaseModel):
    """A correction or later information added to a note. The text is optional here and required by the
    service, so that an empty form posted to a note that cannot exist is a 404 for the note."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, title="The addendum", max_length=ADDENDUM_LIMIT)
    # Which note's form on the person page sent it (each note has one), so that a message and what was typed
    # come back beside that form only. Read for showing the page again, never for choosing the note.
    for_note: FormId | None = Field(default=None, title="The note")


# --- tasks --------------------------------------------------------------------------------------------------

TITLE_LIMIT = 200


class TaskForm(BaseModel):
    """A task: what is to be done, by whom and by when; `from_alert` names the alert rule it was made from."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(title="What needs doing", min_length=1, max_length=TITLE_LIMIT)
    assignee_id: FormId = Field(title="Who will do it")
    due_date: date | None = Field(default=None, title="Due date")
    from_alert: str | None = Field(default=None, title="The alert it was made from", max_length=40)
    # A new task conflicts with nothing; the field is here for the one stale-form mechanism all forms share.
    version: VersionToken = Field(default=None, title="Version")

    _parse_dates = field_validator("due_date", mode="before")(lambda cls, value: typed_date(value))

    @field_validator("from_alert")
    @classmethod
    def _known_rule(cls, value: str | None) -> str | None:
        if value is not None and task_title_for(value) is None:
            raise ValueError("A task can only be made from an alert this system knows. Open the task form again "
                             "from the alert.")
        return value


class TaskDoneForm(BaseModel):
    """Marking a task done, or open again. `back` says the button was on the user's own task list or on the work
    queue of the start page, so that is where they return to."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
    back: Literal["tasks", "home"] | None = Field(default=None, title="Where to return")
