"""The register of legal representatives, through its pages: listing, adding, changing, stale forms, archiving
and restoring, who may use it, and the audit rows each change leaves."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.audit.models import Outcome, Revision
from app.auth.models import Role
from app.contacts import service
from app.contacts.models import LegalRepresentative
from tests.conftest import page_csrf
from tests.contacts.helpers import HARBOURLINE, LIST, NEW, QUILLON, add, edit_path, field_error, named, section
from tests.pages import audit_events, count, form_fields, post_form

# --- adding ------------------------------------------------------------------------------------------------


def test_coordinator_adds_a_representative_and_sees_it_in_the_register(client, db, signed_in):
    user = signed_in(Role.coordinator)
    form = client.get(NEW)
    assert form.status_code == 200
    assert 'action="/contacts/representatives/new"' in form.text and 'name="version"' not in form.text
    response = post_form(client, NEW, HARBOURLINE, form_page=NEW)
    assert response.status_code == 303 and response.headers["location"] == LIST
    listing = client.get(LIST).text
    assert "Harbourline Law (fictional) added to the register." in listing
    in_use = section(listing, "active-representatives")
    assert "Harbourline Law (fictional)" in in_use and "Ada Testcase" in in_use
    assert "01632 960123" in in_use and "ada.testcase@example.org" in in_use
    assert "Legal-aid contract" in in_use and "0 people" in in_use
    assert 'href="/contacts/representatives/new"' in listing and "Add a legal representative" in listing
    rep = named(db, "Harbourline Law (fictional)")
    assert rep is not None
    assert (rep.caseworker, rep.phone, rep.email, rep.address, rep.legal_aid_contract, rep.archived_at) == (
        "Ada Testcase", "01632 960123", "ada.testcase@example.org", "1 Example Street, Testtown", True, None)
    [event] = audit_events(db, "contacts.representative_created")
    assert event.actor_user_id == user.id and event.object_type == "legal_representative"
    assert event.object_id == str(rep.id) and event.person_id is None
    assert "Ada Testcase" not in str(event.details)  # no one's name in the audit log
    revision = db.scalars(select(Revision).where(Revision.table_name == "legal_representatives")).one()
    assert revision.action.value == "insert" and revision.after["firm"] == "Harbourline Law (fictional)"


def test_optional_fields_may_be_left_empty_and_legal_aid_defaults_to_no(client, db, signed_in):
    signed_in(Role.admin)
    response = post_form(client, NEW, {"firm": "  Plainfield Law (fictional)  ", "caseworker": "", "phone": "",
                                       "email": "", "address": ""}, form_page=NEW)
    assert response.status_code == 303
    rep = named(db, "Plainfield Law (fictional)")  # surrounding spaces trimmed
    assert rep is not None
    assert (rep.caseworker, rep.phone, rep.email, rep.address, rep.legal_aid_contract) == (
        None, None, None, None, False)
    in_use = section(client.get(LIST).text, "active-representatives")
    assert re.search(r'data-label="Legal aid">No<', in_use)


def test_field_errors_keep_what_was_typed_and_store_nothing(client, db, signed_in):
    signed_in(Role.coordinator)
    response = post_form(client, NEW, {"firm": "", "caseworker": "Kept Caseworker", "phone": "0" * 41,
                                       "email": "not-an-address", "address": "2 Kept Road, Testtown"},
                         form_page=NEW)
    assert response.status_code == 422
    page = response.text
    assert "There is a problem" in page
    assert field_error(page, "firm") == "Enter firm."
    assert field_error(page, "phone") == "Phone must be 40 characters or fewer."
    assert field_error(page, "email") == "Enter an e-mail address like name@example.org"
    assert 'value="Kept Caseworker"' in page and 'value="not-an-address"' in page
    assert "2 Kept Road, Testtown</textarea>" in page
    assert count(db, LegalRepresentative) == 0
    assert audit_events(db, "contacts.representative_created") == []


def test_unknown_fields_are_refused(client, db, signed_in):
    signed_in(Role.coordinator)
    response = post_form(client, NEW, HARBOURLINE | {"archived_at": "2020-01-01"}, form_page=NEW)
    assert response.status_code == 422
    assert "does not accept (archived_at)" in response.text
    assert count(db, LegalRepresentative) == 0


@pytest.mark.parametrize(("firm", "caseworker"), [
    ("harbourline law (fictional)", "ada testcase"),
    ("  HARBOURLINE LAW (FICTIONAL) ", " ADA TESTCASE "),
    ("Harbourline Law (fictional)", "Ada Testcase"),
])
def test_the_same_firm_and_caseworker_is_refused_beside_the_firm_whatever_its_case(client, db, signed_in, firm,
                                                                                  caseworker):
    signed_in(Role.coordinator)
    add(client, HARBOURLINE)
    response = post_form(client, NEW, {"firm": firm, "caseworker": caseworker, "phone": "01632 960999"},
                         form_page=NEW)
    assert response.status_code == 422
    assert field_error(response.text, "firm") == service.DUPLICATE
    assert "01632 960999" in response.text  # what was typed is kept
    assert count(db, LegalRepresentative) == 1
    assert len(audit_events(db, "contacts.representative_created")) == 1


def test_the_same_firm_with_another_caseworker_or_none_is_a_separate_entry(client, db, signed_in):
    signed_in(Role.coordinator)
    add(client, HARBOURLINE)
    other = post_form(client, NEW, {"firm": HARBOURLINE["firm"], "caseworker": "Cy Fictionson"}, form_page=NEW)
    firm_only = post_form(client, NEW, {"firm": HARBOURLINE["firm"]}, form_page=NEW)
    assert other.status_code == firm_only.status_code == 303
    assert count(db, LegalRepresentative) == 3
    # The firm on its own is a duplicate of the firm on its own, not of its caseworkers.
    again = post_form(client, NEW, {"firm": HARBOURLINE["firm"].upper()}, form_page=NEW)
    assert again.status_code == 422 and field_error(again.text, "firm") == service.DUPLICATE
    assert count(db, LegalRepresentative) == 3


# --- changing ----------------------------------------------------------------------------------------------

def test_edit_shows_what_is_saved_and_records_the_changed_field_names(client, db, signed_in):
    user = signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    page = client.get(edit_path(rep_id))
    assert page.status_code == 200
    fields = form_fields(page.text, edit_path(rep_id))
    assert fields["firm"] == HARBOURLINE["firm"] and fields["caseworker"] == "Ada Testcase"
    assert fields["legal_aid_contract"] == "true" and fields["version"] == "1"
    response = post_form(client, edit_path(rep_id), fields | {"phone": "01632 960777", "legal_aid_contract": ""},
                         form_page=edit_path(rep_id))
    assert response.status_code == 303 and response.headers["location"] == LIST
    assert "Harbourline Law (fictional) updated." in client.get(LIST).text
    rep = named(db, HARBOURLINE["firm"])
    assert rep.phone == "01632 960777" and rep.legal_aid_contract is False and rep.version == 2
    [event] = audit_events(db, "contacts.representative_changed")
    assert event.actor_user_id == user.id and event.object_id == str(rep_id)
    assert event.details["fields"] == ["legal_aid_contract", "phone"]
    revision = db.scalars(select(Revision).where(Revision.table_name == "legal_representatives",
                                                 Revision.action == "update")).one()
    assert (revision.before["phone"], revision.after["phone"]) == ("01632 960123", "01632 960777")


def test_saving_an_unchanged_form_changes_nothing(client, db, signed_in):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    fields = form_fields(client.get(edit_path(rep_id)).text, edit_path(rep_id))
    response = post_form(client, edit_path(rep_id), fields, form_page=edit_path(rep_id))
    assert response.status_code == 303
    assert "Nothing was changed." in client.get(LIST).text
    assert named(db, HARBOURLINE["firm"]).version == 1
    assert audit_events(db, "contacts.representative_changed") == []


def test_an_edit_into_another_entry_is_refused_beside_the_firm(client, db, signed_in):
    signed_in(Role.coordinator)
    add(client, HARBOURLINE)
    quillon_id = add(client, QUILLON)
    fields = form_fields(client.get(edit_path(quillon_id)).text, edit_path(quillon_id))
    response = post_form(client, edit_path(quillon_id), fields | {"firm": HARBOURLINE["firm"],
                                                                   "caseworker": "ada testcase"},
                         form_page=edit_path(quillon_id))
    assert response.status_code == 422
    assert field_error(response.text, "firm") == service.DUPLICATE
    assert named(db, QUILLON["firm"]) is not None  # not renamed
    assert audit_events(db, "contacts.representative_changed") == []


def test_an_edit_on_a_stale_form_is_409_with_both_values_and_overwrites_nothing(client, db, signed_in):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    stale = form_fields(client.get(edit_path(rep_id)).text, edit_path(rep_id))
    first = post_form(client, edit_path(rep_id), stale | {"phone": "01632 960111"}, form_page=edit_path(rep_id))
    assert first.status_code == 303
    second = post_form(client, edit_path(rep_id), stale | {"phone": "01632 960222"}, form_page=edit_path(rep_id))
    assert second.status_code == 409
    page = second.text
    assert "Someone else saved changes to this record" in page
    assert "01632 960111" in page and "01632 960222" in page  # saved now, beside what was typed
    assert 'name="version" value="2"' in page  # saving again is a choice made knowing what is there
    rep = named(db, HARBOURLINE["firm"])
    assert rep.phone == "01632 960111" and rep.version == 2
    assert len(audit_events(db, "contacts.representative_changed")) == 1


def test_a_form_without_a_version_is_stale(client, db, signed_in):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    response = post_form(client, edit_path(rep_id), HARBOURLINE | {"phone": "01632 960333"},
                         form_page=edit_path(rep_id))
    assert response.status_code == 409
    assert named(db, HARBOURLINE["firm"]).phone == "01632 960123"


@pytest.mark.parametrize(("method", "suffix"), [("GET", "/edit"), ("POST", "/edit"), ("POST", "/archive"),
                                                ("POST", "/restore")])
def test_an_unknown_representative_is_404(client, signed_in, method, suffix):
    signed_in(Role.coordinator)
    token = page_csrf(client, LIST)
    data = {"csrf_token": token} if method == "POST" else None
    for rep_id in ("99999", "not-a-number", str(2**31)):
        assert client.request(method, f"{LIST}/{rep_id}{suffix}", data=data).status_code == 404, rep_id


# --- archiving and restoring -----------------------------------------------------------------------------

def test_archive_lists_them_after_those_in_use_and_restore_brings_them_back(client, db, signed_in):
    user = signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    add(client, QUILLON)
    page = client.get(edit_path(rep_id)).text
    assert f'action="/contacts/representatives/{rep_id}/archive"' in page
    response = post_form(client, f"{LIST}/{rep_id}/archive", {}, form_page=edit_path(rep_id))
    assert response.status_code == 303 and response.headers["location"] == LIST
    listing = client.get(LIST).text
    assert "archived. They stay on the records that name them." in listing
    in_use, archived = section(listing, "active-representatives"), section(listing, "archived-representatives")
    assert "Harbourline Law (fictional)" in archived and "Harbourline Law (fictional)" not in in_use
    assert "Quillon Solicitors (fictional)" in in_use
    assert "Archived" in archived
    assert listing.index("active-representatives") < listing.index("archived-representatives")
    rep = named(db, HARBOURLINE["firm"])
    assert rep.archived_at is not None
    [archived_event] = audit_events(db, "contacts.representative_archived")
    assert archived_event.actor_user_id == user.id and archived_event.object_id == str(rep_id)
    assert archived_event.details["acting_for"] == 0

    page = client.get(edit_path(rep_id)).text
    assert f'action="/contacts/representatives/{rep_id}/restore"' in page
    assert f'action="/contacts/representatives/{rep_id}/archive"' not in page
    response = post_form(client, f"{LIST}/{rep_id}/restore", {}, form_page=edit_path(rep_id))
    assert response.status_code == 303
    assert "Harbourline Law (fictional)" in section(client.get(LIST).text, "active-representatives")
    assert named(db, HARBOURLINE["firm"]).archived_at is None
    [restored_event] = audit_events(db, "contacts.representative_restored")
    assert restored_event.actor_user_id == user.id and restored_event.object_id == str(rep_id)
    actions = [r.action.value for r in db.scalars(select(Revision).where(
        Revision.table_name == "legal_representatives", Revision.row_id == rep_id).order_by(Revision.id))]
    assert actions == ["insert", "update", "update"]


def test_archiving_twice_or_restoring_one_in_use_is_refused(client, db, signed_in):
    signed_in(Role.coordinator)
    rep_id = add(client, HARBOURLINE)
    restore = post_form(client, f"{LIST}/{rep_id}/restore", {}, form_page=edit_path(rep_id))
    assert restore.status_code == 422 and "is not archived." in restore.text
    assert post_form(client, f"{LIST}/{rep_id}/archive", {}, form_page=edit_path(rep_id)).status_code == 303
    again = post_form(client, f"{LIST}/{rep_id}/archive", {}, form_page=edit_path(rep_id))
    assert again.status_code == 422 and "is already archived." in again.text
    assert len(audit_events(db, "contacts.representative_archived")) == 1
    assert audit_events(db, "contacts.representative_restored") == []


def test_an_archived_entry_can_be_added_again_and_then_is_not_restored_beside_it(client, db, signed_in):
    signed_in(Role.coordinator)
    old_id = add(client, HARBOURLINE)
    post_form(client, f"{LIST}/{old_id}/archive", {}, form_page=edit_path(old_id))
    readded = post_form(client, NEW, HARBOURLINE, form_page=NEW)  # an archived one is no duplicate
    assert readded.status_code == 303
    assert count(db, LegalRepresentative) == 2
    restore = post_form(client, f"{LIST}/{old_id}/restore", {}, form_page=edit_path(old_id))
    assert restore.status_code == 422
    assert "added to the register again" in restore.text
    db.rollback()
    assert db.get(LegalRepresentative, old_id).archived_at is not None
    assert audit_events(db, "contacts.representative_restored") == []


# --- who may use the register ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_clinicians_and_researchers_are_refused_every_register_route(client, db, signed_in, make_user, role):
    keeper = make_user(Role.coordinator)
    rep = LegalRepresentative(firm="Harbourline Law (fictional)", caseworker="Ada Testcase")
    db.add(rep)
    db.commit()
    rep_id = rep.id
    user = signed_in(role)
    assert keeper.id != user.id
    reads = [LIST, NEW, edit_path(rep_id)]
    for path in reads:
        assert client.get(path).status_code == 403, path
    token = page_csrf(client, "/")  # the sign-out form carries this user's token
    writes = [(NEW, HARBOURLINE | {"firm": "Hijack Law (fictional)"}),
              (edit_path(rep_id), HARBOURLINE | {"firm": "Hijacked (fictional)", "version": "1"}),
              (f"{LIST}/{rep_id}/archive", {}), (f"{LIST}/{rep_id}/restore", {})]
    for path, data in writes:
        response = client.post(path, data=data | {"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, path
    db.rollback()
    unchanged = db.get(LegalRepresentative, rep_id)
    assert unchanged.firm == "Harbourline Law (fictional)" and unchanged.archived_at is None
    assert unchanged.version == 1 and count(db, LegalRepresentative) == 1
    denied = audit_events(db, "security.permission_denied")
    assert len(denied) == len(reads) + len(writes)
    assert all(e.actor_user_id == user.id and e.outcome is Outcome.denied for e in denied)
    assert {e.details["permission"] for e in denied} == {"manage_contacts"}
    assert [e.details["path"] for e in denied] == reads + [path for path, _ in writes]
    assert audit_events(db, "contacts.representative_created") == []
    assert audit_events(db, "contacts.representative_changed") == []
    assert audit_events(db, "contacts.representative_archived") == []


@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_the_menu_offers_the_register_only_to_those_who_keep_it(client, signed_in, role):
    signed_in(role)
    assert 'href="/contacts/representatives"' not in client.get("/").text


def test_the_menu_offers_the_register_to_coordinators(client, signed_in):
    signed_in(Role.coordinator)
    assert 'href="/contacts/representatives"' in client.get("/").text


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(LIST, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/contacts/representatives"
