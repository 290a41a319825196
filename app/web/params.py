"""Bounded ids for paths, queries and forms: every integer a client can send is declared within what its column
holds, so that an over-large value is a 404 or a 422 page before any query, never an overflow in the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator, Field

# The tables' ids are INTEGER columns, 32 bits on PostgreSQL: a larger id would reach the database and fail there
# (SQLite's integers are 64 bits, so only PostgreSQL shows it).
MAX_ID = 2**31 - 1

# A record's id in a route's path; anything out of range (or not a number) names nothing: 404.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# A record chosen in a form (a clinician, a facility, an organisation).
FormId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Any other number a form carries (a year, a level, minutes): bounded to what every database column holds, so an
# absurd value is a message beside its field; the field's own validator keeps it to the range that makes sense.
FormInt = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]


def _version(value: object) -> int | None:
    """A record's version as a form carries it back. Anything that is not a version in range (a token from an
    older page, or tampering) is read as no version, which `check_version` refuses as a stale form."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= MAX_ID else None
    return query_id(value) if isinstance(value, str) else None


# The hidden `version` field of every edit form (app/db.py Versioned).
VersionToken = Annotated[int | None, BeforeValidator(_version)]


def query_id(value: str | None) -> int | None:
    """A record id from a query string: None unless it is a number in range."""
    if value is None or not value.isdigit() or not value.isascii():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
