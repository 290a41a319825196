"""Break-glass: a clinician opens a person not assigned to them in an emergency, with a reason, for a limited
time; every use is audited with the reason; coordinators review it from the dashboard."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import event, select, update

from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role
from app.config import Settings, get_settings
from app.db import utcnow
from app.evidence.models import Document, EvidenceItem, EvidenceKind
from app.people import emergency
from app.people.models import EmergencyAccess
from tests.conftest import csrf_from, page_csrf
from tests.visits.helpers import make_visit

REASON = "Called to the healthcare unit about self-harm overnight; need the risk history before assessing."
PDF = b"%PDF-1.4\n% fictional test letter\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def grants(db) -> list[EmergencyAccess]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(EmergencyAccess).order_by(EmergencyAccess.id)))


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def expire_every_grant(db) -> None:  # type: ignore[no-untyped-def]
    """Move the clock past every grant's end (the check constraint keeps expiry after the grant itself)."""
    db.rollback()
    db.execute(update(EmergencyAccess).values(granted_at=utcnow() - timedelta(hours=5),
                                              expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()


def open_access(client, reference: str, reason: str | None = REASON, *, next_path: str | None = None,
                **extra: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": page_csrf(client, "/")} | extra
    if reason is not None:
        data["reason"] = reason
    if next_path is not None:
        data["next"] = next_path
    return client.post(f"/people/{reference}/emergency-access", data=data, follow_redirects=False)


@pytest.fixture
def case(db, make_person, make_user):  # type: ignore[no-untyped-def]
    """A person assigned to another clinician, with a signed visit, an evidence item and a document."""
    colleague = make_user(Role.clinician, name="Dr Colleague")
    person = make_person("Glassa", "Breakwell", detained_days=30, assigned_to=colleague)
    visit = make_visit(db, person, colleague, signed=True, presenting_concerns="Fictional concern.")
    db.rollback()
    item = EvidenceItem(person_id=person.id, kind=EvidenceKind.gp_records, created_by_id=colleague.id)
    db.add(item)
    db.flush()
    document = Document(person_id=person.id, evidence_item_id=item.id, original_filename="Fictional letter.pdf",
                        content_type="application/pdf", size_bytes=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(),
                        content=PDF, uploaded_by_id=colleague.id)
    db.add(document)
    db.commit()
    paths = {
        "person": f"/people/{person.reference}",
        "visit": f"/people/{person.reference}/visits/{visit.id}",
        "evidence": f"/people/{person.reference}/evidence/{item.id}",
        "document": f"/people/{person.reference}/documents/{document.id}",
        "visit documents": f"/people/{person.reference}/documents/visit/{visit.id}",
    }
    return person, paths


# --- the offer -----------------------------------------------------------------------------------

def test_the_refusal_page_offers_emergency_access_to_a_clinician_for_a_person_who_exists(client, signed_in, case):
    signed_in(Role.clinician)
    person, paths = case
    refused = client.get(paths["visit"])
    assert refused.status_code == 403
    assert f'action="/people/{person.reference}/emergency-access"' in refused.text
    assert f'name="next" value="{paths["visit"]}"' in refused.text
    assert 'name="reason"' in refused.text and 'name="csrf_token"' in refused.text
    assert "for 4 hours" in refused.text
    assert "BREAKWELL" not in refused.text.upper()  # nothing about the person before access is open

    missing = client.get("/people/ZZZZ-ZZZZ")
    assert missing.status_code == 404 and "emergency-access" not in missing.text


@pytest.mark.parametrize("role", [Role.researcher, Role.coordinator, Role.admin])
def test_no_other_role_is_offered_the_form_or_may_open_emergency_access(client, db, signed_in, case, role):
    signed_in(role)
    person, paths = case
    page = client.get(paths["person"])
    assert "emergency-access" not in page.text
    assert page.status_code == (403 if role is Role.researcher else 200)
    response = open_access(client, person.reference)
    assert response.status_code == 403
    assert grants(db) == []
    assert events(db, "emergency_access.opened") == []
    [denied] = [e for e in events(db, "security.permission_denied") if e.details["permission"] == "break_glass"]
    assert denied.outcome is Outcome.denied


def test_an_assigned_clinician_sees_no_form_and_opening_changes_nothing(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Own", "Patient", assigned_to=clinician)
    page = client.get(f"/people/{person.reference}")
    assert page.status_code == 200
    assert "emergency-access" not in page.text and "Emergency access until" not in page.text
    response = open_access(client, person.reference)
    assert response.status_code == 303
    assert grants(db) == []
    assert "no emergency access is needed" in client.get(response.headers["location"]).text


# --- asking for it -------------------------------------------------------------------------------

@pytest.mark.parametrize(("reason", "message"), [
    (None, "Enter reason for emergency access."),
    ("   ", "Enter reason for emergency access."),
    ("urgent", "Describe the emergency in a sentence"),
    ("x x x x x x x x x x x x", "Describe the emergency in a sentence"),  # long enough, but not words
    ("!!!! ???? .... ,,,, ;;;;", "Describe the emergency in a sentence"),
    ("test test test test test test", "Describe the emergency in a sentence"),
])
def test_a_missing_or_token_reason_is_shown_beside_the_field_and_nothing_is_saved(
        client, db, signed_in, case, reason, message):
    signed_in(Role.clinician)
    person, paths = case
    response = open_access(client, person.reference, reason, next_path=paths["visit"])
    assert response.status_code == 422
    field_error = re.search(r'id="f-reason-error">(.*?)</p>', response.text, re.S)
    assert field_error and message in field_error.group(1)
    assert 'aria-invalid="true"' in response.text and 'href="#f-reason"' in response.text  # the error summary
    assert f'name="next" value="{paths["visit"]}"' in response.text
    if reason and reason.strip():
        assert reason in response.text  # what was typed is kept
    assert grants(db) == [] and events(db, "emergency_access.opened") == []
    assert client.get(paths["person"]).status_code == 403


def test_the_form_needs_its_csrf_token(client, db, signed_in, case):
    signed_in(Role.clinician)
    person, _ = case
    response = client.post(f"/people/{person.reference}/emergency-access", data={"reason": REASON},
                           follow_redirects=False)
    assert response.status_code == 403
    assert grants(db) == []
    assert events(db, "security.csrf_rejected")


def test_unknown_fields_and_a_foreign_return_path_are_not_accepted(client, db, signed_in, case, make_person):
    signed_in(Role.clinician)
    person, _ = case
    other = make_person("Other", "Person")
    smuggled = open_access(client, person.reference, expires_at="2099-01-01T00:00:00Z")
    assert smuggled.status_code == 422 and grants(db) == []
    for foreign in ("https://evil.example/", f"/people/{other.reference}", "//evil.example/x", "/admin/users"):
        response = open_access(client, person.reference, next_path=foreign)
        assert response.headers["location"] == f"/people/{person.reference}"
        expire_every_grant(db)


# --- using it ------------------------------------------------------------------------------------

def test_emergency_access_opens_every_page_an_assigned_clinician_sees_with_a_banner(client, db, signed_in, case):
    clinician = signed_in(Role.clinician)
    person, paths = case
    for path in paths.values():
        assert client.get(path).status_code == 403, path

    response = open_access(client, person.reference, next_path=paths["visit"])
    assert response.status_code == 303 and response.headers["location"] == paths["visit"]
    [grant] = grants(db)
    assert grant.clinician_id == clinician.id and grant.person_id == person.id and grant.reason == REASON
    assert grant.expires_at - grant.granted_at == timedelta(minutes=240)
    assert grant.reviewed_at is None and grant.reviewed_by_id is None

    until = emergency.until_words(grant.expires_at)
    for name, path in paths.items():
        page = client.get(path)
        assert page.status_code == 200, name
        if name == "document":
            assert page.content == PDF
        else:
            assert f"Emergency access until {until}." in page.text, name
            assert REASON.replace("'", "&#39;") in page.text, name
    assert "BREAKWELL" in client.get(paths["person"]).text

    [opened] = events(db, "emergency_access.opened")
    assert opened.actor_user_id == clinician.id and opened.person_id == person.id
    assert "reason" not in opened.details and opened.details["access_id"] == grant.id
    assert REASON not in str([e.details for e in events(db, "emergency_access.opened")])  # sealed on the grant only
    assert opened.details["expires_at"] == grant.expires_at.isoformat()
    used = events(db, "emergency_access.used")
    assert {e.details["path"] for e in used} == set(paths.values())
    assert all("reason" not in e.details and e.details["access_id"] == grant.id and e.person_id == person.id
               and e.actor_user_id == clinician.id for e in used)
    # The ordinary view events are still written, and share their request's correlation id with the
    # break-glass row, so the audit shows each view happened under emergency access.
    [viewed] = [e for e in events(db, "visit.viewed") if e.actor_user_id == clinician.id]
    assert viewed.correlation_id in {e.correlation_id for e in used}


def test_access_ends_at_expiry_and_can_be_opened_again(client, db, signed_in, case):
    signed_in(Role.clinician)
    person, paths = case
    assert open_access(client, person.reference).status_code == 303
    assert client.get(paths["person"]).status_code == 200
    expire_every_grant(db)
    for path in paths.values():
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "Emergency access until" not in refused.text
    assert 'name="reason"' in client.get(paths["person"]).text  # offered again
    assert open_access(client, person.reference).status_code == 303
    assert len(grants(db)) == 2
    assert client.get(paths["person"]).status_code == 200


def test_one_open_grant_per_clinician_and_person(client, db, signed_in, case):
    signed_in(Role.clinician)
    person, _ = case
    assert open_access(client, person.reference).status_code == 303
    again = open_access(client, person.reference, "A second reason written while the first is open.")
    assert again.status_code == 303
    assert len(grants(db)) == 1 and len(events(db, "emergency_access.opened")) == 1
    assert "already open until" in client.get(again.headers["location"]).text
    # Asking again with no reason says the same, rather than asking for one.
    assert open_access(client, person.reference, None).status_code == 303


def test_another_clinicians_grant_opens_nothing_for_me(client, db, signed_in, case, make_user):
    person, paths = case
    other = make_user(Role.clinician)
    db.add(EmergencyAccess(clinician_id=other.id, person_id=person.id, reason=REASON,
                           granted_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
    db.commit()
    signed_in(Role.clinician)
    assert client.get(paths["person"]).status_code == 403


def test_emergency_access_never_puts_the_person_in_the_caseload(client, db, signed_in, case):
    signed_in(Role.clinician)
    person, _ = case
    assert open_access(client, person.reference).status_code == 303
    listed = client.get("/people")
    assert listed.status_code == 200 and person.reference not in listed.text and "BREAKWELL" not in listed.text
    assert f'href="/people/{person.reference}"' not in client.get("/people", params={"q": person.reference}).text
    home = client.get("/")
    assert "BREAKWELL" not in home.text and "No one is assigned to you" in home.text


def test_the_duration_is_a_setting_within_bounds(client, db, signed_in, case, monkeypatch):
    monkeypatch.setattr(get_settings(), "break_glass_minutes", 30)
    signed_in(Role.clinician)
    person, paths = case
    assert "for 30 minutes" in client.get(paths["person"]).text
    assert open_access(client, person.reference).status_code == 303
    [grant] = grants(db)
    assert grant.expires_at - grant.granted_at == timedelta(minutes=30)
    assert Settings(break_glass_minutes=15).break_glass_minutes == 15
    for bad in (0, 14, 12 * 60 + 1):
        with pytest.raises(ValidationError):
            Settings(break_glass_minutes=bad)
    assert Settings().break_glass_minutes == 240


def test_the_database_refuses_a_grant_that_ends_before_it_starts(db, case, make_user):
    from sqlalchemy.exc import IntegrityError

    person, _ = case
    clinician = make_user(Role.clinician)
    now = utcnow()
    db.add(EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason=REASON, granted_at=now,
                           expires_at=now - timedelta(minutes=1)))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


# --- review --------------------------------------------------------------------------------------

def _dashboard_entries(html: str) -> list[str]:
    return re.findall(r'<article class="emergency-access".*?</article>', html, re.S)


def test_the_dashboard_lists_unreviewed_access_and_review_removes_it(client, db, signed_in, case, make_user):
    person, _ = case
    clinician = signed_in(Role.clinician, name="Dr Breakglass")
    assert open_access(client, person.reference).status_code == 303
    assert "Emergency access to review" not in client.get("/").text  # clinicians do not review
    [grant] = grants(db)
    earlier = EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason="An older fictional "
                              "emergency that has already run out.", granted_at=utcnow() - timedelta(days=1),
                              expires_at=utcnow() - timedelta(hours=20))
    db.add(earlier)
    db.commit()

    client.cookies.clear()
    coordinator = signed_in(Role.coordinator)
    home = client.get("/")
    entries = _dashboard_entries(home.text)
    assert len(entries) == 2
    old, live = entries  # oldest first
    assert "Expired" in old and "already run out" in old
    assert "Dr Breakglass" in live and person.reference in live and REASON.replace("'", "&#39;") in live
    assert f"Live</strong> until {emergency.until_words(grant.expires_at)}" in live
    assert f'action="/emergency-access/{grant.id}/review"' in live

    token = csrf_from(home.text)
    response = client.post(f"/emergency-access/{grant.id}/review",
                           data={"csrf_token": token, "note": "Confirmed with the duty GP; appropriate."},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/#emergency-access"
    after = client.get("/")
    assert "marked reviewed" in after.text
    [remaining] = _dashboard_entries(after.text)
    assert "already run out" in remaining
    db.rollback()
    reviewed = db.get(EmergencyAccess, grant.id)
    assert reviewed is not None and reviewed.reviewed_by_id == coordinator.id and reviewed.reviewed_at is not None
    assert reviewed.review_note == "Confirmed with the duty GP; appropriate."
    [audited] = events(db, "emergency_access.reviewed")
    assert audited.actor_user_id == coordinator.id and audited.person_id == person.id
    assert audited.details == {"access_id": grant.id, "clinician_id": clinician.id,
                               "has_note": True, "was_live": True}

    # Reviewing does not end live access, and a second review changes nothing.
    twice = client.post(f"/emergency-access/{grant.id}/review", data={"csrf_token": token}, follow_redirects=False)
    assert twice.status_code == 303 and "already been reviewed" in client.get("/").text
    assert len(events(db, "emergency_access.reviewed")) == 1
    db.rollback()
    assert db.get(EmergencyAccess, grant.id).review_note == "Confirmed with the duty GP; appropriate."

    # An admin reviews the other one without a note.
    client.cookies.clear()
    signed_in(Role.admin)
    token = page_csrf(client, "/")
    assert client.post(f"/emergency-access/{earlier.id}/review", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    page = client.get("/")
    assert _dashboard_entries(page.text) == [] and "No emergency access is waiting for review" in page.text
    assert client.post("/emergency-access/999999/review", data={"csrf_token": token}).status_code == 404


def test_a_review_note_too_long_is_shown_beside_the_field_and_nothing_is_saved(client, db, signed_in, case):
    person, _ = case
    signed_in(Role.clinician)
    assert open_access(client, person.reference).status_code == 303
    [grant] = grants(db)
    client.cookies.clear()
    signed_in(Role.coordinator)
    response = client.post(f"/emergency-access/{grant.id}/review",
                           data={"csrf_token": page_csrf(client, "/"), "note": "n" * 1001}, follow_redirects=False)
    assert response.status_code == 422
    field_error = re.search(r'id="f-note-error">(.*?)</p>', response.text, re.S)
    assert field_error and "1000 characters or fewer" in field_error.group(1)
    assert "n" * 1001 in response.text
    assert grants(db)[0].reviewed_at is None and events(db, "emergency_access.reviewed") == []


@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_only_coordinators_and_admins_review(client, db, signed_in, case, make_user, role):
    person, _ = case
    clinician = make_user(Role.clinician)
    db.add(EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason=REASON,
                           granted_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
    db.commit()
    [grant] = grants(db)
    signed_in(role)
    response = client.post(f"/emergency-access/{grant.id}/review", data={"csrf_token": page_csrf(client, "/")},
                           follow_redirects=False)
    assert response.status_code == 403
    assert grants(db)[0].reviewed_at is None
    assert "Emergency access to review" not in client.get("/").text


def test_the_dashboard_reads_every_emergency_access_in_one_statement(client, db, signed_in, case, make_user,
                                                                      engine):
    person, _ = case
    signed_in(Role.coordinator)

    def statements_for_dashboard() -> tuple[int, int, int]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get("/")
            assert page.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return sum("emergency_access_grants" in s for s in seen), len(seen), len(_dashboard_entries(page.text))

    def add_grants(n: int) -> None:
        clinicians = [make_user(Role.clinician) for _ in range(n)]
        for clinician in clinicians:
            db.add(EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason=REASON,
                                   granted_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
        db.commit()

    add_grants(1)
    one = statements_for_dashboard()
    add_grants(6)
    seven = statements_for_dashboard()
    assert one[0] == seven[0] == 1
    assert one[1] == seven[1]
    assert (one[2], seven[2]) == (1, 7)
