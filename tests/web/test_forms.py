"""Form parsing: messages beside each field, empty inputs as absent, unknown fields rejected."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from app.dates import format_date
from app.web.forms import FORM_ERROR, validate_form
from app.web.templating import humanise

pytestmark = pytest.mark.no_database


class ExampleForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(title="Name", min_length=1, max_length=5)
    start_date: date = Field(title="Start date")
    count: int | None = Field(default=None, title="Number of visits")
    tags: list[str] = Field(default_factory=list, title="Tags")


def test_valid_form_is_parsed_and_csrf_token_ignored():
    form = FormData([("name", " Ada "), ("start_date", "2026-03-03"), ("csrf_token", "x"), ("tags", "a"),
                     ("tags", "b")])
    result = validate_form(form, ExampleForm, lists=frozenset({"tags"}))
    assert result.ok
    assert result.data == ExampleForm(name="Ada", start_date=date(2026, 3, 3), tags=["a", "b"])


def test_errors_are_in_field_order_with_plain_messages():
    form = FormData([("count", "many"), ("start_date", "2026-02-30"), ("name", "far too long")])
    result = validate_form(form, ExampleForm)
    assert not result.ok
    assert list(result.errors) == ["name", "start_date", "count"]
    assert result.errors["name"] == "Name must be 5 characters or fewer."
    assert result.errors["start_date"].startswith("Enter start date as a real date")
    assert result.errors["count"] == "Enter number of visits as a number."
    assert result.values["name"] == "far too long"


def test_empty_required_field_asks_for_it():
    result = validate_form(FormData([("name", ""), ("start_date", "")]), ExampleForm)
    assert result.errors == {"name": "Enter name.", "start_date": "Enter start date."}


def test_unknown_field_is_rejected_as_a_form_error():
    form = FormData([("name", "Ada"), ("start_date", "2026-03-03"), ("role", "admin")])
    result = validate_form(form, ExampleForm)
    assert not result.ok
    assert "does not accept (role)" in result.errors[FORM_ERROR]


def test_dates_and_codes_are_shown_in_plain_words():
    assert format_date(date(2026, 3, 3)) == "3 Mar 2026"
    assert format_date(None) == ""
    assert humanise("in_person") == "In person"
