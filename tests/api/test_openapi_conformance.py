"""Every endpoint's responses checked against the published OpenAPI document with schemathesis: generated
queries and references (most name no one: their 404s must conform too), then the known records of each kind,
called against the running app with a token that reaches every domain; and both writes, accepted and refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.docs import openapi_document
from app.auth.models import Role
from tests.api.helpers import bearer, make_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
schema = schemathesis.openapi.from_dict(openapi_document()).include(method="GET")


@pytest.fixture
def api_app(client):  # type: ignore[no-untyped-def]
    """The app the shared client runs (its lifespan started, its database migrated)."""
    return client.app


@pytest.fixture
def reader(db, make_user, make_person):  # type: ignore[no-untyped-def]
    coordinator = make_user(Role.coordinator)
    person = make_person("Conform", "Ance", detained_days=30)
    return person, make_token(db, coordinator, "read")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_reads_conform(case, api_app, reader) -> None:  # type: ignore[no-untyped-def]
    _, secret = reader
    case.call_and_validate(app=api_app, headers=bearer(secret), checks=CHECKS)


@pytest.mark.parametrize("path", ["/api/v1/people", "/api/v1/people/{reference}",
                                  "/api/v1/people/{reference}/detention", "/api/v1/people/{reference}/visits",
                                  "/api/v1/people/{reference}/referrals", "/api/v1/requests", "/api/v1/tasks"])
def test_known_records_conform(path, api_app, reader) -> None:  # type: ignore[no-untyped-def]
    person, secret = reader
    operation = schema[path]["GET"]
    case = operation.Case(path_parameters={"reference": person.reference} if "{reference}" in path else {},
                          query={"limit": 1})
    response = case.call_and_validate(app=api_app, headers=bearer(secret), checks=CHECKS)
    assert response.status_code == 200, response.text
    if path.endswith("/detention"):
        assert response.json()["items"][0]["placements"]


def test_refusals_conform(api_app, reader) -> None:  # type: ignore[no-untyped-def]
    person, _ = reader
    case = schema["/api/v1/people/{reference}"]["GET"].Case(path_parameters={"reference": person.reference})
    response = case.call_and_validate(app=api_app, headers=bearer("ct_not-a-token"), checks=CHECKS)
    assert response.status_code == 401


def test_writes_and_their_refusals_conform(api_app, db, make_user, make_person, today) -> None:  # type: ignore[no-untyped-def]
    """Both write endpoints, accepted (201), refused by the form's rules (422 problem) and refused a read token
    (403 problem): every response as the published document says."""
    from datetime import UTC, datetime, timedelta

    clinician = make_user(Role.clinician)
    person = make_person("Conform", "Writes", assigned_to=clinician)
    writer, reader = make_token(db, clinician, "write", ("visits", "notes")), make_token(db, clinician, "read")
    path = {"reference": person.reference}
    published = schemathesis.openapi.from_dict(openapi_document())
    visits = published["/api/v1/people/{reference}/visits"]["POST"]
    notes = published["/api/v1/people/{reference}/notes"]["POST"]
    answers = []
    for operation, body, secret in (
        (visits, {"visit_date": today.isoformat(), "mode": "phone", "findings": "Conforming draft."}, writer),
        (visits, {"visit_date": (today + timedelta(days=2)).isoformat(), "mode": "phone"}, writer),
        (visits, {"visit_date": today.isoformat(), "mode": "phone"}, reader),
        (notes, {"kind": "call", "with_whom": "person", "happened_at": datetime.now(UTC).isoformat(),
                 "summary": "Conforming note."}, writer),
    ):
        case = operation.Case(path_parameters=path, body=body, media_type="application/json")
        answers.append(case.call_and_validate(app=api_app, headers=bearer(secret), checks=CHECKS).status_code)
    assert answers == [201, 422, 403, 201]
