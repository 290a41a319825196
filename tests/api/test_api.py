"""The JSON API driven with tokens of each scope and role: reads, writes, every refusal (401/403 with its audit
row), need-to-know exactly as on the pages, pagination, problem details, and the OpenAPI document's access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.audit.models import Outcome
from app.auth.models import Role, User
from app.auth.tokens import ApiToken
from app.visits.models import Visit, VisitStatus
from app.work.models import CaseNote
from tests.api.helpers import bearer, make_token
from tests.pages import audit_events, count

PROBLEM = "application/problem+json"


def _is_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


def test_read_token_reads_people_and_one_person(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    coordinator = make_user(Role.coordinator)
    person = make_person("Alvara", "Quennick", detained_days=12)
    secret = make_token(db, coordinator, "read")
    listed = client.get("/api/v1/people", headers=bearer(secret))
    assert listed.status_code == 200, listed.text
    assert person.reference in [p["reference"] for p in listed.json()["items"]]
    one = client.get(f"/api/v1/people/{person.reference}", headers=bearer(secret))
    assert one.status_code == 200
    assert one.json()["family_name"] == "Quennick"
    assert "home_office_reference" not in one.json()
    viewed = audit_events(db, "person.viewed")
    assert viewed[-1].object_id == person.reference and viewed[-1].actor_user_id == coordinator.id
    detention = client.get(f"/api/v1/people/{person.reference}/detention", headers=bearer(secret)).json()
    assert detention["items"][0]["placements"][0]["facility"] == "Brook House"
    assert db.scalar(select(ApiToken.last_used_at)) is not None


def test_write_refused_with_read_token(client, db, make_user, make_person, today) -> None:  # type: ignore[no-untyped-def]
    clinician = make_user(Role.clinician)
    person = make_person(assigned_to=clinician)
    secret = make_token(db, clinician, "read")
    body = {"visit_date": today.isoformat(), "mode": "in_person"}
    response = client.post(f"/api/v1/people/{person.reference}/visits", json=body, headers=bearer(secret))
    assert _is_problem(response, 403)["type"].endswith("scope")
    assert count(db, Visit) == 0
    refused = audit_events(db, "api.refused")
    assert refused[-1].details["reason"] == "scope" and refused[-1].outcome is Outcome.denied


def test_write_token_creates_draft_visit_and_note(client, db, make_user, make_person, today) -> None:  # type: ignore[no-untyped-def]
    clinician = make_user(Role.clinician)
    person = make_person(assigned_to=clinician)
    secret = make_token(db, clinician, "write", ("visits", "notes"))
    body = {"visit_date": today.isoformat(), "mode": "phone", "findings": "Sleeping badly."}
    created = client.post(f"/api/v1/people/{person.reference}/visits", json=body, headers=bearer(secret))
    assert created.status_code == 201, created.text
    db.rollback()
    visit = db.get(Visit, created.json()["id"])
    assert visit is not None and visit.status is VisitStatus.draft and visit.clinician_id == clinician.id
    assert audit_events(db, "visit.created")[-1].object_id == str(visit.id)
    read = client.get(f"/api/v1/people/{person.reference}/visits", headers=bearer(secret)).json()
    assert [v["id"] for v in read["items"]] == [visit.id]
    note = {"kind": "call", "with_whom": "person", "happened_at": datetime.now(UTC).isoformat(),
            "summary": "Asked about the bail hearing."}
    made = client.post(f"/api/v1/people/{person.reference}/notes", json=note, headers=bearer(secret))
    assert made.status_code == 201, made.text
    assert count(db, CaseNote) == 1


def test_invalid_and_unknown_fields_are_422_with_pointers(client, db, make_user, make_person, today) -> None:  # type: ignore[no-untyped-def]
    clinician = make_user(Role.clinician)
    person = make_person(assigned_to=clinician)
    secret = make_token(db, clinician, "write", ("visits",))
    future = (today + timedelta(days=3)).isoformat()
    bad = client.post(f"/api/v1/people/{person.reference}/visits", headers=bearer(secret),
                      json={"visit_date": future, "mode": "in_person", "colour": "blue"})
    errors = _is_problem(bad, 422)["errors"]
    assert {"pointer": "/colour", "detail": "This field is not known."} in errors
    # The visit form's own rules apply: the date in the future is refused by the same message as on the page.
    rule = client.post(f"/api/v1/people/{person.reference}/visits", headers=bearer(secret),
                       json={"visit_date": future, "mode": "in_person"})
    assert _is_problem(rule, 422)["errors"] == [
        {"pointer": "/visit_date", "detail": "The date of the visit cannot be in the future."}]
    assert count(db, Visit) == 0


def test_domain_not_in_scope_is_403(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    coordinator = make_user(Role.coordinator)
    person = make_person()
    secret = make_token(db, coordinator, "write", ("people",))
    response = client.get(f"/api/v1/people/{person.reference}/referrals", headers=bearer(secret))
    _is_problem(response, 403)
    assert audit_events(db, "api.refused")[-1].details["scope"] == "read:referrals"


def test_expired_revoked_unknown_and_inactive_are_401(client, db, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.coordinator)
    expired, revoked, inactive = (make_token(db, user) for _ in range(3))
    db.execute(update(ApiToken).where(ApiToken.prefix == expired[:10])
               .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.execute(update(ApiToken).where(ApiToken.prefix == revoked[:10]).values(revoked_at=datetime.now(UTC)))
    db.commit()
    cases = {"expired": expired, "revoked": revoked, "unknown": "ct_" + "x" * 43}
    for reason, secret in cases.items():
        response = client.get("/api/v1/tasks", headers=bearer(secret))
        _is_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert audit_events(db, "api.refused")[-1].details["reason"] == reason
    db.execute(update(User).where(User.id == user.id).values(is_active=False))
    db.commit()
    _is_problem(client.get("/api/v1/tasks", headers=bearer(inactive)), 401)
    assert audit_events(db, "api.refused")[-1].details["reason"] == "user_inactive"
    _is_problem(client.get("/api/v1/tasks"), 401)
    assert audit_events(db, "api.refused")[-1].details["reason"] == "missing"
    # No token text in any refusal row.
    for event in audit_events(db, "api.refused"):
        assert not any(secret[3:13] in str(event.details) for secret in cases.values())


def test_cookie_session_is_not_accepted(client, db, signed_in) -> None:  # type: ignore[no-untyped-def]
    signed_in(Role.coordinator)
    response = client.get("/api/v1/people")
    _is_problem(response, 401)
    assert audit_events(db, "api.refused")[-1].details["reason"] == "cookie_only"


def test_clinician_token_refused_for_person_not_assigned(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    clinician = make_user(Role.clinician)
    mine, theirs = make_person(assigned_to=clinician), make_person("Other", "Person")
    secret = make_token(db, clinician)
    listed = client.get("/api/v1/people", headers=bearer(secret)).json()
    assert [p["reference"] for p in listed["items"]] == [mine.reference]
    for path in ("", "/visits", "/detention", "/referrals"):
        response = client.get(f"/api/v1/people/{theirs.reference}{path}", headers=bearer(secret))
        assert "not assigned" in _is_problem(response, 403)["detail"]
    denied = audit_events(db, "security.permission_denied")
    assert denied[-1].details["permission"] == "assigned_clinician" and denied[-1].actor_user_id == clinician.id
    _is_problem(client.get("/api/v1/people/ZZZZ-ZZZZ", headers=bearer(secret)), 404)


def test_role_permission_applies_to_researcher(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    researcher = make_user(Role.researcher)
    person = make_person()
    secret = make_token(db, researcher)
    _is_problem(client.get(f"/api/v1/people/{person.reference}", headers=bearer(secret)), 403)
    _is_problem(client.get("/api/v1/people", headers=bearer(secret)), 403)
    assert audit_events(db, "security.permission_denied")[-1].details["permission"] == "view_caseload"
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200


def test_pagination_follows_next(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    coordinator = make_user(Role.coordinator)
    people = {make_person(f"Given{i}", "Pager").reference for i in range(5)}
    secret = make_token(db, coordinator)
    seen, url = [], "/api/v1/people?limit=2"
    while url:
        page = client.get(url, headers=bearer(secret)).json()
        assert len(page["items"]) <= 2
        seen += [p["reference"] for p in page["items"]]
        url = page["next"]
    assert set(seen) == people and len(seen) == 5
    _is_problem(client.get("/api/v1/people?limit=101", headers=bearer(secret)), 422)
    _is_problem(client.get("/api/v1/people?limit=0", headers=bearer(secret)), 422)


def test_unknown_path_and_oversized_body(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    clinician = make_user(Role.clinician)
    person = make_person(assigned_to=clinician)
    secret = make_token(db, clinician, "write")
    _is_problem(client.get("/api/v1/nothing-here", headers=bearer(secret)), 404)
    big = client.post(f"/api/v1/people/{person.reference}/notes", headers=bearer(secret) | {
        "content-type": "application/json"}, content=b"{" + b" " * (300 * 1024) + b"}")
    _is_problem(big, 413)
    _is_problem(client.post(f"/api/v1/people/{person.reference}/notes", headers=bearer(secret) | {
        "content-type": "application/json"}, content=b"{not json"), 422)


def test_openapi_and_docs_only_for_signed_in(client, signed_in) -> None:  # type: ignore[no-untyped-def]
    anonymous = client.get("/api/v1/openapi.json", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    assert client.get("/api/v1/docs", follow_redirects=False).status_code in (303, 401)
    signed_in(Role.clinician)
    document = client.get("/api/v1/openapi.json").json()
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    assert "/api/v1/people/{reference}/visits" in document["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/tasks" in docs.text


def test_note_breaking_a_rule_saves_nothing(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    clinician = make_user(Role.clinician)
    person = make_person(assigned_to=clinician)
    secret = make_token(db, clinician, "write", ("notes",))
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = client.post(f"/api/v1/people/{person.reference}/notes", headers=bearer(secret), json={
        "kind": "call", "with_whom": "person", "happened_at": later, "summary": "Too early."})
    assert _is_problem(response, 422)["errors"] == [
        {"pointer": "/happened_at", "detail": "The time cannot be in the future."}]
    naive = client.post(f"/api/v1/people/{person.reference}/notes", headers=bearer(secret), json={
        "kind": "call", "with_whom": "person", "happened_at": "2026-01-01T10:00:00", "summary": "No zone."})
    assert _is_problem(naive, 422)["errors"][0]["pointer"] == "/happened_at"
    assert count(db, CaseNote) == 0


def test_break_glass_opens_one_person_to_the_token_and_is_recorded(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    from app.people import emergency

    clinician = make_user(Role.clinician)
    person = make_person("Glass", "Broken")
    secret = make_token(db, clinician)
    _is_problem(client.get(f"/api/v1/people/{person.reference}", headers=bearer(secret)), 403)
    db.rollback()
    emergency.open_access(db, db.merge(clinician), db.merge(person), "Collapsed in the centre, no one assigned")
    db.commit()
    assert client.get(f"/api/v1/people/{person.reference}", headers=bearer(secret)).status_code == 200
    used = audit_events(db, "emergency_access.used")
    assert used[-1].details["path"] == f"/api/v1/people/{person.reference}"
    # It opens the record, never the caseload.
    assert client.get("/api/v1/people", headers=bearer(secret)).json()["items"] == []


def test_requests_listed_as_each_role_may_see_them(client, db, make_user, make_person) -> None:  # type: ignore[no-untyped-def]
    from app.intake import service as intake
    from app.intake.models import Channel, Need, RequesterKind, Urgency

    clinician, coordinator = make_user(Role.clinician), make_user(Role.coordinator)
    mine, theirs = make_person(assigned_to=clinician), make_person("Not", "Mine")
    db.rollback()
    for person_id in (mine.id, theirs.id, None):
        made = intake.create(db, coordinator.id, intake.NewRequest(
            received_at=datetime.now(UTC), channel=Channel.phone, requester_kind=RequesterKind.self,
            urgency=Urgency.routine, needs=[next(iter(Need))], details={}))
        made.person_id = person_id
        db.flush()
    db.commit()
    seen = client.get("/api/v1/requests", headers=bearer(make_token(db, clinician))).json()["items"]
    assert [r["person_reference"] for r in seen] == [mine.reference]
    every = client.get("/api/v1/requests", headers=bearer(make_token(db, coordinator))).json()["items"]
    assert len(every) == 3


def test_an_unexpected_failure_is_a_500_problem_with_its_correlation_id(client, db, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.work import tasks

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    secret = make_token(db, make_user(Role.coordinator))
    monkeypatch.setattr(tasks, "list_for_user", broken)
    response = client.get("/api/v1/tasks", headers=bearer(secret))
    body = _is_problem(response, 500)
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert "database went away" not in response.text
