"""Rule 35 records through the pages: consent before sending, the order of the dates, a decision needs its
response date, stale forms, and the person-page section with the days a report has waited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent, Revision
from app.auth.models import Role
from app.evidence.models import EvidenceItem, Rule35Record
from app.people.models import Person
from tests.evidence.conftest import submit


def records(db) -> list[Rule35Record]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Rule35Record).order_by(Rule35Record.id)))


def version_of(db, person) -> str:  # type: ignore[no-untyped-def]
    db.rollback()
    return str(db.get(Person, person.id).version)


def days(today, offset: int) -> str:  # type: ignore[no-untyped-def]
    return str(today + timedelta(days=offset))


def test_record_send_and_answer_a_report_and_the_section_follows_it(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Rule", "Thirtyfive", assigned_to=user)
    new = f"/people/{person.reference}/rule35/new"
    form = client.get(new).text
    assert "Rule 35(3): torture concern" in form and "Rule 35(1): health likely to be injuriously affected" in form
    created = submit(client, new, {"limb": "35_3", "author_name": "Dr Fictive GP", "written_date": days(today, -12),
                                   "consent_to_send": "true", "sent_date": days(today, -9)})
    assert created.status_code == 303 and created.headers["location"].endswith("#rule35")
    [record] = records(db)
    assert record.limb.value == "35_3" and record.consent_to_send and record.created_by_id == user.id
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "rule35.created")).all()
    assert event.details == {"rule35_id": record.id}  # no clinical content in the audit log

    page = client.get(f"/people/{person.reference}").text
    assert "Rule 35(3): torture concern" in page and "Dr Fictive GP" in page
    assert "awaiting response for 9 days" in page

    edit = f"/people/{person.reference}/rule35/{record.id}/edit"
    answered = submit(client, edit, {"limb": "35_3", "author_name": "Dr Fictive GP", "written_date": days(today, -12),
                                     "consent_to_send": "true", "sent_date": days(today, -9),
                                     "response_date": days(today, -2), "outcome": "released", "aar_level_given": "2",
                                     "version": version_of(db, person)})
    assert answered.status_code == 303
    [record] = records(db)
    assert record.outcome.value == "released" and record.aar_level_given == 2
    page = client.get(f"/people/{person.reference}").text
    assert "awaiting response" not in page and "Answered on" in page and ": released" in page and "Level 2" in page
    change = db.scalars(select(AuditEvent).where(AuditEvent.action == "rule35.changed")).one()
    assert change.details["fields"] == ["aar_level_given", "outcome", "response_date"]
    actions = db.scalars(select(Revision.action).where(Revision.table_name == "rule35_records")
                         .order_by(Revision.id)).all()
    assert [a.value for a in actions] == ["insert", "update"]


def test_a_report_sent_today_has_waited_no_days_and_one_unsent_says_so(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Just", "Sent")
    new = f"/people/{person.reference}/rule35/new"
    submit(client, new, {"limb": "35_1", "written_date": days(today, -1), "consent_to_send": "true",
                         "sent_date": days(today, 0)})
    submit(client, new, {"limb": "35_2", "written_date": days(today, -1)})
    page = client.get(f"/people/{person.reference}").text
    assert "awaiting response for 0 days" in page
    assert "not sent" in page and "No consent to send recorded" in page


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"sent_date": -3}, "consent_to_send", "only be recorded as sent with the person&#39;s consent"),
    ({"consent_to_send": "true", "sent_date": -20}, "sent_date", "on or after the date written"),
    ({"outcome": "released"}, "response_date", "Enter the date of the Home Office response"),
    ({"consent_to_send": "true", "sent_date": -3, "outcome": "detention_maintained"}, "response_date",
     "Enter the date of the Home Office response"),
    ({"consent_to_send": "true", "sent_date": -3, "response_date": -5, "outcome": "released"}, "response_date",
     "on or after the date sent"),
    ({"response_date": -1, "outcome": "released"}, "response_date", "before the date of a response"),
    ({"consent_to_send": "true", "sent_date": -3, "response_date": -1}, "outcome", "Choose the Home Office decision"),
    ({"consent_to_send": "true", "sent_date": -3, "response_date": -1, "outcome": "no_response"}, "outcome",
     "had a response"),
    ({"written_date": 2}, "written_date", "cannot be in the future"),
    ({"consent_to_send": "true", "sent_date": 1}, "sent_date", "cannot be in the future"),
    ({"aar_level_given": "4"}, "aar_level_given", "level 1, 2 or 3"),
    ({"limb": "35_9"}, "limb", "Choose rule 35 limb from the list"),
])
def test_rule_breaking_reports_are_refused_beside_the_field_and_nothing_is_saved(client, db, signed_in, make_person,
                                                                                today, fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Bad", "Report")
    data = {"limb": "35_1", "written_date": days(today, -10), "author_name": "Dr Kept Typing"}
    for name, value in fields.items():
        data[name] = days(today, value) if isinstance(value, int) else value
    response = submit(client, f"/people/{person.reference}/rule35/new", data)
    assert response.status_code == 422
    assert f'id="f-{field}-error"' in response.text and message in response.text
    assert 'value="Dr Kept Typing"' in response.text
    assert records(db) == []


def test_a_report_can_point_only_at_this_persons_evidence(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Linked", "Report")
    other = make_person("Other", "Person")
    for who in (person, other):
        submit(client, f"/people/{who.reference}/evidence/new", {"kind": "rule35_report", "sensitivity": "standard"})
    db.rollback()
    mine, theirs = db.scalars(select(EvidenceItem.id).order_by(EvidenceItem.id)).all()
    new = f"/people/{person.reference}/rule35/new"
    base = {"limb": "35_3", "written_date": days(today, -3)}
    refused = submit(client, new, base | {"evidence_item_id": str(theirs)})
    assert refused.status_code == 422 and 'id="f-evidence_item_id-error"' in refused.text
    assert submit(client, new, base | {"evidence_item_id": str(mine)}).status_code == 303
    assert [r.evidence_item_id for r in records(db)] == [mine]


def test_a_change_on_an_old_form_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Old", "Form")
    submit(client, f"/people/{person.reference}/rule35/new", {"limb": "35_1", "written_date": days(today, -3)})
    [record] = records(db)
    edit = f"/people/{person.reference}/rule35/{record.id}/edit"
    old = version_of(db, person)
    first = {"limb": "35_1", "written_date": days(today, -3), "author_name": "First", "version": old}
    assert submit(client, edit, first).status_code == 303
    second = submit(client, edit, first | {"author_name": "Second"})
    assert second.status_code == 409
    assert "Nothing you typed has been saved" in second.text
    assert '<td data-label="Saved now">First</td>' in second.text
    assert '<td data-label="What you typed">Second</td>' in second.text
    assert f'name="version" value="{version_of(db, person)}"' in second.text
    assert records(db)[0].author_name == "First"


def test_another_persons_report_is_not_found(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    owner = make_person("Own", "Er")
    other = make_person("Oth", "Er")
    submit(client, f"/people/{owner.reference}/rule35/new", {"limb": "35_1", "written_date": days(today, -3)})
    [record] = records(db)
    assert client.get(f"/people/{other.reference}/rule35/{record.id}/edit").status_code == 404
