"""The API tokens page: a token made with a name, access, domains and an expiry of at most a year, shown once and
stored only as a digest; the list with last use; revoking; every bad input refused beside its field."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import inspect, select, text

from app.auth.models import Role
from app.auth.tokens import ApiToken, digest
from tests.api.helpers import bearer
from tests.pages import audit_events, count, post_form

TOKEN_RE = re.compile(r'value="(ct_[A-Za-z0-9_-]{43})"')


def _make(client, today, **overrides):  # type: ignore[no-untyped-def]
    data = {"name": "Data warehouse", "access": "read", "domains": ["people", "visits"],
            "expires": (today + timedelta(days=90)).isoformat()} | overrides
    return post_form(client, "/account/tokens", data, form_page="/account/tokens")


def test_token_made_shown_once_and_stored_hashed(client, db, signed_in, today) -> None:  # type: ignore[no-untyped-def]
    user = signed_in(Role.clinician)
    made = _make(client, today)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    secret = TOKEN_RE.search(made.text).group(1)  # type: ignore[union-attr]
    db.rollback()
    token = db.scalar(select(ApiToken))
    assert token.user_id == user.id and token.prefix == secret[:10] and token.token_sha256 == digest(secret)
    assert token.domain_list == ["people", "visits"] and token.access == "read"
    # The raw token is nowhere in the database: not in the token row, not in the audit log.
    tables = inspect(db.connection()).get_table_names()
    for table in tables:
        for row in db.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608  (table names from the schema)
            assert secret not in str(row) and secret[3:] not in str(row), table
    assert audit_events(db, "api.token_created")[-1].details["access"] == "read"
    # Shown once: the page afterwards lists the token by its prefix only.
    page = client.get("/account/tokens")
    assert secret not in page.text and secret[:10] in page.text and "Never" in page.text
    # And it works.
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 403  # not among its domains


def test_bad_token_forms_are_refused_beside_fields(client, db, signed_in, today) -> None:  # type: ignore[no-untyped-def]
    signed_in(Role.coordinator)
    cases = [
        ({"name": ""}, "Enter a name"),
        ({"access": "admin"}, "Choose read only"),
        ({"domains": []}, "Choose at least one"),
        ({"domains": ["people", "everything"]}, "Choose at least one"),
        ({"expires": ""}, "Enter the date"),
        ({"expires": today.isoformat()}, "must be in the future"),
        ({"expires": (today + timedelta(days=400)).isoformat()}, "within a year"),
    ]
    for change, message in cases:
        response = _make(client, today, **change)
        assert response.status_code == 422, (change, response.status_code)
        assert message in response.text and "Error: API tokens" in response.text
    assert count(db, ApiToken) == 0


def test_revoke_stops_the_token(client, db, signed_in, make_user, today) -> None:  # type: ignore[no-untyped-def]
    signed_in(Role.coordinator)
    secret = TOKEN_RE.search(_make(client, today).text).group(1)  # type: ignore[union-attr]
    db.rollback()
    token_id = db.scalar(select(ApiToken.id))
    revoked = post_form(client, f"/account/tokens/{token_id}/revoke", {}, form_page="/account/tokens")
    assert revoked.status_code == 303
    assert audit_events(db, "api.token_revoked")[-1].details["token_id"] == token_id
    client.cookies.clear()
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 401
    # Someone else's token is not theirs to revoke.
    sign_in_other = make_user(Role.coordinator)
    from tests.conftest import sign_in

    sign_in(client, sign_in_other.email)
    other = post_form(client, f"/account/tokens/{token_id}/revoke", {}, form_page="/account/tokens")
    assert other.status_code == 404
