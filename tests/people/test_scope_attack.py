"""Need-to-know attacked on every route that names a person, read from the route table so a new route is attacked
too: a clinician the person is not assigned to and a researcher are refused everywhere, and a record of one
person is never reached through another person's address."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.db import Base
from app.evidence.storage import bounded_upload
from app.main import api_routes, create_app
from app.people.views import emergency_access_open
from tests.api.helpers import make_token
from tests.conftest import csrf_from
from tests.erasure_fixtures import rows_of
from tests.pages import route_calls

# The table each id in a person's path names.
ID_TABLES = {"visit_id": "visits", "item_id": "evidence_items", "document_id": "documents",
             "record_id": "rule35_records", "consent_id": "consents", "referral_id": "referrals",
             "event_id": "health_events", "episode_id": "detention_episodes", "assignment_id": "assignments",
             "finding_id": "findings", "removal_id": "removal_directions",
             "hearing_id": "hearings", "handover_id": "handovers", "request_id": "requests",
             "note_id": "case_notes", "task_id": "tasks", "planned_id": "planned_visits",
             "letter_id": "letters", "report_id": "medicolegal_reports"}


def _person_routes() -> list[APIRoute]:
    return [r for r in api_routes(create_app()) if "{reference}" in r.path]


def _ids_of(db, person_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    db.rollback()
    tables = Base.metadata.tables
    ids = {}
    for name, table in ID_TABLES.items():
        t = tables[table]
        if table == "findings":
            items = tables["evidence_items"]
            query = select(t.c.id).join(items, items.c.id == t.c.evidence_item_id).where(items.c.person_id == person_id)
        else:
            query = select(t.c.id).where(t.c.person_id == person_id)
        found = db.scalar(query.order_by(t.c.id))
        assert found is not None, f"the full record has no {table}"
        ids[name] = found
    return ids


def _path(route: APIRoute, reference: str, ids: dict[str, int]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "reference":
            return reference
        if name == "kind":
            return "transfer"
        if name == "number":  # a report's version, counted within the report named before it
            return "1"
        return str(ids[name])

    return re.sub(r"{(\w+)}", value, route.path)


def _send(client, route: APIRoute, method: str, path: str, token: str,  # type: ignore[no-untyped-def]
          api_token: str | None = None):
    if path.startswith("/api/v1/"):
        # The API is attacked with the same user's token, reaching every domain with write access.
        headers = {"Authorization": f"Bearer {api_token}"}
        if method == "GET":
            return client.get(path, headers=headers)
        return client.post(path, headers=headers, json={})
    if method == "GET":
        return client.get(path, follow_redirects=False)
    if bounded_upload in route_calls(route):
        # An upload route reads a multipart body only: send a real (harmless) file with the token.
        return client.post(path, data={"csrf_token": token}, files={"file": ("note.txt", b"fictional", "text/plain")},
                           follow_redirects=False)
    return client.post(path, data={"csrf_token": token}, follow_redirects=False)


@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_every_person_route_refuses_who_may_not_see_the_person(client, db, signed_in, make_user, full_record,
                                                               role):
    make_user(Role.admin)  # the full record's author
    person, _ = full_record("Scoped", "Fictivo")
    ids = _ids_of(db, person.id)
    before = rows_of(db, person.id)
    user = signed_in(role)
    token = csrf_from(client.get("/").text)
    api_token = make_token(db, user, "write")
    answers = []
    for route in _person_routes():
        for method in sorted(route.methods):
            if route.endpoint is emergency_access_open and role is Role.clinician:
                continue  # break-glass is how a clinician asks for a person out of scope: tested on its own
            answers.append((method, route.path, _send(client, route, method,
                                                      _path(route, person.reference, ids), token,
                                                      api_token).status_code))
    assert len(answers) > 50
    assert [a for a in answers if a[2] != 403] == []
    db.rollback()
    assert rows_of(db, person.id) == before
    # Nothing about the person was recorded as seen by them: only refusals.
    seen = db.scalars(select(AuditEvent.action).where(AuditEvent.actor_user_id == user.id,
                                                      AuditEvent.person_id == person.id)).all()
    assert seen == []


def test_a_record_is_never_reached_through_another_persons_address(client, db, signed_in, full_record):
    signed_in(Role.admin)
    mine, _ = full_record("Addressed", "Fictivo")
    theirs, _ = full_record("Other", "Imaginario")
    own, other = _ids_of(db, mine.id), _ids_of(db, theirs.id)
    before = rows_of(db, theirs.id)
    token = csrf_from(client.get("/").text)
    answers = []
    for route in _person_routes():
        names = [n for n in re.findall(r"{(\w+)}", route.path) if n in ID_TABLES]
        for name in names:
            # Every other id is this person's own, so only the one swapped in can be what refuses.
            path = _path(route, mine.reference, own | {name: other[name]})
            for method in sorted(route.methods):
                answers.append((method, route.path, name, _send(client, route, method, path, token).status_code))
    assert len(answers) > 30
    wrong = [a for a in answers if a[3] != 404]
    assert wrong == [], "\n".join(map(str, wrong))
    db.rollback()
    assert rows_of(db, theirs.id) == before
