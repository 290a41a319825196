"""Values a client can send that no page offers, tried on every route: an id past any integer column, and a CSRF
token that is not ASCII, too long or empty. Each must be a plain 404 or 403 page, never a 500."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from app.auth.models import Role
from app.main import api_routes, create_app
from tests.conftest import csrf_from

HUGE = "99999999999999999999"  # more than 2^64: no database integer holds it
PAST_INTEGER = str(2**31)  # one past PostgreSQL's INTEGER, which SQLite would still hold
TOKENS = {"non-ascii": "tøken-ünïcode-\u2603", "over-long": "x" * 20_000, "empty": ""}


def _routes() -> list[APIRoute]:
    return api_routes(create_app())


def _path(route: APIRoute, reference: str, number: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "reference":
            return reference
        if name == "kind":
            return "end"  # a detention action that exists, so that only the id is wrong
        return number

    return re.sub(r"{(\w+)}", value, route.path)


def _is_public(route: APIRoute) -> bool:
    return route.path.startswith("/login") or route.path == "/healthz"


@pytest.mark.parametrize("number", [HUGE, PAST_INTEGER])
def test_an_over_large_id_in_any_path_is_a_404_page(client, db, signed_in, make_person, number):
    signed_in(Role.admin)
    reference = make_person("Hostile", "Fictivo").reference
    token = csrf_from(client.get("/").text)
    tried = []
    for route in _routes():
        if not re.search(r"{\w+_id}", route.path):
            continue
        path = _path(route, reference, number)
        for method in route.methods:
            if method == "GET":
                response = client.get(path, follow_redirects=False)
            elif route.path.endswith("/documents") or "/documents/visit/" in route.path:
                # Upload routes read a multipart body only.
                response = client.post(path, data={"csrf_token": token}, follow_redirects=False,
                                       files={"file": ("note.txt", b"fictional", "text/plain")})
            else:
                response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
            tried.append((method, route.path, response.status_code))
    assert len(tried) > 40
    assert [t for t in tried if t[2] != 404] == []


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_a_malformed_csrf_token_is_refused_on_every_post_route(client, db, signed_in, make_person, kind):
    signed_in(Role.admin)
    reference = make_person("Token", "Fictivo").reference
    answers = []
    for route in _routes():
        if "POST" not in route.methods or _is_public(route):
            continue
        response = client.post(_path(route, reference, "1"), data={"csrf_token": TOKENS[kind]},
                               follow_redirects=False)
        answers.append((route.path, response.status_code))
    assert len(answers) > 40
    # The API takes no session at all (app/api/deps.py): a cookie-only post is 401 there, before any CSRF check.
    assert [a for a in answers if a[1] != (401 if a[0].startswith("/api/v1/") else 403)] == []


def test_a_non_ascii_csrf_header_is_refused(client, db, signed_in):
    signed_in(Role.admin)
    # Sent as raw UTF-8 bytes: the server reads them as Latin-1 text, none of it ASCII.
    response = client.post("/admin/users/new", headers={"X-CSRF-Token": "tøken".encode()}, data={},
                           follow_redirects=False)
    assert response.status_code == 403


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_a_malformed_csrf_token_is_refused_on_the_sign_in_pages(client, db, kind):
    client.get("/login")
    for path in ("/login", "/login/two-factor", "/login/two-factor/setup"):
        response = client.post(path, data={"csrf_token": TOKENS[kind], "email": "a@example.org",
                                           "password": "x"}, follow_redirects=False)
        assert response.status_code in (303, 401, 403), (path, response.status_code)
        assert response.status_code != 500


def test_over_large_numbers_in_query_strings_are_ignored_with_a_message(client, db, signed_in):
    signed_in(Role.admin)
    for number in (HUGE, PAST_INTEGER):
        for name in ("facility", "clinician", "page"):
            response = client.get(f"/people?{name}={number}")
            assert response.status_code == 200, name
            assert f"The {name} filter was not recognised" in response.text
        for path in ("/admin/audit", "/reports/releases", "/reports/narratives", "/admin/sessions"):
            response = client.get(f"{path}?page={number}&person={number}&actor={number}&user={number}")
            assert response.status_code < 500, path
