"""The admin's user pages: add, change role, deactivate (ending sessions) and reactivate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth import service
from app.auth.models import Role, User, UserSession
from app.auth.passwords import verify_password
from app.config import DEMO_PASSWORD, Settings
from app.errors import RuleBroken
from tests.conftest import TEST_MASTER_KEY, csrf_from, sign_in
from tests.pages import audit_events, post_form


def test_admin_adds_a_user_who_can_then_sign_in(client, db, signed_in):
    admin = signed_in(Role.admin)
    response = post_form(client, "/admin/users/new", {
        "display_name": "Dr Example", "email": "Dr.Example@Example.org", "role": "clinician",
        "password": "twelve chars or more"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    listing = client.get("/admin/users")
    assert "Account created for Dr Example." in listing.text
    db.rollback()
    user = db.scalars(select(User).where(User.email == "dr.example@example.org")).one()
    assert user.role is Role.clinician
    assert verify_password("twelve chars or more", user.password_hash)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "admin.user_created")).one()
    assert event.actor_user_id == admin.id and event.object_id == str(user.id)
    assert "twelve" not in str(event.details)
    assert sign_in(client, "dr.example@example.org", password="twelve chars or more").status_code == 303


def test_invalid_new_user_is_422_with_each_error_beside_its_field_and_nothing_saved(client, db, signed_in):
    signed_in(Role.admin)
    before = db.scalar(select(func.count()).select_from(User))
    response = post_form(client, "/admin/users/new", {
        "display_name": "Kept Name", "email": "not-an-email", "role": "superuser", "password": "short"})
    assert response.status_code == 422
    page = response.text
    assert "There is a problem" in page
    assert 'id="f-email-error"' in page and "right format" in page
    assert 'id="f-role-error"' in page and "Choose role from the list." in page
    assert 'id="f-password-error"' in page and "at least 12 characters" in page
    assert 'value="Kept Name"' in page  # what the user typed is kept
    assert "short" not in page.split('id="f-password"')[1].split(">")[0]  # but never the password
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User)) == before


def test_duplicate_email_is_refused(client, db, signed_in, make_user):
    signed_in(Role.admin)
    make_user(Role.clinician, email="taken@example.org")
    response = post_form(client, "/admin/users/new", {
        "display_name": "Someone", "email": "TAKEN@example.org", "role": "clinician",
        "password": "twelve chars or more"})
    assert response.status_code == 422
    assert "already exists" in response.text


def test_unknown_fields_are_rejected(client, db, signed_in):
    signed_in(Role.admin)
    response = post_form(client, "/admin/users/new", {
        "display_name": "Sneaky", "email": "sneaky@example.org", "role": "clinician",
        "password": "twelve chars or more", "is_active": "false"})
    assert response.status_code == 422
    assert "does not accept (is_active)" in response.text
    db.rollback()
    assert db.scalar(select(User).where(User.email == "sneaky@example.org")) is None


def test_admin_changes_a_role(client, db, signed_in, make_user):
    signed_in(Role.admin)
    other = make_user(Role.clinician, email="promote@example.org")
    response = post_form(client, f"/admin/users/{other.id}", {"display_name": "Promoted", "role": "coordinator"})
    assert response.status_code == 303
    db.rollback()
    assert db.get(User, other.id).role is Role.coordinator
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "admin.user_changed")).one()
    assert event.details["changes"]["role"] == ["clinician", "coordinator"]


def test_the_last_admin_cannot_be_demoted(client, db, signed_in):
    admin = signed_in(Role.admin)
    response = post_form(client, f"/admin/users/{admin.id}", {"display_name": "Me", "role": "researcher"})
    assert response.status_code == 422
    assert 'id="f-role-error"' in response.text and "only active admin" in response.text
    assert 'value="Me"' in response.text  # what was typed is kept
    assert audit_events(db, "admin.user_changed") == []
    db.rollback()
    assert db.get(User, admin.id).role is Role.admin


def test_deactivation_ends_every_session_of_that_user(client, db, signed_in, make_user, engine):
    from fastapi.testclient import TestClient

    from app.main import create_app

    target = make_user(Role.clinician, email="leaver@example.org")
    with TestClient(create_app()) as leaver_browser:
        assert sign_in(leaver_browser, target.email).status_code == 303
        assert leaver_browser.get("/").status_code == 200
        signed_in(Role.admin)
        response = post_form(client, f"/admin/users/{target.id}/deactivate", {},
                             form_page=f"/admin/users/{target.id}")
        assert response.status_code == 303
        assert leaver_browser.get("/", follow_redirects=False).status_code == 401
    db.rollback()
    assert db.get(User, target.id).is_active is False
    sessions = db.scalars(select(UserSession).where(UserSession.user_id == target.id)).all()
    assert sessions and all(s.ended_at is not None for s in sessions)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "admin.user_deactivated")).one()
    assert event.details == {"sessions_ended": 1}
    assert sign_in(client, target.email).status_code == 401


def test_admin_cannot_deactivate_themselves(client, db, signed_in):
    admin = signed_in(Role.admin)
    response = post_form(client, f"/admin/users/{admin.id}/deactivate", {}, form_page=f"/admin/users/{admin.id}")
    assert response.status_code == 422
    assert "cannot deactivate your own account" in response.text
    assert f'value="{admin.display_name}"' in response.text  # the details form still shows what is saved
    db.rollback()
    assert db.get(User, admin.id).is_active is True


def test_reactivated_user_can_sign_in_again(client, db, signed_in, make_user):
    signed_in(Role.admin)
    target = make_user(Role.researcher, email="back@example.org", active=False)
    response = post_form(client, f"/admin/users/{target.id}/reactivate", {}, form_page=f"/admin/users/{target.id}")
    assert response.status_code == 303
    page = client.get("/admin/users")
    assert "can sign in again" in page.text
    token = csrf_from(page.text)
    client.post("/logout", data={"csrf_token": token})
    assert sign_in(client, "back@example.org").status_code == 303


def test_reactivating_an_active_account_is_refused_on_its_page(client, db, signed_in, make_user):
    signed_in(Role.admin)
    target = make_user(Role.clinician, email="still-here@example.org")
    response = post_form(client, f"/admin/users/{target.id}/reactivate", {})
    assert response.status_code == 422
    assert "already active" in response.text and f"<h1>{target.display_name}</h1>" in response.text
    assert audit_events(db, "admin.user_reactivated") == []


def test_a_rejected_password_is_shown_beside_its_field_and_the_details_stay_as_saved(client, db, signed_in,
                                                                                   make_user):
    signed_in(Role.admin)
    target = make_user(Role.coordinator, email="kept@example.org", name="Kept Name")
    response = post_form(client, f"/admin/users/{target.id}/password", {"password": "short"})
    assert response.status_code == 422
    page = response.text
    assert 'id="f-password-error"' in page and "at least 12 characters" in page
    assert 'value="Kept Name"' in page and '<option value="coordinator" selected>' in page
    assert "short" not in page.split('id="f-password"')[1].split(">")[0]


def test_the_demo_password_is_refused_as_a_new_password_in_production(db, make_user):
    user = make_user(Role.clinician)
    production = Settings(environment="production", database_url="sqlite://", secret_key="p" * 40,
                          master_key=TEST_MASTER_KEY)
    with pytest.raises(RuleBroken) as refused:
        service.set_password(db, production, user, DEMO_PASSWORD)
    assert refused.value.errors == {"password": "The public demo password cannot be used here."}
    db.rollback()


def test_account_ids_outside_the_range_are_404_and_only_admins_learn_which_exist(client, signed_in):
    signed_in(Role.admin)
    for user_id in ("999999", "0", str(2**63), "abc"):
        assert client.get(f"/admin/users/{user_id}").status_code == 404
        assert post_form(client, f"/admin/users/{user_id}/deactivate", {}).status_code == 404
    client.cookies.clear()
    signed_in(Role.coordinator)
    assert client.get("/admin/users/999999").status_code == 403
    assert post_form(client, "/admin/users/999999/two-factor/reset", {}).status_code == 403
