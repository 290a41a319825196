"""The benchmark's app: the real app plus statement counts and the baseline page; the product's app has neither."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import event

from app.auth.models import Role
from app.db import get_engine
from app.main import create_app
from bench.app import _count_statement, create_bench_app
from tests.conftest import sign_in


def test_the_benchmark_app_counts_statements_and_serves_the_baseline(engine, make_user):
    make_user(Role.coordinator, email="bench@example.org")
    try:
        with TestClient(create_bench_app()) as client:
            sign_in(client, "bench@example.org")
            page = client.get("/bench/baseline")
            people = client.get("/people")
    finally:
        event.remove(get_engine(), "before_cursor_execute", _count_statement)
    assert page.status_code == 200 and page.text.count("<code class=\"reference\">BNCH-") == 50
    # The baseline reads the session only; the people list more.
    assert 1 <= int(page.headers["x-sql-statements"]) < int(people.headers["x-sql-statements"])


def test_the_product_app_has_no_benchmark_page_or_header(client, signed_in):
    signed_in(Role.coordinator)
    response = client.get("/bench/baseline")
    assert response.status_code == 404
    assert "x-sql-statements" not in client.get("/people").headers
    assert not any(getattr(r, "path", "").startswith("/bench") for r in create_app().routes)
