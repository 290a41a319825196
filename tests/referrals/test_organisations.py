"""The admin's organisations register: list, add, edit, duplicates, deactivate and reactivate, and who may."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from app.audit.models import Outcome
from app.auth.models import Role
from app.consent.views import router as consent_router
from app.referrals.models import Organisation, OrganisationType, Referral
from app.referrals.views import organisations_router, router
from tests.referrals.helpers import (
    count,
    draft_referral,
    events,
    field_error,
    organisation,
    post,
    revisions_of,
)

LIST = "/admin/organisations"
NEW = {"name": "Fictional Anti-Trafficking Network", "type": "nrm_first_responder",
       "contact": "referrals@fictional-network.example"}


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(1)


def named(db, name: str) -> Organisation | None:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(Organisation).where(Organisation.name == name))


def test_admin_sees_the_register_with_plain_types(client, signed_in):
    signed_in(Role.admin)
    response = client.get(LIST)
    assert response.status_code == 200
    active = section(response.text, "active-organisations")
    for name in ("Bail for Immigration Detainees", "Helen Bamber Foundation", "Salvation Army", "Migrant Help"):
        assert name in active
    assert "NRM first responder" in active and "Torture rehabilitation" in active
    assert ">nrm_first_responder<" not in response.text and ">torture_rehabilitation<" not in response.text
    assert re.search(r'href="/admin/organisations/\d+">Change<span class="visually-hidden"> Salvation Army</span>',
                     active)


def test_admin_adds_an_organisation(client, db, signed_in):
    admin = signed_in(Role.admin)
    response = post(client, f"{LIST}/new", NEW)
    assert response.status_code == 303 and response.headers["location"] == LIST
    listing = client.get(LIST).text
    assert "Fictional Anti-Trafficking Network added." in listing
    assert "Fictional Anti-Trafficking Network" in section(listing, "active-organisations")
    saved = named(db, NEW["name"])
    assert saved is not None and saved.type is OrganisationType.nrm_first_responder and saved.is_active
    assert saved.contact == NEW["contact"]
    [event] = events(db, "admin.organisation_created")
    assert event.actor_user_id == admin.id and event.object_type == "organisation"
    assert event.object_id == str(saved.id)
    assert event.details == {"name": NEW["name"], "type": "nrm_first_responder"}
    [revision] = revisions_of(db, "organisations", saved.id)
    assert revision.after["name"] == NEW["name"] and revision.person_id is None


@pytest.mark.parametrize("name", ["helen bamber foundation", "  HELEN BAMBER FOUNDATION  "])
def test_a_duplicate_name_is_refused_whatever_its_case(client, db, signed_in, name):
    signed_in(Role.admin)
    before = count(db, Organisation)
    response = post(client, f"{LIST}/new", NEW | {"name": name})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "An organisation with this name already exists."
    assert f'value="{name.strip()}"' in response.text  # kept as typed
    assert count(db, Organisation) == before
    assert events(db, "admin.organisation_created") == []


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": ""}, "name", "Enter the organisation's name"),
    ({"type": "secret_society"}, "type", "from the list"),
    ({"name": "x" * 161}, "name", "160 characters or fewer"),
])
def test_invalid_organisation_is_refused_beside_the_field(client, db, signed_in, fields, field, message):
    signed_in(Role.admin)
    before = count(db, Organisation)
    response = post(client, f"{LIST}/new", {k: v for k, v in (NEW | fields).items() if v})
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert count(db, Organisation) == before


def test_admin_edits_an_organisation_and_renaming_onto_another_is_refused(client, db, signed_in):
    admin = signed_in(Role.admin)
    migrant_help = organisation(db, "Migrant Help")
    path = f"{LIST}/{migrant_help.id}"
    page = client.get(path)
    assert page.status_code == 200 and 'value="Migrant Help"' in page.text
    clash = post(client, path, {"name": "SALVATION ARMY", "type": "other"})
    assert clash.status_code == 422 and "already exists" in field_error(clash.text, "name")
    assert organisation(db, "Migrant Help").name == "Migrant Help"
    response = post(client, path, {"name": "Migrant Help UK", "type": "safeguarding", "contact": "0800 000 0000"})
    assert response.status_code == 303
    saved = named(db, "Migrant Help UK")
    assert saved is not None and saved.id == migrant_help.id and saved.type is OrganisationType.safeguarding
    [event] = events(db, "admin.organisation_changed")
    assert event.actor_user_id == admin.id
    assert event.details == {"fields": ["contact", "name", "type"]}  # names only; the revision keeps values
    revision = revisions_of(db, "organisations", migrant_help.id)[-1]
    assert revision.before["name"] == "Migrant Help" and revision.after["contact"] == "0800 000 0000"
    # changing only the case of its own name is not a clash
    same = post(client, path, {"name": "migrant help uk", "type": "safeguarding", "contact": "0800 000 0000"})
    assert same.status_code == 303
    assert named(db, "migrant help uk") is not None
    unchanged = post(client, path, {"name": "migrant help uk", "type": "safeguarding", "contact": "0800 000 0000"})
    assert unchanged.status_code == 303
    assert "Nothing was changed." in client.get(LIST).text
    assert len(events(db, "admin.organisation_changed")) == 2


def test_deactivating_keeps_the_organisation_on_records_but_stops_new_use(client, db, signed_in, make_person):
    signed_in(Role.admin)
    person = make_person("Kept", "Record")
    hbf = organisation(db, "Helen Bamber Foundation")
    referral_id = draft_referral(client, db, person, hbf.id)
    edit = client.get(f"{LIST}/{hbf.id}").text
    assert "1 referral, 0 consents and 0 NRM referrals name this organisation" in edit
    response = post(client, f"{LIST}/{hbf.id}/deactivate", {})
    assert response.status_code == 303
    listing = client.get(LIST).text
    assert "Helen Bamber Foundation" in section(listing, "inactive-organisations")
    assert "Helen Bamber Foundation" not in section(listing, "active-organisations")
    assert organisation(db, "Helen Bamber Foundation").is_active is False
    db.rollback()
    assert db.get(Referral, referral_id).organisation_id == hbf.id  # never deleted
    assert "Helen Bamber Foundation" not in client.get(f"/people/{person.reference}/referrals/new").text
    assert "Helen Bamber Foundation" not in client.get(f"/people/{person.reference}/consents/new").text
    assert "Helen Bamber Foundation" in client.get(f"/people/{person.reference}").text  # still on the record
    again = post(client, f"{LIST}/{hbf.id}/deactivate", {})
    assert again.status_code == 422 and "already deactivated" in again.text
    assert 'value="Helen Bamber Foundation"' in again.text  # the edit page again, its details form as saved
    [event] = events(db, "admin.organisation_deactivated")
    assert event.details == {"name": "Helen Bamber Foundation"}
    assert post(client, f"{LIST}/{hbf.id}/reactivate", {}).status_code == 303
    assert organisation(db, "Helen Bamber Foundation").is_active is True
    assert len(events(db, "admin.organisation_reactivated")) == 1
    statuses = [r.after["is_active"] for r in revisions_of(db, "organisations", hbf.id)]
    assert statuses == [False, True]


def test_unknown_organisation_is_404(client, signed_in):
    signed_in(Role.admin)
    assert client.get(f"{LIST}/999999").status_code == 404
    assert post(client, f"{LIST}/999999/deactivate", {}).status_code == 404


@pytest.mark.parametrize("role", [Role.coordinator, Role.clinician, Role.researcher])
def test_only_admins_manage_organisations(client, db, signed_in, role):
    user = signed_in(role)
    before = count(db, Organisation)
    hbf = organisation(db, "Helen Bamber Foundation")
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}/new").status_code == 403
    assert client.get(f"{LIST}/{hbf.id}").status_code == 403
    for path, data in [(f"{LIST}/new", NEW), (f"{LIST}/{hbf.id}", NEW | {"name": "Hijacked"}),
                       (f"{LIST}/{hbf.id}/deactivate", {}), (f"{LIST}/{hbf.id}/reactivate", {})]:
        assert post(client, path, data).status_code == 403, path
    assert count(db, Organisation) == before
    unchanged = organisation(db, "Helen Bamber Foundation")
    assert unchanged.is_active and unchanged.type is OrganisationType.torture_rehabilitation
    denied = events(db, "security.permission_denied")
    assert len(denied) == 7
    assert all(e.actor_user_id == user.id and e.outcome is Outcome.denied for e in denied)
    assert {e.details["permission"] for e in denied} == {"manage_reference_data"}


def test_every_route_declares_its_permission_and_needs_a_session(client):
    expected = {"manage_reference_data"}
    person_pages = {"view_person", "record_clinical"}
    for routes_of, wanted in ((organisations_router, expected), (router, person_pages), (consent_router, person_pages)):
        routes = [r for r in routes_of.routes if isinstance(r, APIRoute)]
        assert routes
        for route in routes:
            permissions = {getattr(d.call, "required_permission", None) for d in route.dependant.dependencies}
            assert permissions & wanted, route.path
            for method in route.methods:
                path = (route.path.replace("{organisation_id}", "1").replace("{referral_id}", "1")
                        .replace("{consent_id}", "1")
                        .replace("{reference}", "AAAA-AAAA"))
                response = client.request(method, path, follow_redirects=False)
                assert response.status_code in (303, 401), (method, path, response.status_code)
