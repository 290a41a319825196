"""The audit viewer: admins only, filters, newest first in pages of 50, plain words, CSV export, itself audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent, Outcome
from app.audit.viewer import PAGE_SIZE
from app.auth.models import Role
from app.web.spreadsheet import csv_cell

ROW = 'data-label="Action"'


def add_event(db, action="person.viewed", *, at=None, actor=None, person=None, outcome=Outcome.success,
              ip="192.0.2.10", **details):  # type: ignore[no-untyped-def]
    db.rollback()
    event = AuditEvent(action=action, occurred_at=at or datetime.now(UTC), outcome=outcome,
                       actor_user_id=actor.id if actor else None, ip_address=ip, details=details,
                       person_id=person.id if person else None,
                       object_type="person" if person else None, object_id=person.reference if person else None)
    db.add(event)
    db.commit()
    return event


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("role", [Role.coordinator, Role.clinician, Role.researcher])
def test_only_admins_may_read_or_export_the_audit_log(client, signed_in, db, role):
    user = signed_in(role)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    refusals = [e for e in events(db, "security.permission_denied") if e.actor_user_id == user.id]
    assert [e.details["path"] for e in refusals] == ["/admin/audit", "/admin/audit.csv"]
    assert events(db, "audit.viewed") == [] and events(db, "audit.exported") == []


def test_admin_sees_events_newest_first_in_plain_words_with_the_person_linked(client, signed_in, db, make_person):
    admin = signed_in(Role.admin)
    person = make_person()
    now = datetime.now(UTC)
    add_event(db, "document.downloaded", at=now - timedelta(hours=2), actor=admin, person=person, document_id=7)
    add_event(db, "auth.sign_in_failed", at=now - timedelta(hours=1), outcome=Outcome.failure, ip="198.51.100.4",
              reason="bad_credentials")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    html = page.text[page.text.index("<tbody>"):]  # past the action list in the filter form
    failed, downloaded = html.index("Sign-in failed"), html.index("Document: downloaded")
    assert failed < downloaded  # newer first
    assert f'href="/people/{person.reference}"' in html
    assert "198.51.100.4" in html and "bad_credentials" in html
    assert "No one signed in" in html
    assert '<a href="/admin/audit" aria-current="page">Audit</a>' in page.text  # the nav entry
    assert page.headers["cache-control"] == "no-store"


def test_each_filter_narrows_the_rows(client, signed_in, make_user, db, make_person):
    admin = signed_in(Role.admin)
    other = make_user(Role.clinician)
    person, someone_else = make_person(), make_person("Otra", "Ficticia")
    now = datetime.now(UTC)
    add_event(db, "person.viewed", actor=other, person=person, at=now - timedelta(days=10))
    add_event(db, "person.viewed", actor=other, person=someone_else, at=now - timedelta(days=1))
    add_event(db, "security.permission_denied", actor=other, outcome=Outcome.denied, permission="x", path="/p")
    add_event(db, "person.viewed", actor=admin, person=person)

    def rows(**params) -> int:  # type: ignore[no-untyped-def]
        response = client.get("/admin/audit", params=params | {"action": params.get("action", "")})
        assert response.status_code == 200, response.text
        return response.text.count(ROW)

    assert rows(user=other.id) == 3
    assert rows(user=other.id, action="person.viewed") == 2
    assert rows(person=person.reference.lower(), action="person.viewed") == 2  # references read in any case
    assert rows(outcome="denied", user=other.id) == 1
    from_day = (now - timedelta(days=2)).date().isoformat()
    assert rows(user=other.id, action="person.viewed", **{"from": from_day}) == 1
    to_day = (now - timedelta(days=5)).date().isoformat()
    assert rows(user=other.id, to=to_day) == 1


def test_viewing_and_paging_are_audited_with_the_filters(client, signed_in, db, make_person):
    signed_in(Role.admin)
    person = make_person()
    client.get("/admin/audit", params={"person": person.reference, "outcome": "success", "page": "2"})
    [viewed] = events(db, "audit.viewed")
    assert viewed.details == {"filters": {"person": person.reference, "outcome": "success"}, "page": 2}


def test_pages_hold_fifty_events_and_link_to_older_ones(client, signed_in, db):
    admin = signed_in(Role.admin)
    start = datetime.now(UTC) - timedelta(hours=3)
    db.rollback()
    db.add_all(AuditEvent(action="auth.sign_out", actor_user_id=admin.id, occurred_at=start + timedelta(seconds=i),
                          details={"n": i}) for i in range(PAGE_SIZE * 2 + 5))
    db.commit()
    first = client.get("/admin/audit", params={"action": "auth.sign_out"}).text
    assert first.count(ROW) == PAGE_SIZE
    assert ">104<" in first and ">54<" not in first  # the newest fifty: 104 down to 55
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = client.get("/admin/audit", params={"action": "auth.sign_out", "page": 3}).text
    assert last.count(ROW) == 5 and 'rel="next"' not in last and 'rel="prev"' in last
    assert ">0<" in last


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"from": "2026-02-30"}, "from", "Enter the date as year-month-day"),
    ({"to": "yesterday"}, "to", "Enter the date as year-month-day"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "to", "on or after its start"),
    ({"user": "99999"}, "user", "Choose a user from the list"),
    ({"user": "bob"}, "user", "Choose a user from the list"),
    ({"person": "ZZZZ-ZZZZ"}, "person", "No person has this reference"),
    ({"action": "person.teleported"}, "action", "Choose an action from the list"),
    ({"outcome": "maybe"}, "outcome", "Choose an outcome from the list"),
])
@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_bad_filters_are_shown_beside_the_field_with_422_and_nothing_is_read(client, signed_in, db, params,
                                                                              field, message, path):
    signed_in(Role.admin)
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert re.search(rf'id="f-{field}-error">.*{message}', response.text), response.text
    assert 'class="error-summary"' in response.text
    assert "text/html" in response.headers["content-type"]
    assert events(db, "audit.viewed") == [] and events(db, "audit.exported") == []


def test_csv_export_holds_the_filtered_rows_with_formula_cells_neutralised(client, signed_in, make_user, db,
                                                                           make_person):
    admin = signed_in(Role.admin)
    hostile = make_user(Role.clinician, name="=HYPERLINK(\"http://evil.example\",\"x\")")
    person = make_person()
    add_event(db, "person.viewed", actor=hostile, person=person, ip="203.0.113.5")
    add_event(db, "person.viewed", actor=admin, person=person)
    response = client.get("/admin/audit.csv", params={"user": hostile.id})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    row = rows[0]
    assert row["user_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert row["person_reference"] == person.reference and row["ip_address"] == "203.0.113.5"
    assert row["action_description"] == "Person: viewed" and row["outcome"] == "success"
    [exported] = events(db, "audit.exported")
    assert exported.actor_user_id == admin.id and exported.details == {"filters": {"user_id": hostile.id}}


def test_csv_export_streams_every_matching_row_across_batches(client, signed_in, db):
    admin = signed_in(Role.admin)
    start = datetime.now(UTC) - timedelta(hours=1)
    db.rollback()
    # Equal timestamps across a batch boundary must neither repeat nor lose a row.
    db.add_all(AuditEvent(action="auth.sign_out", actor_user_id=admin.id, occurred_at=start + timedelta(seconds=i // 3),
                          details={"n": i}) for i in range(1234))
    db.commit()
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv", params={"action": "auth.sign_out"}).text)))
    numbers = [int(r["details_json"].split(":")[1].strip(" }")) for r in rows]
    assert sorted(numbers) == list(range(1234))
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "audit.exported")) == 1


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+44 20", "'+44 20"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("plain", "plain"), (None, ""), (42, "42"),
])
def test_csv_cells_that_could_start_a_formula_are_prefixed(value, expected):
    assert csv_cell(value) == expected
