"""Requests for help through the pages: taking one down, the triage queue's order and request_untriaged, each
decision (accepting into a new record or an existing one, declining, signposting, asking for more), who may see a
request, and the requests on the person page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.contacts.models import LegalRepresentative, Representation
from app.intake import service as intake
from app.intake.models import Channel, Decision, HelpRequest, Need, RequesterKind, Urgency
from app.people.models import Assignment, Identity, Person
from app.referrals.models import Organisation
from tests.conftest import csrf_from
from tests.pages import audit_events, count, post_form

FORM = {"channel": "phone", "requester_kind": "visitor_group", "urgency": "this_week",
        "needs": ["rule35", "mental_health"],
        "summary": "Says he was tortured; not sleeping; asks for a doctor.", "requester_name": "Pat Visitorperson",
        "requester_organisation": "Fictional Visitors Group", "callback_phone": "01632 960456",
        "given_names": "Quorin", "family_name": "Testrequestson", "birth": "about 1991", "nationality": "Eritrea",
        "home_office_reference": "Q1234567", "phone_in_detention": "07700 900321"}


def _request(db, *, urgency: Urgency = Urgency.routine, hours_ago: float = 1, family: str = "Waitingperson",
             **details: str) -> HelpRequest:  # type: ignore[no-untyped-def]
    made = intake.create(db, None, intake.NewRequest(
        received_at=datetime.now(UTC) - timedelta(hours=hours_ago), channel=Channel.online_form,
        requester_kind=RequesterKind.legal_representative, urgency=urgency, needs=[Need.clinical_concern],
        details={"family_name": family, "given_names": "Testa", "summary": "Needs a GP", **details}))
    db.commit()
    return made


def _decide(client, req: HelpRequest, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/requests/{req.reference}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return client.post(f"/requests/{req.reference}/decision",
                       data={"csrf_token": csrf_from(page), "version": version} | fields, follow_redirects=False)


def test_a_coordinator_records_a_request_and_it_waits_in_the_queue_sealed(client, db, signed_in, now_form):
    signed_in(Role.coordinator)
    response = post_form(client, "/requests/new", FORM | {"received_at": now_form}, form_page="/requests/new")
    assert response.status_code == 303, response.text
    db.rollback()
    [saved] = db.scalars(select(HelpRequest)).all()
    assert response.headers["location"] == f"/requests/{saved.reference}"
    assert re.fullmatch(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}", saved.reference)
    assert saved.needs == "rule35,mental_health" and saved.urgency is Urgency.this_week
    assert saved.details["family_name"] == "Testrequestson" and saved.details["callback_phone"] == "01632 960456"
    assert b"Testrequestson" not in saved.details_sealed and b"tortured" not in saved.details_sealed
    assert count(db, Person) == 0  # a request opens no record until it is accepted
    queue = client.get("/requests").text
    assert saved.reference in queue and "TESTREQUESTSON, Quorin" in queue
    page = client.get(f"/requests/{saved.reference}").text
    assert "Says he was tortured" in page and "Pat Visitorperson" in page
    [event] = audit_events(db, "request.recorded")
    assert event.details == {"channel": "phone", "urgency": "this_week"} and event.object_id == str(saved.id)
    assert "Testrequestson" not in str(event.details)
    assert len(audit_events(db, "request.viewed")) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("needs", [], "Choose at least one thing they need."),
    ("family_name", "", "even if it is only one name"),
    ("callback_phone", "", "Enter a phone number or e-mail address to reply to"),
    ("urgency", "", "Urgency"),
    ("received_at", "2999-01-01T10:00", "cannot have come in later than now"),
    ("facility_id", "999999", "Choose a place from the list"),
])
def test_a_request_with_a_mistake_is_refused_beside_the_field_and_nothing_is_saved(
        client, db, signed_in, now_form, field, value, message):
    signed_in(Role.coordinator)
    data = FORM | {"received_at": now_form, field: value}
    if field == "family_name":
        data["given_names"] = ""
    if field == "callback_phone":
        data["phone_in_detention"] = ""
    response = post_form(client, "/requests/new", data, form_page="/requests/new")
    assert response.status_code == 422
    assert message in response.text
    assert "Says he was tortured" in response.text  # what was typed is kept
    assert count(db, HelpRequest) == 0


def test_the_queue_puts_the_most_urgent_first_then_the_oldest_and_marks_those_waiting_too_long(
        client, db, signed_in):
    signed_in(Role.coordinator)
    routine_old = _request(db, urgency=Urgency.routine, hours_ago=24 * 11, family="Routineold")
    routine_new = _request(db, urgency=Urgency.routine, hours_ago=2, family="Routinenew")
    immediate = _request(db, urgency=Urgency.immediate, hours_ago=5, family="Immediateone")
    week = _request(db, urgency=Urgency.this_week, hours_ago=24 * 2, family="Weekone")
    page = client.get("/requests").text
    order = [m for m in re.findall(r"/requests/(R-[A-Z0-9-]{9})\"", page)]
    assert order == [immediate.reference, week.reference, routine_old.reference, routine_new.reference]
    rows = {ref: chunk for ref, chunk in re.findall(r"/requests/(R-[A-Z0-9-]{9})\"(.*?)</tr>", page, re.S)}
    assert "Waiting too long" in rows[immediate.reference]  # 5 h > 4 h
    assert "Waiting too long" in rows[routine_old.reference]  # 11 days > 10 days
    assert "Waiting too long" not in rows[week.reference] and "Waiting too long" not in rows[routine_new.reference]
    home = client.get("/").text
    assert "4</a> requests wait for a decision" in home and "2 have waited longer than their urgency allows" in home


@pytest.mark.parametrize(("urgency", "limit"), [(Urgency.immediate, timedelta(hours=4)),
                                                 (Urgency.this_week, timedelta(days=3)),
                                                 (Urgency.routine, timedelta(days=10))])
def test_request_untriaged_fires_at_its_boundary(db, urgency, limit):
    now = datetime.now(UTC)
    inside = _request(db, urgency=urgency, hours_ago=(limit - timedelta(minutes=1)).total_seconds() / 3600)
    past = _request(db, urgency=urgency, hours_ago=(limit + timedelta(minutes=1)).total_seconds() / 3600)
    rows = {row.request.reference: row.overdue for row in intake.queue(db, now)}
    assert rows == {inside.reference: False, past.reference: True}
    assert intake.counts(db, now) == intake.QueueCounts(waiting=2, overdue=1)


def test_accepting_opens_a_new_record_from_the_details_and_links_the_firm(client, db, signed_in):
    coordinator = signed_in(Role.coordinator)
    firm = LegalRepresentative(firm="Acceptance Law (fictional)")
    db.add(firm)
    db.commit()
    req = _request(db, family="Newrecordson", birth="1988", home_office_reference="N7654321",
                   phone_in_detention="07700 900999")
    db.get(HelpRequest, req.id).legal_representative_id = firm.id
    db.commit()
    response = _decide(client, req, decision="accepted")
    assert response.status_code == 303, response.text
    db.rollback()
    saved = db.get(HelpRequest, req.id)
    person = db.get(Person, saved.person_id)
    assert response.headers["location"] == f"/people/{person.reference}"
    assert (saved.decision, saved.decided_by_id) == (Decision.accepted, coordinator.id)
    identity = db.get(Identity, person.id)
    assert (identity.family_name, identity.given_names, identity.home_office_reference) == (
        "Newrecordson", "Testa", "N7654321")
    assert person.birth_year == 1988 and person.lead_coordinator_id == coordinator.id
    assert db.scalar(select(Representation.legal_representative_id).where(Representation.person_id == person.id)) \
        == firm.id
    page = client.get(f"/people/{person.reference}").text
    assert req.reference in page and "Acceptance Law (fictional)" in page
    assert req.reference not in client.get("/requests").text.split("Decided recently")[0]
    [event] = audit_events(db, "request.decided")
    assert event.details == {"decision": "accepted", "opened_new": True} and event.person_id == person.id
    assert len(audit_events(db, "person.created")) == 1


def test_accepting_runs_the_duplicate_check_and_can_attach_to_the_existing_record(client, db, signed_in,
                                                                                 make_person):
    signed_in(Role.coordinator)
    existing = make_person("Testa", "Duplicateson", birth_year=1990, nationality="ER")
    req = _request(db, family="Duplicateson", birth="approx. 1990")
    page = client.get(f"/requests/{req.reference}").text
    assert existing.reference in page and "may be the same person" in page
    refused = _decide(client, req, decision="accepted")
    assert refused.status_code == 422 and "Records like this person" in refused.text
    db.rollback()
    assert db.get(HelpRequest, req.id).decision is None and count(db, Person) == 1
    response = _decide(client, req, decision="accepted", person_reference=existing.reference)
    assert response.status_code == 303 and response.headers["location"] == f"/people/{existing.reference}"
    db.rollback()
    assert db.get(HelpRequest, req.id).person_id == existing.id and count(db, Person) == 1
    [event] = audit_events(db, "request.decided")
    assert event.details == {"decision": "accepted", "opened_new": False}


def test_confirming_someone_new_opens_a_record_despite_similar_ones(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person("Testa", "Samenameson", birth_year=1990, nationality="ER")
    req = _request(db, family="Samenameson", birth="1990")
    assert _decide(client, req, decision="accepted", confirm_new="true").status_code == 303
    assert count(db, Person) == 2


def test_a_request_with_one_name_cannot_open_a_record_but_can_be_attached(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    req = intake.create(db, None, intake.NewRequest(
        received_at=datetime.now(UTC) - timedelta(hours=1), channel=Channel.phone, requester_kind=RequesterKind.self,
        urgency=Urgency.routine, needs=[Need.other], details={"family_name": "Mononym", "summary": "Help"}))
    db.commit()
    refused = _decide(client, req, decision="accepted")
    assert refused.status_code == 422 and "only one name" in refused.text
    assert count(db, Person) == 0


@pytest.mark.parametrize(("fields", "error"), [
    ({"decision": "declined"}, "Say why the request is declined."),
    ({"decision": "signposted"}, "Choose the organisation the request was signposted to."),
    ({"decision": "more_information"}, "Say what more information is needed"),
    ({}, "Choose a decision."),
    ({"decision": "accepted", "person_reference": "ZZZZ-ZZZZ"}, "No record has that reference."),
])
def test_a_decision_missing_what_it_needs_is_refused_and_nothing_changes(client, db, signed_in, fields, error):
    signed_in(Role.coordinator)
    req = _request(db)
    response = _decide(client, req, **fields)
    assert response.status_code == 422 and error in response.text
    db.rollback()
    saved = db.get(HelpRequest, req.id)
    assert saved.decision is None and saved.decided_at is None and count(db, Person) == 0


def test_declining_signposting_and_asking_for_more(client, db, signed_in):
    signed_in(Role.coordinator)
    declined, signposted, more = _request(db), _request(db), _request(db)
    organisation = db.scalars(select(Organisation).where(Organisation.is_active.is_(True))).first()
    assert _decide(client, declined, decision="declined", note="Not detained; outside our remit.").status_code == 303
    assert _decide(client, signposted, decision="signposted",
                   signposted_to_id=str(organisation.id)).status_code == 303
    assert _decide(client, more, decision="more_information", note="Ask the solicitor for the IS.91.") \
        .status_code == 303
    db.rollback()
    assert db.get(HelpRequest, declined.id).decision_note == "Not detained; outside our remit."
    assert b"outside our remit" not in db.get(HelpRequest, declined.id).decision_note_sealed
    assert db.get(HelpRequest, signposted.id).signposted_to_id == organisation.id
    queue = client.get("/requests").text.split("Decided recently")[0]
    assert more.reference in queue and "More information asked for" in queue
    assert declined.reference not in queue and signposted.reference not in queue
    # Once decided, for good: a second decision is refused.
    again = _decide(client, more, decision="declined", note="Never heard back.")
    assert again.status_code == 303
    page = client.get(f"/requests/{declined.reference}").text
    assert 'action="/requests/' not in page  # no decision form on a decided request
    late = client.post(f"/requests/{declined.reference}/decision",
                       data={"csrf_token": csrf_from(page), "version": str(db.get(HelpRequest, declined.id).version),
                             "decision": "accepted"})
    assert late.status_code == 422 and "already decided" in late.text


def test_clinicians_see_only_requests_of_their_own_people_and_researchers_none(client, db, signed_in, make_person,
                                                                                make_user):
    own = make_person("Testa", "Ownperson")
    other = make_person("Testa", "Otherperson")
    mine, theirs, loose = _request(db), _request(db), _request(db)
    db.get(HelpRequest, mine.id).person_id = own.id
    db.get(HelpRequest, theirs.id).person_id = other.id
    db.commit()
    clinician = signed_in(Role.clinician)
    db.add(Assignment(person_id=own.id, clinician_id=clinician.id))
    db.commit()
    assert client.get(f"/requests/{mine.reference}").status_code == 200
    assert req_section(client.get(f"/people/{own.reference}").text, mine.reference)
    for refused in (theirs, loose):
        assert client.get(f"/requests/{refused.reference}").status_code == 403
    assert client.get("/requests").status_code == 403
    assert client.get("/requests/new").status_code == 403
    page = client.get(f"/requests/{mine.reference}").text
    assert 'action="/requests/' not in page
    assert client.post(f"/requests/{mine.reference}/decision",
                       data={"csrf_token": csrf_from(page), "decision": "declined", "note": "x"}).status_code == 403
    assert len(audit_events(db, "security.permission_denied")) >= 3
    signed_in(Role.researcher)
    for path in ("/requests", f"/requests/{mine.reference}", "/requests/new"):
        assert client.get(path).status_code == 403, path


def req_section(page: str, reference: str) -> bool:
    return "Requests for help" in page and reference in page


def test_an_unknown_or_malformed_request_reference_is_a_404(client, signed_in):
    signed_in(Role.coordinator)
    assert client.get("/requests/R-ZZZZ-ZZZZ").status_code == 404
    assert client.get("/requests/not-a-reference").status_code == 404


@pytest.fixture
def now_form() -> str:
    from app.config import get_settings

    return (datetime.now(UTC) - timedelta(minutes=10)).astimezone(get_settings().zone).strftime("%Y-%m-%dT%H:%M")
