"""Shared helpers of the contacts tests: the register's paths, a representative added through its page, reading
a field's message and the rows of the register."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.contacts.models import LegalRepresentative
from tests.pages import post_form

LIST = "/contacts/representatives"
NEW = f"{LIST}/new"

HARBOURLINE = {"firm": "Harbourline Law (fictional)", "caseworker": "Ada Testcase", "phone": "01632 960123",
               "email": "ada.testcase@example.org", "address": "1 Example Street, Testtown",
               "legal_aid_contract": "true"}
QUILLON = {"firm": "Quillon Solicitors (fictional)", "caseworker": "Bram Sampleton", "phone": "01632 960456",
           "email": "bram@example.org"}


def edit_path(rep_id: int) -> str:
    return f"{LIST}/{rep_id}/edit"


def add(client, fields: dict[str, Any]) -> int:  # type: ignore[no-untyped-def]
    """Add a representative through the register's page; returns its id."""
    response = post_form(client, NEW, fields, form_page=NEW)
    assert response.status_code == 303, response.text
    ids = re.findall(r'href="/contacts/representatives/(\d+)/edit"', client.get(LIST).text)
    return max(int(i) for i in ids)


def named(db, firm: str) -> LegalRepresentative | None:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalars(select(LegalRepresentative).where(LegalRepresentative.firm == firm)).one_or_none()


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="field__error" id="f-{name}-error">(.*?)</p>', page, re.S)
    assert match, f"no error beside {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip()


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(1)


def options(page: str, name: str) -> dict[str, str]:
    """The options of the select called `name`: value -> text."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select {name}"
    return {value: text.strip() for value, text in
            re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', match.group(1), re.S)}
