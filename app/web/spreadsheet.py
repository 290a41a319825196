"""Cells for CSV downloads that a spreadsheet shows as text and never runs as a formula."""

from __future__ import annotations


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(("=", "+", "-", "@", "\t", "\r", "\n")):
        return "'" + text
    return text
