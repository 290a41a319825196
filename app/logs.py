"""Log records that stay one line and carry no personal data, whatever a request or an exception put in them.

Installed as the logging record factory rather than as a filter on some handlers: the factory sees every record
of every logger (ours, uvicorn's, libraries') before any handler, including Python's last-resort handler and
handlers configured after start-up, so no route to the log skips it.
"""

from __future__ import annotations

import logging
import numbers
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT

# C0 and C1 controls (newline, carriage return, escape ...), DEL, and the Unicode line and paragraph separators
# that some log viewers also break lines on.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
WITHHELD = "message withheld"
QUERY_REMOVED = "?[query removed]"


def escape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char = match.group()
        if char in NAMED:
            return NAMED[char]
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return CONTROL.sub(replace, text)


class _Escaped:
    """An argument shown through %s or %r with its control characters escaped."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return escape(str(self.value))

    def __repr__(self) -> str:
        return escape(repr(self.value))


def _safe_arg(value: object) -> object:
    if isinstance(value, str):
        return escape(value)
    if value is None or isinstance(value, numbers.Number):
        return value  # keeps %d and %.2f working; numbers carry no control characters
    return _Escaped(value)


def _where(frame: traceback.FrameSummary) -> str:
    path = Path(frame.filename)
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path.name
    return f"{shown}:{frame.lineno} in {frame.name}"


def describe_exception(exc: BaseException) -> str:
    """An exception on one line: each type in the chain and where it was raised, never its message.
    Messages carry data (a database error quotes the duplicate value, a ValueError the text it could not
    read), and a log must not become a copy of the records. For a database error the SQL is kept: it holds
    placeholders, not values."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        part = f"{type(current).__module__}.{type(current).__qualname__} ({WITHHELD})"
        statement = getattr(current, "statement", None)
        if isinstance(statement, str):
            part += f" sql={' '.join(statement.split())!r}"
        if frames:
            part += " at " + " <- ".join(_where(f) for f in reversed(frames[-8:]))
        parts.append(part)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return escape(" | caused by ".join(parts))


def make_safe(record: logging.LogRecord) -> logging.LogRecord:
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) >= 3:
        # The access log would otherwise keep every search typed into /people?q=..., names included.
        path = record.args[2]
        if isinstance(path, str) and "?" in path:
            record.args = (*record.args[:2], path.split("?", 1)[0] + QUERY_REMOVED, *record.args[3:])
    if isinstance(record.args, Mapping):
        record.args = {key: _safe_arg(value) for key, value in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_safe_arg(value) for value in record.args)
    message = escape(record.msg) if isinstance(record.msg, str) else _Escaped(record.msg)
    extra = []
    if record.exc_info and record.exc_info[1] is not None:
        extra.append("exception: " + describe_exception(record.exc_info[1]))
    if record.stack_info:
        extra.append("stack: " + escape(record.stack_info))
    if extra:
        # Folded into the message, so that no formatter prints a multi-line traceback after it.
        tail = " | ".join(extra)
        message = f"{message} | {tail.replace('%', '%%') if record.args else tail}"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
    record.msg = message
    return record


def install() -> None:
    """Make every log record safe from now on; calling it again changes nothing."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "casework_safe", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return make_safe(previous(*args, **kwargs))

    factory.casework_safe = True  # type: ignore[attr-defined]  # a marker attribute on the factory function
    logging.setLogRecordFactory(factory)
