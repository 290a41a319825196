"""Dates as people read them (one unambiguous format everywhere: 3 Mar 2026) and "today" where the
organisation works."""

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

