"""Recording and withdrawing consent through the pages: validation, revisions, audit, the person-page section,
and who may do it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role
from app.consent.models import Consent, ConsentMethod, ConsentPurpose
from app.referrals.models import ReferralStatus
from tests.referrals.helpers import (
    consents_of,
    count,
    draft_referral,
    events,
    field_error,
    organisation,
    post,
    record_consent,
    referral,
    revisions_of,
    send,
    text_of,
    version_of,
)


def test_recording_a_consent_to_share_saves_it_with_a_revision_and_an_audit_event(client, db, signed_in,
                                                                                   make_person, today):
    user = signed_in(Role.coordinator)
    person = make_person("Amara", "Fictional")
    hbf = organisation(db, "Helen Bamber Foundation")
    before = version_of(db, person)
    response = post(client, f"/people/{person.reference}/consents/new", {
        "purpose": "share_with_organisation", "organisation_id": str(hbf.id),
        "given_date": (today - timedelta(days=2)).isoformat(), "method": "verbal_with_interpreter",
        "interpreter_language": "Tigrinya", "notes": "Explained who the foundation are.", "version": before})
    assert response.status_code == 303
    assert response.headers["location"] == f"/people/{person.reference}#consent"
    [consent] = consents_of(db, person)
    assert (consent.purpose, consent.organisation_id, consent.given_date) == (
        ConsentPurpose.share_with_organisation, hbf.id, today - timedelta(days=2))
    assert (consent.method, consent.interpreter_language, consent.recorded_by_id) == (
        ConsentMethod.verbal_with_interpreter, "Tigrinya", user.id)
    assert consent.withdrawn_date is None
    assert version_of(db, person) != before  # the person's version moved on
    [revision] = revisions_of(db, "consents", consent.id)
    assert revision.person_id == person.id and revision.after["purpose"] == "share_with_organisation"
    [event] = events(db, "consent.recorded")
    assert event.person_id == person.id and event.actor_user_id == user.id
    assert event.details == {"consent_id": consent.id, "purpose": "share_with_organisation",
                             "organisation_id": hbf.id}
    page = client.get(f"/people/{person.reference}")
    section = page.text[page.text.index('id="consent-section"'):]
    assert "Share with an organisation: Helen Bamber Foundation" in section
    assert "Verbal, with an interpreter (Tigrinya)" in section
    assert f'href="/people/{person.reference}/consents/new">Record consent' in section
    assert f'/consents/{consent.id}/withdraw' in section


def test_the_new_consent_form_preselects_purpose_and_organisation_from_the_link(client, db, signed_in,
                                                                                make_person):
    signed_in(Role.coordinator)
    person = make_person("Pre", "Selected")
    hbf = organisation(db, "Helen Bamber Foundation")
    page = client.get(f"/people/{person.reference}/consents/new",
                      params={"purpose": "share_with_organisation", "organisation": str(hbf.id)}).text
    assert '<option value="share_with_organisation" selected>Share with an organisation</option>' in page
    assert f'<option value="{hbf.id}" selected>Helen Bamber Foundation</option>' in page
    # plain labels, not codes
    for label in ("Care record", "Home Office submission", "Medico-legal report", "Anonymised research"):
        assert f">{label}</option>" in page
    ignored = client.get(f"/people/{person.reference}/consents/new", params={"purpose": "world_domination",
                                                                            "organisation": "x"})
    assert ignored.status_code == 200 and " selected>" not in ignored.text


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"purpose": "share_with_organisation"}, "organisation_id", "Choose the organisation"),
    ({"purpose": "care_record", "organisation_id": "HBF"}, "organisation_id", "Only a consent to share"),
    ({"given_date": "+1"}, "given_date", "cannot be in the future"),
    ({"given_date": "31/02/2025"}, "given_date", "as a real date"),
    ({"method": "written_with_interpreter"}, "interpreter_language", "Enter the language"),
    ({"purpose": "mind_reading"}, "purpose", "from the list"),
    ({"method": "telepathy"}, "method", "from the list"),
    ({"given_date": ""}, "given_date", "Enter date consent was given"),
])
def test_invalid_consent_is_refused_beside_the_field_and_nothing_is_saved(client, db, signed_in, make_person,
                                                                          today, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Invalid", "Consent")
    hbf = organisation(db, "Helen Bamber Foundation")
    data = {"purpose": "anonymised_research", "given_date": today.isoformat(), "method": "written",
            "version": version_of(db, person)}
    for name, value in fields.items():
        if value == "HBF":
            value = str(hbf.id)
        elif value.startswith("+"):
            value = (today + timedelta(days=int(value))).isoformat()
        data[name] = value
    data = {k: v for k, v in data.items() if v != ""}
    response = post(client, f"/people/{person.reference}/consents/new", data)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert 'class="error-summary"' in response.text
    assert count(db, Consent) == 0
    assert events(db, "consent.recorded") == []


def test_a_consent_to_share_with_a_deactivated_organisation_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Inactive", "Organisation")
    hbf = organisation(db, "Helen Bamber Foundation")
    hbf.is_active = False
    db.commit()
    response = record_consent(client, db, person, hbf.id, today)
    assert response.status_code == 422
    assert "active organisation" in field_error(response.text, "organisation_id")
    assert consents_of(db, person) == []


def test_withdrawing_a_consent_records_the_date_and_who_recorded_it(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("With", "Drawn", assigned_to=user)
    assert record_consent(client, db, person, None, today - timedelta(days=20),
                          purpose="anonymised_research").status_code == 303
    [consent] = consents_of(db, person)
    path = f"/people/{person.reference}/consents/{consent.id}/withdraw"
    form = client.get(path)
    assert form.status_code == 200 and "Anonymised research" in form.text
    response = post(client, path, {"withdrawn_date": (today - timedelta(days=1)).isoformat(),
                                   "version": version_of(db, person)})
    assert response.status_code == 303
    [consent] = consents_of(db, person)
    assert consent.withdrawn_date == today - timedelta(days=1) and consent.withdrawal_recorded_by_id == user.id
    revision = revisions_of(db, "consents", consent.id)[-1]
    assert revision.before["withdrawn_date"] is None
    assert revision.after["withdrawn_date"] == (today - timedelta(days=1)).isoformat()
    [event] = events(db, "consent.withdrawn")
    assert event.details == {"consent_id": consent.id, "purpose": "anonymised_research"}
    page = client.get(f"/people/{person.reference}").text
    section = page[page.index('id="consent-section"'):]
    assert "No current consent recorded." in section
    assert f"Withdrawn {(today - timedelta(days=1)).day}" in text_of(section)
    assert f"/consents/{consent.id}/withdraw" not in section
    # withdrawing again is refused and changes nothing: the withdrawal page of a withdrawn consent is the
    # person page, which says so
    again = post(client, path, {"withdrawn_date": today.isoformat(), "version": version_of(db, person)})
    assert again.status_code == 303 and again.headers["location"] == f"/people/{person.reference}#consent"
    assert "That consent has already been withdrawn." in client.get(again.headers["location"]).text
    assert consents_of(db, person)[0].withdrawn_date == today - timedelta(days=1)
    assert len(events(db, "consent.withdrawn")) == 1


@pytest.mark.parametrize(("offset", "message"), [(-21, "on or after the date it was given"),
                                                 (1, "cannot be in the future")])
def test_withdrawal_dates_are_checked(client, db, signed_in, make_person, today, offset, message):
    signed_in(Role.coordinator)
    person = make_person("Withdrawal", "Dates")
    record_consent(client, db, person, None, today - timedelta(days=20), purpose="care_record")
    [consent] = consents_of(db, person)
    response = post(client, f"/people/{person.reference}/consents/{consent.id}/withdraw", {
        "withdrawn_date": (today + timedelta(days=offset)).isoformat(), "version": version_of(db, person)})
    assert response.status_code == 422
    assert message in field_error(response.text, "withdrawn_date")
    assert consents_of(db, person)[0].withdrawn_date is None
    assert events(db, "consent.withdrawn") == []


def test_withdrawal_immediately_blocks_sending_a_referral(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Blocked", "Sender")
    hbf = organisation(db, "Helen Bamber Foundation")
    record_consent(client, db, person, hbf.id, today - timedelta(days=5))
    referral_id = draft_referral(client, db, person, hbf.id)
    page = client.get(f"/people/{person.reference}/referrals/{referral_id}").text
    assert "Consent to share with Helen Bamber Foundation is recorded and current." in page
    [consent] = consents_of(db, person)
    withdrawn = post(client, f"/people/{person.reference}/consents/{consent.id}/withdraw",
                     {"withdrawn_date": today.isoformat(), "version": version_of(db, person)})
    assert withdrawn.status_code == 303
    refused = send(client, db, person, referral_id, today)
    assert refused.status_code == 422
    assert "No current consent to share with Helen Bamber Foundation" in refused.text
    assert referral(db, referral_id).status is ReferralStatus.draft
    assert referral(db, referral_id).made_date is None
    # made the day before the withdrawal, the referral stood on a consent then current
    assert send(client, db, person, referral_id, today - timedelta(days=1)).status_code == 303
    assert referral(db, referral_id).status is ReferralStatus.sent


def test_a_form_loaded_before_another_change_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Stale", "Consent")
    stale = version_of(db, person)
    assert record_consent(client, db, person, None, today, purpose="care_record").status_code == 303
    response = post(client, f"/people/{person.reference}/consents/new", {
        "purpose": "anonymised_research", "given_date": today.isoformat(), "method": "written", "version": stale})
    # The form again, with what was typed and the message that nothing was saved.
    assert response.status_code == 409 and "Nothing you typed has been saved" in response.text
    assert '<option value="anonymised_research" selected>' in response.text
    assert len(consents_of(db, person)) == 1


def test_unassigned_clinician_is_refused_and_the_refusal_recorded(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("Not", "Theirs")
    assert client.get(f"/people/{person.reference}/consents/new").status_code == 403
    response = post(client, f"/people/{person.reference}/consents/new", {
        "purpose": "care_record", "given_date": today.isoformat(), "method": "written",
        "version": version_of(db, person)})
    assert response.status_code == 403
    assert consents_of(db, person) == []
    denied = events(db, "security.permission_denied")
    assert len(denied) == 2
    assert all(e.actor_user_id == clinician.id and e.outcome is Outcome.denied
               and e.details["permission"] == "assigned_clinician" for e in denied)


def test_researchers_cannot_record_or_withdraw_consent(client, db, signed_in, make_person, today, make_user):
    researcher = signed_in(Role.researcher)
    person = make_person("Research", "Refused")
    coordinator = make_user(Role.coordinator)
    db.add(Consent(person_id=person.id, purpose=ConsentPurpose.care_record, given_date=today,
                   method=ConsentMethod.written, recorded_by_id=coordinator.id))
    db.commit()
    consent = consents_of(db, person)[0]
    assert client.get(f"/people/{person.reference}/consents/new").status_code == 403
    response = post(client, f"/people/{person.reference}/consents/{consent.id}/withdraw",
                    {"withdrawn_date": today.isoformat(), "version": version_of(db, person)})
    assert response.status_code == 403
    assert consents_of(db, person)[0].withdrawn_date is None
    db.rollback()
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "security.permission_denied",
                                                 AuditEvent.actor_user_id == researcher.id)).all()
    # The first permission missing is recorded: a researcher may not see any person at all.
    assert len(denied) == 2 and {e.details["permission"] for e in denied} == {"view_person"}


def test_another_persons_consent_is_not_found(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("First", "Person")
    other = make_person("Second", "Person")
    record_consent(client, db, other, None, today, purpose="care_record")
    [consent] = consents_of(db, other)
    assert client.get(f"/people/{person.reference}/consents/{consent.id}/withdraw").status_code == 404
    response = post(client, f"/people/{person.reference}/consents/{consent.id}/withdraw",
                    {"withdrawn_date": today.isoformat(), "version": version_of(db, person)})
    assert response.status_code == 404
    assert consents_of(db, other)[0].withdrawn_date is None
