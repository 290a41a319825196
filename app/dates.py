"""Dates as people read them (one unambiguous format everywhere: 3 Mar 2026) and as they type them."""

from __future__ import annotations

from datetime import date, datetime

from app.config import get_settings


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(get_settings().zone).date()
    return f"{value.day} {value:%b %Y}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(get_settings().zone)
    return f"{local.day} {local:%b %Y, %H:%M}"


# Date inputs send ISO dates; where a browser shows a plain text box, people type UK-style dates.
TYPED_DATE_FORMATS = ("%d %B %Y", "%d %b %Y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def typed_date(value: object) -> object:
    """Read "3 March 2026", "3 Mar 2026" or "03/03/2026" as well as ISO; anything else is left for pydantic
    to refuse with its date message."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    for fmt in TYPED_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time or zone)
        except ValueError:
            continue
    return value
