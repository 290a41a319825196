"""Helpers for the referral, organisation and consent page tests."""

from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import func, select

from app.audit.models import AuditEvent, Revision
from app.consent.models import Consent
from app.people.models import Person
from app.referrals.models import Organisation, Referral
from tests.pages import post_form as post  # noqa: F401  (the referral tests import it from here)


def version_of(db, person) -> str:  # type: ignore[no-untyped-def]
    db.rollback()
    return str(db.get(Person, person.id).version)


def organisation(db, name: str) -> Organisation:  # type: ignore[no-untyped-def]
    db.rollback()
    found = db.scalar(select(Organisation).where(Organisation.name == name))
    assert found is not None, name
    return found


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def revisions_of(db, table: str, row_id: int) -> list[Revision]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Revision).where(Revision.table_name == table, Revision.row_id == row_id)
                           .order_by(Revision.id)))


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="field__error" id="f-{name}-error">(.*?)</p>', page, re.S)
    assert match, f"no error beside {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip())


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def links(page: str) -> list[str]:
    """Every link target on a page, as the browser reads it (entities decoded)."""
    return [html.unescape(href) for href in re.findall(r'<a [^>]*href="([^"]*)"', page)]


def record_consent(client, db, person, organisation_id: int | None, given: date, *,  # type: ignore[no-untyped-def]
                   purpose: str = "share_with_organisation", method: str = "verbal"):
    data = {"purpose": purpose, "given_date": given.isoformat(), "method": method,
            "version": version_of(db, person)}
    if organisation_id is not None:
        data["organisation_id"] = str(organisation_id)
    return post(client, f"/people/{person.reference}/consents/new", data)


def consents_of(db, person) -> list[Consent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Consent).where(Consent.person_id == person.id).order_by(Consent.id)))


def draft_referral(client, db, person, organisation_id: int, **fields):  # type: ignore[no-untyped-def]
    data = {"organisation_id": str(organisation_id), "reason": "Assessment of torture sequelae",
            "version": version_of(db, person)} | fields
    response = post(client, f"/people/{person.reference}/referrals/new", data)
    assert response.status_code == 303, response.text
    referral_id = int(response.headers["location"].rsplit("/", 1)[1])
    return referral_id


def referral(db, referral_id: int) -> Referral:  # type: ignore[no-untyped-def]
    db.rollback()
    found = db.get(Referral, referral_id)
    assert found is not None
    return found


def send(client, db, person, referral_id: int, made: date, **fields):  # type: ignore[no-untyped-def]
    data = {"made_date": made.isoformat(), "version": version_of(db, person)} | fields
    return post(client, f"/people/{person.reference}/referrals/{referral_id}/send", data)
