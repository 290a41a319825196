"""The admin's facility pages: list, add, rename, close and reopen, and who may use them."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from app.audit.models import Outcome
from app.auth.models import Role
from app.config import organisation_today
from app.detention import service
from app.detention.models import DetentionEpisode, Facility, FacilityType, Placement
from app.detention.views import facilities_router
from app.errors import RuleBroken
from app.people.models import Person, PersonStatus
from tests.conftest import page_csrf
from tests.pages import audit_events, count, post_form

LIST = "/admin/facilities"


def today() -> date:
    return organisation_today()


def facility_named(db, name: str) -> Facility | None:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(Facility).where(Facility.name == name))


def facility_count(db) -> int:  # type: ignore[no-untyped-def]
    return count(db, Facility)


def section(page: str, heading_id: str) -> str:
    """The HTML of one <section> of the list page."""
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(1)


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="field__error" id="f-{name}-error">(.*?)</p>', page, re.S)
    assert match, f"no error beside {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip()


NEW = {"name": "Gatwick Pier STHF", "type": "sthf", "operator": "Fictional Custody Ltd", "region": "South East",
       "opened_date": "2021-05-04"}


# --- listing ---------------------------------------------------------------------------------------

def test_admin_sees_the_seeded_estate_open_first_then_closed(client, signed_in):
    signed_in(Role.admin)
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.text
    open_part, closed_part = section(page, "open-facilities"), section(page, "closed-facilities")
    assert "Brook House" in open_part and "Brook House" not in closed_part
    assert "Campsfield House" in closed_part and "Campsfield House" not in open_part  # seeded as closed
    assert page.index("open-facilities") < page.index("closed-facilities")
    assert "Immigration removal centre" in open_part  # the type in plain words, not "irc"
    assert ">irc<" not in page
    assert "<caption" in open_part
    brook = re.search(r'href="/admin/facilities/(\d+)">Change<span class="visually-hidden"> Brook House</span>',
                      open_part)
    assert brook, "each row has a Change link naming the facility for screen readers"
    assert 'href="/admin/facilities/new"' in page


def test_open_facilities_lists_only_open_ones_by_name(db):
    names = [f.name for f in service.open_facilities(db)]
    assert "Brook House" in names and "Campsfield House" not in names and "Morton Hall" not in names
    assert names == sorted(names, key=str.lower)


# --- adding ----------------------------------------------------------------------------------------

def test_admin_adds_a_facility(client, db, signed_in):
    admin = signed_in(Role.admin)
    form = client.get("/admin/facilities/new")
    assert form.status_code == 200 and 'action="/admin/facilities/new"' in form.text
    response = post_form(client, "/admin/facilities/new", NEW)
    assert response.status_code == 303 and response.headers["location"] == LIST
    listing = client.get(LIST).text
    assert "Gatwick Pier STHF added." in listing
    assert "Gatwick Pier STHF" in section(listing, "open-facilities")
    assert "since 4 May 2021" in listing
    facility = facility_named(db, "Gatwick Pier STHF")
    assert facility is not None
    assert (facility.type, facility.operator, facility.region) == (
        FacilityType.sthf, "Fictional Custody Ltd", "South East")
    assert facility.opened_date == date(2021, 5, 4) and facility.is_active and facility.closed_date is None
    [event] = audit_events(db, "admin.facility_created")
    assert event.actor_user_id == admin.id and event.object_type == "facility"
    assert event.object_id == str(facility.id)
    assert event.details == {"name": "Gatwick Pier STHF", "type": "sthf"}


def test_optional_fields_may_be_left_empty(client, db, signed_in):
    signed_in(Role.admin)
    response = post_form(client, "/admin/facilities/new", {"name": "Plain Place", "type": "other",
                                                           "operator": "", "region": "", "opened_date": ""})
    assert response.status_code == 303
    facility = facility_named(db, "Plain Place")
    assert facility is not None and facility.operator is None and facility.region is None
    assert facility.opened_date is None


def test_invalid_new_facility_is_422_with_each_error_beside_its_field_and_nothing_saved(client, db, signed_in):
    signed_in(Role.admin)
    before = facility_count(db)
    response = post_form(client, "/admin/facilities/new", {
        "name": "", "type": "spaceship", "operator": "Kept Operator", "region": "x" * 81,
        "opened_date": "31/02/2020"})
    assert response.status_code == 422
    page = response.text
    assert "There is a problem" in page
    assert field_error(page, "name") == "Enter the facility&#39;s name."
    assert field_error(page, "type") == "Choose the type of facility from the list."
    assert field_error(page, "region") == "The region must be 80 characters or fewer."
    assert "as a real date" in field_error(page, "opened_date")
    assert 'value="Kept Operator"' in page  # what the admin typed is kept
    assert facility_count(db) == before
    assert audit_events(db, "admin.facility_created") == []


def test_name_longer_than_120_characters_is_refused(client, db, signed_in):
    signed_in(Role.admin)
    response = post_form(client, "/admin/facilities/new", NEW | {"name": "N" * 121})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "The facility&#39;s name must be 120 characters or fewer."


def test_opening_date_in_the_future_is_refused(client, db, signed_in):
    signed_in(Role.admin)
    before = facility_count(db)
    tomorrow = today() + timedelta(days=1)
    response = post_form(client, "/admin/facilities/new", NEW | {"opened_date": tomorrow.isoformat()})
    assert response.status_code == 422
    assert field_error(response.text, "opened_date") == "The opening date must be today or in the past."
    assert facility_count(db) == before


def test_opening_date_typed_in_words_is_understood(client, db, signed_in):
    signed_in(Role.admin)
    response = post_form(client, "/admin/facilities/new", NEW | {"opened_date": "3 March 2020"})
    assert response.status_code == 303
    assert facility_named(db, NEW["name"]).opened_date == date(2020, 3, 3)


def test_a_name_clash_the_check_missed_is_still_a_rule_error(db, monkeypatch):
    # Two admins adding the same facility at once both pass the check; the unique constraint decides.
    monkeypatch.setattr(service, "name_taken", lambda *args, **kwargs: False)
    with pytest.raises(RuleBroken) as raised:
        service.create_facility(db, name="Brook House", type=FacilityType.irc)
    assert raised.value.errors == {"name": "A facility with this name already exists."}
    colnbrook = db.scalar(select(Facility).where(Facility.name == "Colnbrook"))
    with pytest.raises(RuleBroken):
        service.update_facility(db, colnbrook, name="Brook House", type=FacilityType.irc)
    db.refresh(colnbrook)
    assert colnbrook.name == "Colnbrook"  # the session is still usable and nothing was renamed
    db.rollback()


@pytest.mark.parametrize("name", ["brook house", "  BROOK HOUSE  ", "Brook House"])
def test_duplicate_name_is_refused_whatever_its_case(client, db, signed_in, name):
    signed_in(Role.admin)
    before = facility_count(db)
    response = post_form(client, "/admin/facilities/new", NEW | {"name": name})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "A facility with this name already exists."
    assert facility_count(db) == before


def test_unknown_fields_are_rejected(client, db, signed_in):
    signed_in(Role.admin)
    response = post_form(client, "/admin/facilities/new", NEW | {"is_active": "false"})
    assert response.status_code == 422
    assert "does not accept (is_active)" in response.text
    assert facility_named(db, NEW["name"]) is None


# --- changing --------------------------------------------------------------------------------------

def test_admin_renames_a_facility_and_the_change_is_audited(client, db, signed_in):
    admin = signed_in(Role.admin)
    brook = facility_named(db, "Brook House")
    page = client.get(f"{LIST}/{brook.id}")
    assert page.status_code == 200 and 'value="Brook House"' in page.text
    response = post_form(client, f"{LIST}/{brook.id}", {
        "name": "Brook House IRC", "type": "irc", "operator": "Serco", "region": "South East (Gatwick)",
        "opened_date": "2009-03-18"})
    assert response.status_code == 303
    db.rollback()
    renamed = db.get(Facility, brook.id)
    assert renamed.name == "Brook House IRC" and renamed.opened_date == date(2009, 3, 18)
    [event] = audit_events(db, "admin.facility_changed")
    assert event.actor_user_id == admin.id and event.object_id == str(brook.id)
    assert event.details["changes"] == {"name": ["Brook House", "Brook House IRC"],
                                        "opened_date": [None, "2009-03-18"]}
    assert "Brook House IRC updated." in client.get(LIST).text


def test_saving_a_facility_under_its_own_name_in_another_case_is_allowed(client, db, signed_in):
    signed_in(Role.admin)
    brook = facility_named(db, "Brook House")
    response = post_form(client, f"{LIST}/{brook.id}", {"name": "BROOK HOUSE", "type": "irc"})
    assert response.status_code == 303
    assert facility_named(db, "BROOK HOUSE") is not None


def test_renaming_to_another_facilitys_name_is_refused(client, db, signed_in):
    signed_in(Role.admin)
    brook = facility_named(db, "Brook House")
    response = post_form(client, f"{LIST}/{brook.id}", {"name": "colnbrook", "type": "irc"})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "A facility with this name already exists."
    assert 'value="colnbrook"' in response.text
    assert facility_named(db, "Brook House") is not None
    assert audit_events(db, "admin.facility_changed") == []


def test_saving_without_changes_writes_no_audit_event(client, db, signed_in):
    signed_in(Role.admin)
    brook = facility_named(db, "Brook House")
    response = post_form(client, f"{LIST}/{brook.id}", {
        "name": "Brook House", "type": "irc", "operator": "Serco", "region": "South East (Gatwick)"})
    assert response.status_code == 303
    assert "Nothing was changed." in client.get(LIST).text
    assert audit_events(db, "admin.facility_changed") == []


# --- closing and reopening -------------------------------------------------------------------------

def close(client, facility_id: int, closed_date: str):  # type: ignore[no-untyped-def]
    return post_form(client, f"{LIST}/{facility_id}/close", {"closed_date": closed_date},
                     form_page=f"{LIST}/{facility_id}")


def test_admin_closes_a_facility_which_stays_listed_under_closed(client, db, signed_in):
    admin = signed_in(Role.admin)
    tinsley = facility_named(db, "Tinsley House")
    response = close(client, tinsley.id, "2026-03-03")
    assert response.status_code == 303
    db.rollback()
    closed = db.get(Facility, tinsley.id)
    assert closed.is_active is False and closed.closed_date == date(2026, 3, 3)
    listing = client.get(LIST).text
    assert "Tinsley House" in section(listing, "closed-facilities")
    assert "Tinsley House" not in section(listing, "open-facilities")
    assert "Closed 3 Mar 2026" in section(listing, "closed-facilities")
    assert "Tinsley House" not in [f.name for f in service.open_facilities(db)]
    [event] = audit_events(db, "admin.facility_closed")
    assert event.actor_user_id == admin.id and event.object_id == str(tinsley.id)
    assert event.details == {"closed_date": "2026-03-03"}


def test_closing_today_in_the_organisations_time_zone_is_allowed(client, db, signed_in):
    signed_in(Role.admin)
    dungavel = facility_named(db, "Dungavel")
    assert close(client, dungavel.id, today().isoformat()).status_code == 303
    assert facility_named(db, "Dungavel").closed_date == today()


def test_closing_date_is_required(client, db, signed_in):
    signed_in(Role.admin)
    dungavel = facility_named(db, "Dungavel")
    response = close(client, dungavel.id, "")
    assert response.status_code == 422
    assert field_error(response.text, "closed_date") == "Enter the closing date."
    assert facility_named(db, "Dungavel").is_active is True


def test_closing_date_in_the_future_is_refused(client, db, signed_in):
    signed_in(Role.admin)
    dungavel = facility_named(db, "Dungavel")
    tomorrow = (today() + timedelta(days=1)).isoformat()
    response = close(client, dungavel.id, tomorrow)
    assert response.status_code == 422
    assert field_error(response.text, "closed_date") == "The closing date must be today or in the past."
    assert f'value="{tomorrow}"' in response.text
    assert 'value="Dungavel"' in response.text  # the details form beside it still shows what is saved
    unchanged = facility_named(db, "Dungavel")
    assert unchanged.is_active is True and unchanged.closed_date is None
    assert audit_events(db, "admin.facility_closed") == []


def test_closing_date_before_the_opening_date_is_refused(client, db, signed_in):
    signed_in(Role.admin)
    assert post_form(client, "/admin/facilities/new", NEW).status_code == 303  # opened 4 May 2021
    facility = facility_named(db, NEW["name"])
    response = close(client, facility.id, "2021-05-03")
    assert response.status_code == 422
    assert field_error(response.text, "closed_date") == (
        "The closing date must be on or after the opening date (4 May 2021).")
    assert facility_named(db, NEW["name"]).is_active is True
    assert close(client, facility.id, "2021-05-04").status_code == 303  # the same day is fine


def test_closing_a_closed_facility_is_422_with_a_message(client, db, signed_in):
    signed_in(Role.admin)
    tinsley = facility_named(db, "Tinsley House")
    assert close(client, tinsley.id, "2026-01-10").status_code == 303
    token = page_csrf(client, f"{LIST}/{tinsley.id}")
    response = client.post(f"{LIST}/{tinsley.id}/close", data={"closed_date": "2026-02-01", "csrf_token": token})
    assert response.status_code == 422
    assert "This facility is already closed." in response.text
    assert facility_named(db, "Tinsley House").closed_date == date(2026, 1, 10)
    assert len(audit_events(db, "admin.facility_closed")) == 1


def test_opening_date_cannot_move_after_the_closing_date(client, db, signed_in):
    signed_in(Role.admin)
    tinsley = facility_named(db, "Tinsley House")
    assert close(client, tinsley.id, "2020-01-10").status_code == 303
    response = post_form(client, f"{LIST}/{tinsley.id}", {"name": "Tinsley House", "type": "irc",
                                                          "opened_date": "2020-02-01"})
    assert response.status_code == 422
    assert "on or before the closing date (10 Jan 2020)" in field_error(response.text, "opened_date")
    assert facility_named(db, "Tinsley House").opened_date is None


def test_admin_reopens_a_closed_facility(client, db, signed_in):
    admin = signed_in(Role.admin)
    tinsley = facility_named(db, "Tinsley House")
    assert close(client, tinsley.id, "2026-01-10").status_code == 303
    page = client.get(f"{LIST}/{tinsley.id}").text
    assert f'action="{LIST}/{tinsley.id}/reopen"' in page and 'name="closed_date"' not in page
    response = post_form(client, f"{LIST}/{tinsley.id}/reopen", {}, form_page=f"{LIST}/{tinsley.id}")
    assert response.status_code == 303
    reopened = facility_named(db, "Tinsley House")
    assert reopened.is_active is True and reopened.closed_date is None
    assert "Tinsley House" in section(client.get(LIST).text, "open-facilities")
    [event] = audit_events(db, "admin.facility_reopened")
    assert event.actor_user_id == admin.id and event.details == {"previous_closed_date": "2026-01-10"}


def test_reopening_an_open_facility_is_422(client, db, signed_in):
    signed_in(Role.admin)
    brook = facility_named(db, "Brook House")
    response = post_form(client, f"{LIST}/{brook.id}/reopen", {}, form_page=f"{LIST}/{brook.id}")
    assert response.status_code == 422
    assert "This facility is already open." in response.text
    assert audit_events(db, "admin.facility_reopened") == []


def test_a_facility_named_by_a_placement_can_be_closed_and_the_placement_keeps_it(client, db, signed_in):
    signed_in(Role.admin)
    colnbrook = facility_named(db, "Colnbrook")
    person = Person(reference="TEST-FAC1", status=PersonStatus.detained, opened_date=date(2025, 1, 2))
    db.add(person)
    db.flush()
    episode = DetentionEpisode(person_id=person.id, start_date=date(2025, 1, 2))
    db.add(episode)
    db.flush()
    placement = Placement(episode_id=episode.id, facility_id=colnbrook.id, date_in=date(2025, 1, 2))
    db.add(placement)
    db.commit()
    placement_id = placement.id

    page = client.get(f"{LIST}/{colnbrook.id}").text
    assert "1 placement names this facility, 1 of them current" in page
    assert close(client, colnbrook.id, "2026-02-01").status_code == 303
    db.rollback()
    kept = db.get(Placement, placement_id)
    assert kept is not None and kept.facility_id == colnbrook.id
    closed = db.get(Facility, colnbrook.id)
    assert closed is not None and closed.is_active is False


# --- missing facilities and refusals ---------------------------------------------------------------

@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", ""), ("POST", "/close"),
                                                 ("POST", "/reopen")])
def test_unknown_facility_is_404(client, signed_in, method, suffix):
    signed_in(Role.admin)
    token = page_csrf(client, LIST)
    data = {"csrf_token": token} if method == "POST" else None
    assert client.request(method, f"{LIST}/99999{suffix}", data=data).status_code == 404
    assert client.request(method, f"{LIST}/not-a-number{suffix}", data=data).status_code == 404


@pytest.mark.parametrize("role", [Role.coordinator, Role.clinician, Role.researcher])
def test_only_admins_manage_facilities(client, db, signed_in, role):
    user = signed_in(role)
    before = facility_count(db)
    brook = facility_named(db, "Brook House")
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}/{brook.id}").status_code == 403
    token = page_csrf(client, "/")  # the sign-out form carries this user's token
    writes = [("/admin/facilities/new", NEW), (f"{LIST}/{brook.id}", NEW | {"name": "Hijacked"}),
              (f"{LIST}/{brook.id}/close", {"closed_date": "2026-01-01"})]
    for path, data in writes:
        response = client.post(path, data=data | {"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, path
    assert facility_count(db) == before
    unchanged = facility_named(db, "Brook House")
    assert unchanged is not None and unchanged.is_active is True
    denied = audit_events(db, "security.permission_denied")
    assert len(denied) == 5
    assert all(e.actor_user_id == user.id and e.outcome is Outcome.denied for e in denied)
    assert {e.details["permission"] for e in denied} == {"manage_reference_data"}
    assert audit_events(db, "admin.facility_created") == audit_events(db, "admin.facility_closed") == []


def test_every_facility_route_requires_an_admin_session(client):
    routes = [r for r in facilities_router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 7
    for route in routes:
        permissions = [getattr(d.call, "required_permission", None) for d in route.dependant.dependencies]
        assert "manage_reference_data" in permissions, route.path
        for method in route.methods:
            path = route.path.replace("{facility_id}", "1")
            response = client.request(method, path, follow_redirects=False)
            assert response.status_code in (303, 401), (method, path, response.status_code)
