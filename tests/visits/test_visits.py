"""Visits through the pages: drafts, signing, addenda, need-to-know access, validation, conflicts, the section."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import Outcome
from app.auth.models import Role
from app.people.models import Assignment
from app.visits.models import Visit, VisitAarIndicator, VisitAddendum, VisitStatus
from tests.conftest import sign_in
from tests.visits.helpers import (
    count,
    events,
    make_visit,
    post,
    revisions_of,
    visit_data,
    visits_of,
)

VERSION_RE = re.compile(r'name="version" value="([^"]+)"')


def version_on(page: str) -> str:
    match = VERSION_RE.search(page)
    assert match, "page has no version token"
    return match.group(1)


def indicators(db, visit_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    db.rollback()
    return {i.value for i in db.scalars(select(VisitAarIndicator.indicator)
                                        .where(VisitAarIndicator.visit_id == visit_id))}


def test_assigned_clinician_logs_changes_and_signs_a_visit(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician, name="Dr Ada Example")
    person = make_person("Visit", "Subject", detained_days=30, assigned_to=clinician)
    base = f"/people/{person.reference}/visits"
    form = client.get(f"{base}/new")
    assert form.status_code == 200 and "Victim of torture" in form.text and "Dr Ada Example" in form.text

    created = post(client, f"{base}/new", visit_data(db, today))
    assert created.status_code == 303
    [visit] = visits_of(db, person)
    assert created.headers["location"] == f"{base}/{visit.id}"
    assert visit.status is VisitStatus.draft and visit.clinician_id == clinician.id
    assert visit.interpreter_language == "Tigrinya" and visit.duration_minutes == 45
    assert visit.presenting_concerns == "Poor sleep.\nFlashbacks at night."
    assert indicators(db, visit.id) == {"torture", "ptsd"}

    page = client.get(f"{base}/{visit.id}").text
    assert f'href="{base}/{visit.id}/sign"' in page and f'href="{base}/{visit.id}/edit"' in page
    assert "Poor sleep.<br>Flashbacks at night." in page and "Post-traumatic stress disorder" in page

    edit_page = client.get(f"{base}/{visit.id}/edit").text
    assert "Linear scars on both forearms." in edit_page
    changed = post(client, f"{base}/{visit.id}/edit", visit_data(
        db, today, findings="Linear scars, consistent with the account.", aar_indicators=["torture"],
        version=version_on(edit_page)))
    assert changed.status_code == 303
    db.rollback()
    visit = db.get(Visit, visit.id)
    assert visit.findings == "Linear scars, consistent with the account." and visit.status is VisitStatus.draft
    assert indicators(db, visit.id) == {"torture"}

    page = client.get(f"{base}/{visit.id}/sign").text
    signed = post(client, f"{base}/{visit.id}/sign", {"version": version_on(page), "declaration": "true"})
    assert signed.status_code == 303
    db.rollback()
    visit = db.get(Visit, visit.id)
    assert visit.status is VisitStatus.signed and visit.signed_by_id == clinician.id and visit.signed_at is not None
    page = client.get(f"{base}/{visit.id}").text
    assert f"{base}/{visit.id}/sign" not in page and f"{base}/{visit.id}/edit" not in page
    assert "Add an addendum" in page and "Signed" in page

    history = revisions_of(db, "visits", visit.id)
    assert [r.action.value for r in history] == ["insert", "update", "update"]
    assert history[1].before["aar_indicators"] == ["torture", "ptsd"] and history[1].after["aar_indicators"] == [
        "torture"]
    assert history[2].after["status"] == "signed" and history[2].actor_user_id == clinician.id
    assert [e.object_id for e in events(db, "visit.created")] == [str(visit.id)]
    [change] = events(db, "visit.changed")
    assert change.details["fields"] == ["aar_indicators", "findings"] and change.person_id == person.id
    assert len(events(db, "visit.signed")) == 1


def test_a_signed_visit_is_never_edited(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("Signed", "Record", assigned_to=clinician)
    visit = make_visit(db, person, clinician, signed=True, findings="As signed.")
    base = f"/people/{person.reference}/visits/{visit.id}"
    revisions_before = count(db, VisitAddendum), len(revisions_of(db, "visits", visit.id))

    shown = client.get(f"{base}/edit")
    assert shown.status_code == 409
    assert "Signed visits are never changed" in shown.text and "Add an addendum" in shown.text
    posted = post(client, f"{base}/edit", visit_data(db, today, findings="Rewritten after signing.",
                                                     version=visit.updated_at.isoformat()))
    assert posted.status_code == 409 and "Signed visits are never changed" in posted.text
    again = post(client, f"{base}/sign", {"version": visit.updated_at.isoformat(), "declaration": "true"})
    assert again.status_code == 409

    db.rollback()
    stored = db.get(Visit, visit.id)
    assert stored.findings == "As signed." and stored.updated_at == visit.updated_at
    assert (count(db, VisitAddendum), len(revisions_of(db, "visits", visit.id))) == revisions_before
    assert events(db, "visit.changed") == [] and events(db, "visit.signed") == []


def test_addenda_are_added_to_signed_visits_and_shown_in_order(client, db, signed_in, make_person, make_user):
    clinician = signed_in(Role.clinician, name="Dr First Author")
    person = make_person("Addenda", "Holder", assigned_to=clinician)
    visit = make_visit(db, person, clinician, signed=True)
    base = f"/people/{person.reference}/visits/{visit.id}"

    assert post(client, f"{base}/addenda", {"text": "Correction: seen in the healthcare unit."}).status_code == 303
    coordinator = make_user(Role.coordinator, name="Co Ordinator")
    client.cookies.clear()
    assert sign_in(client, coordinator.email).status_code == 303
    assert post(client, f"{base}/addenda", {"text": "Hospital letter received later."}).status_code == 303

    page = client.get(base).text
    addenda_part = page[page.index('id="addenda"'):]
    first = addenda_part.index("Correction: seen in the healthcare unit.")
    second = addenda_part.index("Hospital letter received later.")
    assert addenda_part.index("Added by Dr First Author") < first < addenda_part.index("Added by Co Ordinator") < second

    empty = post(client, f"{base}/addenda", {"text": "   "})
    assert empty.status_code == 422 and 'id="f-text-error"' in empty.text and "Enter the addendum." in empty.text
    assert count(db, VisitAddendum) == 2
    addenda = db.scalars(select(VisitAddendum).order_by(VisitAddendum.id)).all()
    assert [a.author_id for a in addenda] == [clinician.id, coordinator.id]
    assert [len(revisions_of(db, "visit_addenda", a.id)) for a in addenda] == [1, 1]
    assert [e.details["addendum_id"] for e in events(db, "visit.addendum_added")] == [a.id for a in addenda]

    draft = make_visit(db, person, clinician)
    refused = post(client, f"/people/{person.reference}/visits/{draft.id}/addenda", {"text": "Not yet."})
    assert refused.status_code == 422 and "Addenda are added to signed visits" in refused.text
    assert count(db, VisitAddendum) == 2


def test_every_view_of_a_visit_is_audited(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Viewed", "Twice", assigned_to=clinician)
    visit = make_visit(db, person, clinician)
    for _ in range(2):
        assert client.get(f"/people/{person.reference}/visits/{visit.id}").status_code == 200
    views = events(db, "visit.viewed")
    assert len(views) == 2
    assert {(e.person_id, e.object_type, e.object_id, e.actor_user_id) for e in views} == {
        (person.id, "visit", str(visit.id), clinician.id)}


def test_a_clinician_not_assigned_is_refused_and_nothing_is_saved(client, db, signed_in, make_person, make_user,
                                                                  today):
    author = make_user(Role.clinician)
    person = make_person("Not", "Theirs", assigned_to=author)
    visit = make_visit(db, person, author)
    signed = make_visit(db, person, author, signed=True)
    outsider = signed_in(Role.clinician)
    base = f"/people/{person.reference}/visits"
    before = count(db, Visit), count(db, VisitAddendum)

    assert client.get(f"{base}/new").status_code == 403
    assert post(client, f"{base}/new", visit_data(db, today)).status_code == 403
    assert client.get(f"{base}/{visit.id}").status_code == 403
    assert post(client, f"{base}/{visit.id}/edit", visit_data(db, today, findings="Changed",
                                                              version=visit.updated_at.isoformat())).status_code == 403
    assert post(client, f"{base}/{visit.id}/sign",
                {"version": visit.updated_at.isoformat(), "declaration": "true"}).status_code == 403
    assert post(client, f"{base}/{signed.id}/addenda", {"text": "Intrusion"}).status_code == 403
    assert (count(db, Visit), count(db, VisitAddendum)) == before
    db.rollback()
    assert db.get(Visit, visit.id).findings is None and db.get(Visit, visit.id).status is VisitStatus.draft
    denied = events(db, "security.permission_denied")
    assert len(denied) == 6 and all(e.actor_user_id == outsider.id and e.outcome is Outcome.denied for e in denied)
    assert events(db, "visit.viewed") == []


def test_researchers_never_see_or_write_visits(client, db, signed_in, make_person, make_user, today):
    clinician = make_user(Role.clinician)
    person = make_person("Research", "Proof", assigned_to=clinician)
    visit = make_visit(db, person, clinician)
    signed_in(Role.researcher)
    base = f"/people/{person.reference}/visits"
    assert client.get(f"{base}/{visit.id}").status_code == 403
    assert client.get(f"{base}/new").status_code == 403
    assert post(client, f"{base}/new", visit_data(db, today)).status_code == 403
    assert count(db, Visit) == 1
    # Every refusal is recorded with the first permission missing: a researcher may see no person at all.
    assert [e.details["permission"] for e in events(db, "security.permission_denied")] == ["view_person"] * 3


def test_coordinators_see_every_visit_but_change_only_their_own_drafts(client, db, signed_in, make_person,
                                                                      make_user, today):
    first = make_user(Role.clinician, name="Dr One")
    second = make_user(Role.clinician, name="Dr Two")
    person = make_person("Many", "Visitors", assigned_to=first)
    one = make_visit(db, person, first, mode="video", visit_date=today - timedelta(days=9))
    two = make_visit(db, person, second, signed=True, visit_date=today - timedelta(days=2))
    coordinator = signed_in(Role.coordinator)

    page = client.get(f"/people/{person.reference}").text
    assert "Dr One" in page and "Dr Two" in page and "By video" in page
    assert f"/visits/{one.id}" in page and f"/visits/{two.id}" in page
    for visit in (one, two):
        assert client.get(f"/people/{person.reference}/visits/{visit.id}").status_code == 200
    assert client.get(f"/people/{person.reference}/visits/{one.id}/edit").status_code == 403
    assert post(client, f"/people/{person.reference}/visits/{one.id}/sign",
                {"version": one.updated_at.isoformat(), "declaration": "true"}).status_code == 403

    created = post(client, f"/people/{person.reference}/visits/new", visit_data(db, today, mode="phone"))
    assert created.status_code == 303
    mine = visits_of(db, person)[-1]
    assert mine.clinician_id == coordinator.id and mine.status is VisitStatus.draft


def test_an_admin_may_change_someone_elses_draft_but_not_sign_it(client, db, signed_in, make_person, make_user,
                                                                 today):
    clinician = make_user(Role.clinician)
    person = make_person("Admin", "Corrects", assigned_to=clinician)
    visit = make_visit(db, person, clinician)
    admin = signed_in(Role.admin)
    base = f"/people/{person.reference}/visits/{visit.id}"
    edit_page = client.get(f"{base}/edit").text
    changed = post(client, f"{base}/edit", visit_data(db, today, findings="Typo fixed.", version=version_on(edit_page)))
    assert changed.status_code == 303
    db.rollback()
    stored = db.get(Visit, visit.id)
    assert stored.findings == "Typo fixed." and stored.clinician_id == clinician.id
    assert revisions_of(db, "visits", visit.id)[-1].actor_user_id == admin.id
    assert f"{base}/sign" not in client.get(base).text
    assert post(client, f"{base}/sign",
                {"version": stored.updated_at.isoformat(), "declaration": "true"}).status_code == 403


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"visit_date": "+1"}, "visit_date", "cannot be in the future"),
    ({"visit_date": "-3", "follow_up_date": "-5"}, "follow_up_date", "on or after the date of the visit"),
    ({"interpreter_used": "true", "interpreter_language": ""}, "interpreter_language",
     "Enter the language the interpreter used"),
    ({"duration_minutes": "0"}, "duration_minutes", "between 1 and 1440 minutes"),
    ({"duration_minutes": "1441"}, "duration_minutes", "between 1 and 1440 minutes"),
    ({"mode": ""}, "mode", "Choose how the visit was made"),
    ({"facility_id": "999999"}, "facility_id", "Choose an open facility"),
])
def test_invalid_visits_are_refused_beside_the_field_and_nothing_is_saved(client, db, signed_in, make_person, today,
                                                                          overrides, field, message):
    clinician = signed_in(Role.clinician)
    person = make_person("Bad", "Input", assigned_to=clinician)
    data = visit_data(db, today, findings="Typed with care, must not be lost.")
    for name, value in overrides.items():
        data[name] = str(today + timedelta(days=int(value))) if value[:1] in ("+", "-") else value
    response = post(client, f"/people/{person.reference}/visits/new", data)
    assert response.status_code == 422
    error = re.search(rf'<p class="field__error" id="f-{field}-error">(.*?)</p>', response.text, re.S)
    assert error and message in error.group(1)
    assert "There is a problem" in response.text
    assert "Typed with care, must not be lost." in response.text  # what was typed is kept
    assert count(db, Visit) == 0 and events(db, "visit.created") == []


def test_several_problems_are_reported_at_once(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("All", "Atonce", assigned_to=clinician)
    response = post(client, f"/people/{person.reference}/visits/new", visit_data(
        db, today, visit_date=str(today + timedelta(days=2)), interpreter_language="", duration_minutes="0"))
    assert response.status_code == 422
    for field in ("visit_date", "interpreter_language", "duration_minutes"):
        assert f'id="f-{field}-error"' in response.text
    assert count(db, Visit) == 0


def test_a_draft_changed_since_the_form_was_loaded_is_refused(client, db, signed_in, make_person, today):
    clinician = signed_in(Role.clinician)
    person = make_person("Two", "Tabs", assigned_to=clinician)
    visit = make_visit(db, person, clinician, findings="Original.")
    base = f"/people/{person.reference}/visits/{visit.id}"
    stale = version_on(client.get(f"{base}/edit").text)
    first = post(client, f"{base}/edit", visit_data(db, today, findings="First tab.", version=stale))
    assert first.status_code == 303
    second = post(client, f"{base}/edit", visit_data(db, today, findings="Second tab.", version=stale))
    assert second.status_code == 409
    assert "Nothing you typed has been saved" in second.text and "Second tab." in second.text
    assert "First tab." in second.text
    db.rollback()
    assert db.get(Visit, visit.id).findings == "First tab."
    assert len(events(db, "visit.changed")) == 1

    # Signing what the author saw: a draft changed after the page was loaded is not signed.
    signed = post(client, f"{base}/sign", {"version": stale, "declaration": "true"})
    assert signed.status_code == 409
    db.rollback()
    assert db.get(Visit, visit.id).status is VisitStatus.draft


def test_only_the_author_changes_or_signs_a_draft(client, db, signed_in, make_person, make_user, today):
    author = make_user(Role.clinician)
    colleague = signed_in(Role.clinician)
    person = make_person("Shared", "Case", assigned_to=author)
    db.add(Assignment(person_id=person.id, clinician_id=colleague.id))  # the colleague may see the case too
    db.commit()
    visit = make_visit(db, person, author)
    base = f"/people/{person.reference}/visits/{visit.id}"
    page = client.get(base)
    assert page.status_code == 200 and f"{base}/sign" not in page.text and f"{base}/edit" not in page.text
    assert client.get(f"{base}/edit").status_code == 403
    assert post(client, f"{base}/edit", visit_data(db, today, version=visit.updated_at.isoformat())).status_code \
        == 403
    assert post(client, f"{base}/sign",
                {"version": visit.updated_at.isoformat(), "declaration": "true"}).status_code == 403
    db.rollback()
    assert db.get(Visit, visit.id).status is VisitStatus.draft and db.get(Visit, visit.id).findings is None


def test_a_visit_of_another_person_is_not_found(client, db, signed_in, make_person, make_user):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician)
    person = make_person("Right", "Person")
    other = make_person("Other", "Person")
    visit = make_visit(db, other, clinician)
    assert client.get(f"/people/{person.reference}/visits/{visit.id}").status_code == 404
    assert client.get(f"/people/{person.reference}/visits/999999").status_code == 404
    assert post(client, f"/people/{person.reference}/visits/{visit.id}/addenda", {"text": "x"}).status_code == 404


def test_the_person_page_lists_visits_with_drafts_and_overdue_follow_ups(client, db, signed_in, make_person,
                                                                        make_user, today):
    clinician = make_user(Role.clinician, name="Dr Section")
    person = make_person("Section", "Shown", assigned_to=clinician)
    signed_in(Role.coordinator)
    assert "No visits logged." in client.get(f"/people/{person.reference}").text

    early = today - timedelta(days=20)
    make_visit(db, person, clinician, signed=True, visit_date=early, follow_up_date=early + timedelta(days=2))
    latest = make_visit(db, person, clinician, visit_date=today - timedelta(days=10), mode="legal_visit_room",
                        risk="high", follow_up_date=today - timedelta(days=1))
    page = client.get(f"/people/{person.reference}").text
    section = page[page.index('id="visits"'):page.index('id="health-events"')]
    assert f"{early.day} {early:%b %Y}" in section
    assert "In a legal visit room" in section and "High" in section and "Dr Section" in section
    assert "1 draft" in section
    # Only the latest visit's follow-up is overdue: the earlier one was followed by a later visit.
    assert section.count(">overdue<") == 1
    assert "1 follow-up date has passed" in section
    assert f'href="/people/{person.reference}/visits/{latest.id}"' in section
    assert 'href="/people/' + person.reference + '/visits/new"' in section  # coordinators may log visits


def test_assigned_clinicians_are_offered_the_write_links(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Own", "Case", assigned_to=clinician)
    page = client.get(f"/people/{person.reference}").text
    assert f"/people/{person.reference}/visits/new" in page  # clinicians record visits
    assert f"/people/{person.reference}/health-events/new" in page
