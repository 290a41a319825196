"""Referrals through the pages: drafting, sending only with a current consent to share, recording the response,
NRM details, the person-page section, and who may do it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role
from app.referrals.models import NrmDecision, NrmReferral, Referral, ReferralStatus
from tests.referrals.helpers import (
    count,
    draft_referral,
    events,
    field_error,
    links,
    organisation,
    post,
    record_consent,
    referral,
    revisions_of,
    send,
    text_of,
    version_of,
)


def nrm_of(db, referral_id: int) -> NrmReferral | None:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.get(NrmReferral, referral_id)


def section_of(page: str) -> str:
    start = page.index('id="referrals-section"')
    return page[start:page.index("</section>", start)]


def respond(client, db, person, referral_id: int, status: str, when, outcome: str = ""):  # type: ignore[no-untyped-def]
    return post(client, f"/people/{person.reference}/referrals/{referral_id}/status", {
        "status": status, "response_date": when.isoformat(), "outcome": outcome, "version": version_of(db, person)})


def sent_referral(client, db, person, today, *, made_days_ago: int = 10, name: str = "Helen Bamber Foundation"):  # type: ignore[no-untyped-def]
    organisation_id = organisation(db, name).id
    record_consent(client, db, person, organisation_id, today - timedelta(days=made_days_ago))
    referral_id = draft_referral(client, db, person, organisation_id)
    assert send(client, db, person, referral_id, today - timedelta(days=made_days_ago)).status_code == 303
    return referral_id


# --- drafting -------------------------------------------------------------------------------------

def test_drafting_a_referral_saves_a_draft_and_shows_it_on_the_person_page(client, db, signed_in, make_person,
                                                                          today):
    user = signed_in(Role.coordinator)
    person = make_person("Dawit", "Fictional")
    hbf = organisation(db, "Helen Bamber Foundation")
    referral_id = draft_referral(client, db, person, hbf.id,
                                 follow_up_date=(today + timedelta(days=14)).isoformat())
    saved = referral(db, referral_id)
    assert (saved.person_id, saved.organisation_id, saved.made_by_id) == (person.id, hbf.id, user.id)
    assert saved.status is ReferralStatus.draft and saved.made_date is None
    assert saved.reason == "Assessment of torture sequelae"
    assert saved.follow_up_date == today + timedelta(days=14)
    assert nrm_of(db, referral_id) is None  # a torture rehabilitation charity: not an NRM referral
    [revision] = revisions_of(db, "referrals", referral_id)
    assert revision.person_id == person.id and revision.after["status"] == "draft"
    [event] = events(db, "referral.created")
    assert event.person_id == person.id
    assert event.details == {"referral_id": referral_id, "organisation_id": hbf.id, "nrm": False}
    section = section_of(client.get(f"/people/{person.reference}").text)
    assert f'href="/people/{person.reference}/referrals/{referral_id}">Helen Bamber Foundation</a>' in section
    assert "Draft, not sent" in section and "Not sent" in section
    assert f'href="/people/{person.reference}/referrals/new">Make a referral' in section


def test_the_new_referral_form_offers_only_active_organisations_with_plain_types(client, db, signed_in,
                                                                                 make_person):
    signed_in(Role.coordinator)
    person = make_person("Form", "Viewer")
    migrant_help = organisation(db, "Migrant Help")
    migrant_help.is_active = False
    db.commit()
    page = client.get(f"/people/{person.reference}/referrals/new").text
    assert "Salvation Army (NRM first responder)" in page
    assert "Bail for Immigration Detainees (Bail support)" in page
    assert "Migrant Help" not in page
    assert "This is a National Referral Mechanism referral" in page


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"reason": ""}, "reason", "Enter reason for the referral"),
    ({"organisation_id": ""}, "organisation_id", "Enter organisation"),
    ({"organisation_id": "999999"}, "organisation_id", "Choose an active organisation"),
    ({"organisation_id": "Migrant Help"}, "organisation_id", "Choose an active organisation"),
    ({"follow_up_date": "-1"}, "follow_up_date", "choose today or a later date"),
    ({"follow_up_date": "not a date"}, "follow_up_date", "as a real date"),
])
def test_invalid_referral_is_refused_beside_the_field_and_nothing_is_saved(client, db, signed_in, make_person,
                                                                           today, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Bad", "Referral")
    migrant_help = organisation(db, "Migrant Help")
    migrant_help.is_active = False
    db.commit()
    data = {"organisation_id": str(organisation(db, "Freedom from Torture").id), "reason": "Assessment",
            "version": version_of(db, person)}
    for name, value in fields.items():
        if value == "Migrant Help":
            value = str(migrant_help.id)
        elif value.startswith("-"):
            value = (today + timedelta(days=int(value))).isoformat()
        data[name] = value
    response = post(client, f"/people/{person.reference}/referrals/new", {k: v for k, v in data.items() if v})
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert count(db, Referral) == 0
    assert events(db, "referral.created") == []


def test_unknown_form_fields_are_refused(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Mass", "Assignment")
    response = post(client, f"/people/{person.reference}/referrals/new", {
        "organisation_id": str(organisation(db, "Freedom from Torture").id), "reason": "Assessment",
        "status": "accepted", "version": version_of(db, person)})
    assert response.status_code == 422 and "does not accept (status)" in response.text
    assert count(db, Referral) == 0


# --- sending needs consent ------------------------------------------------------------------------

def test_a_referral_cannot_be_sent_without_consent_and_the_page_says_what_is_missing(client, db, signed_in,
                                                                                    make_person, today):
    signed_in(Role.coordinator)
    person = make_person("No", "Consent")
    hbf = organisation(db, "Helen Bamber Foundation")
    referral_id = draft_referral(client, db, person, hbf.id)
    link = f"/people/{person.reference}/consents/new?purpose=share_with_organisation&organisation={hbf.id}"
    page = client.get(f"/people/{person.reference}/referrals/{referral_id}").text
    assert "No current consent to share with Helen Bamber Foundation" in page and link in links(page)
    response = send(client, db, person, referral_id, today)
    assert response.status_code == 422
    assert "No current consent to share with Helen Bamber Foundation" in response.text
    assert link in links(response.text)
    assert f"No current consent to share with Helen Bamber Foundation on {today.day} " in text_of(response.text)
    assert 'class="error-summary"' in response.text
    saved = referral(db, referral_id)
    assert saved.status is ReferralStatus.draft and saved.made_date is None
    assert events(db, "referral.sent") == []
    [refused] = events(db, "referral.send_refused")
    assert refused.outcome is Outcome.success and refused.person_id == person.id
    assert refused.details == {"referral_id": referral_id, "reason": "consent_missing", "organisation_id": hbf.id}
    # the link leads to a form ready to record exactly that consent
    form = client.get(f"/people/{person.reference}/consents/new",
                      params={"purpose": "share_with_organisation", "organisation": hbf.id}).text
    assert f'<option value="{hbf.id}" selected>Helen Bamber Foundation</option>' in form


def test_a_referral_is_sent_once_consent_is_recorded(client, db, signed_in, make_person, today):
    user = signed_in(Role.coordinator)
    person = make_person("Yes", "Consent")
    hbf = organisation(db, "Helen Bamber Foundation")
    referral_id = draft_referral(client, db, person, hbf.id)
    assert send(client, db, person, referral_id, today).status_code == 422
    assert record_consent(client, db, person, hbf.id, today).status_code == 303
    response = send(client, db, person, referral_id, today,
                    follow_up_date=(today + timedelta(days=7)).isoformat())
    assert response.status_code == 303
    saved = referral(db, referral_id)
    assert saved.status is ReferralStatus.sent and saved.made_date == today
    assert saved.follow_up_date == today + timedelta(days=7)
    [event] = events(db, "referral.sent")
    assert event.actor_user_id == user.id
    assert event.details == {"referral_id": referral_id, "organisation_id": hbf.id}
    page = client.get(f"/people/{person.reference}/referrals/{referral_id}").text
    assert "Sent, awaiting response" in page
    assert "Sent (made" in page and "Drafted" in page  # status history from the revisions


def test_consent_must_have_stood_on_the_date_the_referral_was_made(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Late", "Consent")
    hbf = organisation(db, "Helen Bamber Foundation")
    record_consent(client, db, person, hbf.id, today)
    referral_id = draft_referral(client, db, person, hbf.id)
    response = send(client, db, person, referral_id, today - timedelta(days=1))
    assert response.status_code == 422 and "No current consent to share with Helen Bamber Foundation" in response.text
    assert referral(db, referral_id).status is ReferralStatus.draft


def test_consent_to_share_with_another_organisation_does_not_count(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Wrong", "Organisation")
    record_consent(client, db, person, organisation(db, "Freedom from Torture").id, today)
    record_consent(client, db, person, None, today, purpose="care_record")
    referral_id = draft_referral(client, db, person, organisation(db, "Helen Bamber Foundation").id)
    response = send(client, db, person, referral_id, today)
    assert response.status_code == 422 and "No current consent to share with Helen Bamber Foundation" in response.text
    assert referral(db, referral_id).status is ReferralStatus.draft


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"made_date": "+1"}, "made_date", "cannot be in the future"),
    ({"made_date": "0", "follow_up_date": "-1"}, "follow_up_date", "on or after the date the referral was made"),
    ({"made_date": ""}, "made_date", "Enter date the referral was made"),
])
def test_send_dates_are_checked(client, db, signed_in, make_person, today, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Send", "Dates")
    hbf = organisation(db, "Helen Bamber Foundation")
    record_consent(client, db, person, hbf.id, today - timedelta(days=5))
    referral_id = draft_referral(client, db, person, hbf.id)
    data = {"version": version_of(db, person)}
    for name, value in fields.items():
        if value:
            data[name] = (today + timedelta(days=int(value))).isoformat()
    response = post(client, f"/people/{person.reference}/referrals/{referral_id}/send", data)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert referral(db, referral_id).status is ReferralStatus.draft


def test_a_referral_to_a_deactivated_organisation_cannot_be_sent(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Closed", "Door")
    hbf = organisation(db, "Helen Bamber Foundation")
    record_consent(client, db, person, hbf.id, today)
    referral_id = draft_referral(client, db, person, hbf.id)
    hbf = organisation(db, "Helen Bamber Foundation")
    hbf.is_active = False
    db.commit()
    response = send(client, db, person, referral_id, today)
    assert response.status_code == 422 and "has been deactivated" in response.text
    assert referral(db, referral_id).status is ReferralStatus.draft


def test_a_referral_is_sent_only_once(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Twice", "Sent")
    referral_id = sent_referral(client, db, person, today)
    response = send(client, db, person, referral_id, today)
    assert response.status_code == 422 and "already been sent" in response.text
    assert referral(db, referral_id).made_date == today - timedelta(days=10)


def test_a_send_form_loaded_before_another_change_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Stale", "Sender")
    hbf = organisation(db, "Helen Bamber Foundation")
    record_consent(client, db, person, hbf.id, today)
    referral_id = draft_referral(client, db, person, hbf.id)
    stale = version_of(db, person)
    record_consent(client, db, person, None, today, purpose="care_record")
    follow_up = (today + timedelta(days=7)).isoformat()
    response = post(client, f"/people/{person.reference}/referrals/{referral_id}/send",
                    {"made_date": today.isoformat(), "follow_up_date": follow_up, "version": stale})
    # The referral page again, with what was typed and the message that nothing was saved.
    assert response.status_code == 409 and "Nothing you typed has been saved" in response.text
    assert f'value="{follow_up}"' in response.text
    assert referral(db, referral_id).status is ReferralStatus.draft


# --- the response -------------------------------------------------------------------------------

def test_accepted_then_completed_with_dates_and_outcome(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Good", "Outcome")
    referral_id = sent_referral(client, db, person, today)
    accepted = respond(client, db, person, referral_id, "accepted", today - timedelta(days=6), "Assessment booked")
    assert accepted.status_code == 303
    saved = referral(db, referral_id)
    assert saved.status is ReferralStatus.accepted and saved.response_date == today - timedelta(days=6)
    assert saved.outcome == "Assessment booked"
    page = client.get(f"/people/{person.reference}/referrals/{referral_id}").text
    assert '<option value="completed">Completed</option>' in page and 'value="declined"' not in page
    too_early = respond(client, db, person, referral_id, "completed", today - timedelta(days=7))
    assert too_early.status_code == 422
    assert "on or after the date it was accepted" in field_error(too_early.text, "response_date")
    declined = respond(client, db, person, referral_id, "declined", today)
    assert declined.status_code == 422 and "only be recorded as completed" in field_error(declined.text, "status")
    assert referral(db, referral_id).status is ReferralStatus.accepted
    completed = respond(client, db, person, referral_id, "completed", today, "Report written")
    assert completed.status_code == 303
    saved = referral(db, referral_id)
    assert saved.status is ReferralStatus.completed and saved.outcome == "Report written"
    statuses = [r.after["status"] for r in revisions_of(db, "referrals", referral_id)]
    assert statuses == ["draft", "sent", "accepted", "completed"]
    changes = events(db, "referral.status_changed")
    assert [(e.details["previous_status"], e.details["status"]) for e in changes] == [
        ("sent", "accepted"), ("accepted", "completed")]
    page = text_of(client.get(f"/people/{person.reference}/referrals/{referral_id}").text)
    assert "Accepted (response" in page and "Completed (response" in page
    # a completed referral takes no further response
    again = respond(client, db, person, referral_id, "no_response", today)
    assert again.status_code == 422 and "already completed" in again.text


@pytest.mark.parametrize(("status", "offset", "field", "message"), [
    ("declined", -11, "response_date", "on or after the date the referral was made"),
    ("no_response", 1, "response_date", "cannot be in the future"),
    ("sent", 0, "status", "Choose the response from the list"),
    ("draft", 0, "status", "Choose the response from the list"),
    ("exploded", 0, "status", "Choose response from the list"),
])
def test_response_rules(client, db, signed_in, make_person, today, status, offset, field, message):
    signed_in(Role.coordinator)
    person = make_person("Response", "Rules")
    referral_id = sent_referral(client, db, person, today)
    response = respond(client, db, person, referral_id, status, today + timedelta(days=offset))
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    saved = referral(db, referral_id)
    assert saved.status is ReferralStatus.sent and saved.response_date is None


def test_a_draft_takes_no_response(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Draft", "Only")
    referral_id = draft_referral(client, db, person, organisation(db, "Freedom from Torture").id)
    response = respond(client, db, person, referral_id, "accepted", today)
    assert response.status_code == 422 and "Send the referral before recording a response" in response.text
    assert referral(db, referral_id).status is ReferralStatus.draft


def test_declined_and_no_response_are_final(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Final", "Answer")
    referral_id = sent_referral(client, db, person, today)
    assert respond(client, db, person, referral_id, "declined", today, "Outside their remit").status_code == 303
    response = respond(client, db, person, referral_id, "accepted", today)
    assert response.status_code == 422 and "already declined" in response.text
    assert referral(db, referral_id).status is ReferralStatus.declined


# --- follow-up ----------------------------------------------------------------------------------

def test_an_overdue_follow_up_is_highlighted_until_a_response_is_recorded(client, db, signed_in, make_person,
                                                                         today):
    signed_in(Role.coordinator)
    person = make_person("Follow", "Up")
    referral_id = sent_referral(client, db, person, today)
    saved = referral(db, referral_id)
    saved.follow_up_date = today - timedelta(days=1)
    db.commit()
    section = section_of(client.get(f"/people/{person.reference}").text)
    assert "Overdue" in section
    assert "Follow-up overdue" in client.get(f"/people/{person.reference}/referrals/{referral_id}").text
    saved = referral(db, referral_id)
    saved.follow_up_date = today
    db.commit()
    assert "Overdue" not in section_of(client.get(f"/people/{person.reference}").text)  # due today: not yet
    saved = referral(db, referral_id)
    saved.follow_up_date = today - timedelta(days=1)
    db.commit()
    assert respond(client, db, person, referral_id, "accepted", today).status_code == 303
    assert "Overdue" not in section_of(client.get(f"/people/{person.reference}").text)


# --- NRM ----------------------------------------------------------------------------------------

def test_a_referral_to_a_first_responder_is_an_nrm_referral(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Trafficking", "Survivor")
    salvation_army = organisation(db, "Salvation Army")
    referral_id = draft_referral(client, db, person, salvation_army.id)
    nrm = nrm_of(db, referral_id)
    assert nrm is not None and nrm.first_responder_id == salvation_army.id
    assert events(db, "referral.created")[0].details["nrm"] is True
    [revision] = revisions_of(db, "nrm_referrals", referral_id)
    assert revision.person_id == person.id
    page = client.get(f"/people/{person.reference}/referrals/{referral_id}").text
    assert "National Referral Mechanism" in page and "Reasonable-grounds decision awaited" in page
    assert "Reasonable-grounds decision awaited" in section_of(client.get(f"/people/{person.reference}").text)


def test_ticking_the_nrm_box_makes_any_referral_an_nrm_one(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    person = make_person("Ticked", "Box")
    referral_id = draft_referral(client, db, person, organisation(db, "Migrant Help").id, is_nrm="true")
    nrm = nrm_of(db, referral_id)
    assert nrm is not None and nrm.first_responder_id is None
    plain = draft_referral(client, db, person, organisation(db, "Migrant Help").id)
    assert nrm_of(db, plain) is None
    assert client.get(f"/people/{person.reference}/referrals/{plain}/nrm").status_code == 404


def nrm_post(client, db, person, referral_id: int, **fields):  # type: ignore[no-untyped-def]
    data = {"version": version_of(db, person)} | {k: v for k, v in fields.items() if v is not None}
    return post(client, f"/people/{person.reference}/referrals/{referral_id}/nrm", data)


def test_nrm_decisions_are_recorded_in_order(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Nrm", "Decisions")
    salvation_army = organisation(db, "Salvation Army")
    referral_id = sent_referral(client, db, person, today, made_days_ago=60, name="Salvation Army")
    form = client.get(f"/people/{person.reference}/referrals/{referral_id}/nrm")
    assert form.status_code == 200 and f'<option value="{salvation_army.id}" selected>Salvation Army' in form.text
    rg = (today - timedelta(days=50)).isoformat()
    response = nrm_post(client, db, person, referral_id, first_responder_id=str(salvation_army.id),
                        reasonable_grounds_date=rg, reasonable_grounds_outcome="positive")
    assert response.status_code == 303
    nrm = nrm_of(db, referral_id)
    assert nrm.reasonable_grounds_outcome is NrmDecision.positive
    assert "Reasonable grounds: positive" in section_of(client.get(f"/people/{person.reference}").text)
    assert "conclusive-grounds decision awaited" in section_of(client.get(f"/people/{person.reference}").text)
    response = nrm_post(client, db, person, referral_id, first_responder_id=str(salvation_army.id),
                        reasonable_grounds_date=rg, reasonable_grounds_outcome="positive",
                        conclusive_grounds_date=today.isoformat(), conclusive_grounds_outcome="positive")
    assert response.status_code == 303
    nrm = nrm_of(db, referral_id)
    assert nrm.conclusive_grounds_date == today and nrm.conclusive_grounds_outcome is NrmDecision.positive
    assert "Conclusive grounds: positive" in section_of(client.get(f"/people/{person.reference}").text)
    [first, second] = events(db, "referral.nrm_changed")
    assert sorted(first.details["fields"]) == ["reasonable_grounds_date", "reasonable_grounds_outcome"]
    assert sorted(second.details["fields"]) == ["conclusive_grounds_date", "conclusive_grounds_outcome"]
    assert len(revisions_of(db, "nrm_referrals", referral_id)) == 3
    assert "NRM details changed" in client.get(f"/people/{person.reference}/referrals/{referral_id}").text


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"reasonable_grounds_outcome": "positive"}, "reasonable_grounds_date", "Enter the date"),
    ({"reasonable_grounds_date": -40, "conclusive_grounds_outcome": "negative"}, "conclusive_grounds_date",
     "Enter the date"),
    ({"conclusive_grounds_date": -5}, "conclusive_grounds_date", "enter that decision's date first"),
    ({"reasonable_grounds_date": -5, "conclusive_grounds_date": -6}, "conclusive_grounds_date",
     "on or after the reasonable-grounds decision"),
    ({"reasonable_grounds_date": -61}, "reasonable_grounds_date", "on or after the date the referral was made"),
    ({"reasonable_grounds_date": 1}, "reasonable_grounds_date", "cannot be in the future"),
    ({"reasonable_grounds_date": -10, "conclusive_grounds_date": 1}, "conclusive_grounds_date",
     "cannot be in the future"),
    ({"reasonable_grounds_outcome": "maybe", "reasonable_grounds_date": -10}, "reasonable_grounds_outcome",
     "from the list"),
    ({"first_responder_id": "Helen Bamber Foundation"}, "first_responder_id", "Choose an active first responder"),
])
def test_nrm_date_order_and_choices_are_checked(client, db, signed_in, make_person, today, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Nrm", "Rules")
    referral_id = sent_referral(client, db, person, today, made_days_ago=60, name="Salvation Army")
    data = {}
    for name, value in fields.items():
        if isinstance(value, int):
            value = (today + timedelta(days=value)).isoformat()
        elif value == "Helen Bamber Foundation":
            value = str(organisation(db, value).id)
        data[name] = value
    before = len(revisions_of(db, "nrm_referrals", referral_id))
    response = nrm_post(client, db, person, referral_id, **data)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    nrm = nrm_of(db, referral_id)
    assert nrm.reasonable_grounds_date is None and nrm.conclusive_grounds_date is None
    assert len(revisions_of(db, "nrm_referrals", referral_id)) == before
    assert events(db, "referral.nrm_changed") == []


def test_nrm_decisions_wait_until_the_referral_is_sent(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Nrm", "Draft")
    referral_id = draft_referral(client, db, person, organisation(db, "Salvation Army").id)
    response = nrm_post(client, db, person, referral_id, reasonable_grounds_date=today.isoformat())
    assert response.status_code == 422
    assert "once the referral has been sent" in field_error(response.text, "reasonable_grounds_date")


# --- the referral page and access ---------------------------------------------------------------

def test_viewing_a_referral_is_audited(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Viewed", "Referral", assigned_to=user)
    referral_id = draft_referral(client, db, person, organisation(db, "Freedom from Torture").id)
    page = client.get(f"/people/{person.reference}/referrals/{referral_id}")
    assert page.status_code == 200 and "Referral to Freedom from Torture" in page.text
    [event] = events(db, "referral.viewed")
    assert event.actor_user_id == user.id and event.person_id == person.id
    assert event.details == {"referral_id": referral_id}


def test_unassigned_clinician_is_refused_and_the_refusal_recorded(client, db, signed_in, make_person, make_user,
                                                                  today):
    coordinator = make_user(Role.coordinator)
    person = make_person("Someone", "Elses")
    db.rollback()
    hbf = organisation(db, "Helen Bamber Foundation")
    db.add(Referral(person_id=person.id, organisation_id=hbf.id, reason="x", made_by_id=coordinator.id))
    db.commit()
    referral_id = db.scalar(select(Referral.id).where(Referral.person_id == person.id))
    clinician = signed_in(Role.clinician)
    base = f"/people/{person.reference}/referrals"
    assert client.get(f"{base}/new").status_code == 403
    assert client.get(f"{base}/{referral_id}").status_code == 403
    assert post(client, f"{base}/new", {"organisation_id": str(hbf.id), "reason": "x",
                                        "version": version_of(db, person)}).status_code == 403
    assert send(client, db, person, referral_id, today).status_code == 403
    assert count(db, Referral) == 1 and referral(db, referral_id).status is ReferralStatus.draft
    denied = events(db, "security.permission_denied")
    assert len(denied) == 4
    assert all(e.actor_user_id == clinician.id and e.outcome is Outcome.denied for e in denied)
    assert events(db, "referral.viewed") == []


def test_researchers_are_refused(client, db, signed_in, make_person, make_user):
    coordinator = make_user(Role.coordinator)
    person = make_person("Research", "Subject")
    db.rollback()
    hbf = organisation(db, "Helen Bamber Foundation")
    db.add(Referral(person_id=person.id, organisation_id=hbf.id, reason="x", made_by_id=coordinator.id))
    db.commit()
    referral_id = db.scalar(select(Referral.id).where(Referral.person_id == person.id))
    researcher = signed_in(Role.researcher)
    base = f"/people/{person.reference}/referrals"
    assert client.get(f"{base}/{referral_id}").status_code == 403
    assert client.get(f"{base}/new").status_code == 403
    assert post(client, f"{base}/{referral_id}/status", {"status": "accepted", "response_date": "2026-01-01",
                                                         "version": "1"}).status_code == 403
    db.rollback()
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "security.permission_denied",
                                                 AuditEvent.actor_user_id == researcher.id)
                          .order_by(AuditEvent.id)).all()
    # Every refusal is recorded with the first permission missing: a researcher may see no person at all.
    assert [e.details["permission"] for e in denied] == ["view_person"] * 3


def test_another_persons_referral_is_not_found(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("First", "Person")
    other = make_person("Second", "Person")
    referral_id = draft_referral(client, db, other, organisation(db, "Salvation Army").id)
    base = f"/people/{person.reference}/referrals/{referral_id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/nrm").status_code == 404
    assert send(client, db, person, referral_id, today).status_code == 404
    assert client.get(f"/people/{person.reference}/referrals/999999").status_code == 404
    assert client.get("/people/ZZZZ-ZZZZ/referrals/new").status_code == 404
