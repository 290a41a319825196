"""The review of one break-glass access from the dashboard: its own page, its form's problems shown there."""

from __future__ import annotations

from datetime import timedelta

from app.auth.models import Role
from app.db import utcnow
from app.people.models import EmergencyAccess
from tests.pages import audit_events, post_form

REASON = "A fictional emergency: the assigned clinician was away and the person was unwell."


def grant(db, make_person, make_user) -> EmergencyAccess:  # type: ignore[no-untyped-def]
    person = make_person()
    clinician = make_user(Role.clinician, name="Dr Opened")
    access = EmergencyAccess(clinician_id=clinician.id, person_id=person.id, reason=REASON,
                             granted_at=utcnow(), expires_at=utcnow() + timedelta(hours=1))
    db.add(access)
    db.commit()
    return access


def test_the_review_page_shows_one_access_and_its_form(client, db, signed_in, make_person, make_user):
    access = grant(db, make_person, make_user)
    signed_in(Role.coordinator)
    page = client.get(f"/emergency-access/{access.id}/review")
    assert page.status_code == 200
    assert "Dr Opened" in page.text and f'action="/emergency-access/{access.id}/review"' in page.text
    assert 'id="f-note"' in page.text


def test_a_note_too_long_comes_back_on_that_page_with_the_note_kept(client, db, signed_in, make_person, make_user):
    access = grant(db, make_person, make_user)
    signed_in(Role.admin)
    response = post_form(client, f"/emergency-access/{access.id}/review", {"note": "n" * 1001})
    assert response.status_code == 422
    assert "Review emergency access" in response.text and "Dr Opened" in response.text
    assert 'id="f-note-error"' in response.text and "1000 characters or fewer" in response.text
    assert "n" * 1001 in response.text
    db.rollback()
    assert db.get(EmergencyAccess, access.id).reviewed_at is None  # type: ignore[union-attr]
    assert audit_events(db, "emergency_access.reviewed") == []


def test_once_reviewed_the_page_and_the_form_go_back_to_the_dashboard(client, db, signed_in, make_person, make_user):
    access = grant(db, make_person, make_user)
    signed_in(Role.coordinator)
    assert post_form(client, f"/emergency-access/{access.id}/review", {}).status_code == 303
    [event] = audit_events(db, "emergency_access.reviewed")
    assert (event.object_type, event.object_id, event.person_id) == (
        "emergency_access", str(access.id), access.person_id)
    for response in (client.get(f"/emergency-access/{access.id}/review", follow_redirects=False),
                     post_form(client, f"/emergency-access/{access.id}/review", {"note": "n" * 1001})):
        assert response.status_code == 303 and response.headers["location"] == "/#emergency-access"
    assert "already been reviewed" in client.get("/").text
    assert len(audit_events(db, "emergency_access.reviewed")) == 1


def test_unknown_or_out_of_range_ids_are_404_and_only_reviewers_see_the_page(client, db, signed_in, make_person,
                                                                           make_user):
    access = grant(db, make_person, make_user)
    signed_in(Role.coordinator)
    for access_id in ("999999", "0", str(2**63), "abc"):
        assert client.get(f"/emergency-access/{access_id}/review").status_code == 404
        assert post_form(client, f"/emergency-access/{access_id}/review", {}).status_code == 404
    client.cookies.clear()
    signed_in(Role.clinician)
    assert client.get(f"/emergency-access/{access.id}/review").status_code == 403
    assert client.get("/emergency-access/999999/review").status_code == 403
