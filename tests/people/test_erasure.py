"""Legal holds and erasure: what an erasure deletes, what it keeps, who may do it and when it is refused."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent, Outcome
from app.auth.models import Role
from app.people.models import LegalHold, Person
from app.reports import summaries
from app.reports.models import ReleaseKind, SummaryRelease
from tests.conftest import csrf_from, is_postgres, page_csrf
from tests.erasure_fixtures import children_left, person_tables, rows_of, table_totals


def _erase(client, reference: str, *, confirm: str | None = None, reason: str = "subject_request"):  # type: ignore[no-untyped-def]
    token = page_csrf(client, "/")
    return client.post(f"/people/{reference}/erase", data={
        "csrf_token": token, "reason": reason, "confirm_reference": reference if confirm is None else confirm,
    }, follow_redirects=False)


@dataclass(frozen=True)
class _Ref:
    id: int
    reference: str


def _plain(person: Person) -> _Ref:
    """The person's id and reference, readable after their row is gone."""
    return _Ref(person.id, person.reference)


def _audit_rows(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_erasure_deletes_every_row_of_the_person_and_leaves_others_untouched(client, db, signed_in, full_record):
    admin = signed_in(Role.admin)
    gone, gone_children = full_record("Zorblatt", "Quindlewick")
    kept, kept_children = full_record("Yarrowmere", "Plinkett")
    gone, kept = _plain(gone), _plain(kept)
    db.rollback()
    before_gone = rows_of(db, gone.id)
    # The record really holds a row in every table with a person's id, so "none left" below means something.
    assert all(before_gone[name] > 0 for name in ["people", *person_tables()]), before_gone
    assert all(children_left(db, gone_children).values())
    before_kept = rows_of(db, kept.id)
    totals = table_totals(db)
    # A published aggregate counted the person: it stays, ids and all, so the differencing guard still works.
    db.add(SummaryRelease(kind=ReleaseKind.aggregate, created_by_id=admin.id, population_fingerprint="f" * 64,
                          population_size=2, output_format="csv", output_sha256="0" * 64, output=b"x",
                          population_ids=summaries.pack_ids(sorted([gone.id, kept.id]))))
    db.commit()

    page = client.get(f"/people/{gone.reference}/erase")
    assert page.status_code == 200
    assert "Visits" in page.text and "Documents (uploaded files)" in page.text and "Findings" in page.text
    response = _erase(client, gone.reference)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/people"

    db.rollback()
    assert set(rows_of(db, gone.id).values()) == {0}
    assert set(children_left(db, gone_children).values()) == {0}
    assert rows_of(db, kept.id) == before_kept
    assert all(children_left(db, kept_children).values())
    after = table_totals(db)
    removed = dict(before_gone) | {name: len(ids) for name, ids in gone_children.items() if name not in before_gone}
    for name, count in totals.items():
        if name == "audit_events":
            assert after[name] > count  # the views, the page and the erasure itself were recorded
        elif name == "summary_releases":
            assert after[name] == count + 1
        else:
            assert after[name] == count - removed.get(name, 0), name
    release = db.scalars(select(SummaryRelease)).one()
    assert release.population_ids is not None
    assert summaries.unpack_ids(release.population_ids) == {gone.id, kept.id}
    assert client.get(f"/people/{gone.reference}").status_code == 404
    assert client.get(f"/people/{kept.reference}").status_code == 200

    [event] = _audit_rows(db, "person.erased")
    assert event.actor_user_id == admin.id and event.outcome is Outcome.success
    assert event.object_id == gone.reference and event.person_id == gone.id
    assert event.details["reason"] == "subject_request"
    assert event.details["rows"]["visits"] == 1 and event.details["rows"]["documents"] == 1


def test_the_audit_log_keeps_no_personal_data_of_an_erased_person(client, db, signed_in, full_record):
    signed_in(Role.admin)
    person = _plain(full_record("Zorblatt", "Quindlewick", home_office_reference="Q9876543")[0])
    client.get(f"/people/{person.reference}")
    assert _erase(client, person.reference).status_code == 303
    db.rollback()
    for event in db.scalars(select(AuditEvent)):
        text = json.dumps([event.object_type, event.object_id, event.details], default=str).lower()
        for value in ("zorblatt", "quindlewick", "q9876543", "tigrinya", "old claim"):
            assert value not in text, (event.action, value)


def test_a_legal_hold_refuses_erasure_and_nothing_is_deleted(client, db, signed_in, make_user, full_record):
    from tests.conftest import sign_in

    coordinator = make_user(Role.coordinator)
    admin = signed_in(Role.admin)
    person, children = full_record("Zorblatt", "Quindlewick")
    person = _plain(person)
    sign_in(client, coordinator.email)
    form = client.get(f"/people/{person.reference}/legal-hold")
    response = client.post(f"/people/{person.reference}/legal-hold", data={
        "csrf_token": csrf_from(form.text), "reason": "Judicial review claim pending"}, follow_redirects=False)
    assert response.status_code == 303
    shown = client.get(f"/people/{person.reference}")
    assert "Under legal hold" in shown.text and "Judicial review claim pending" in shown.text
    db.rollback()
    before = rows_of(db, person.id)

    sign_in(client, admin.email)
    page = client.get(f"/people/{person.reference}/erase")
    assert "under a legal hold and cannot be erased" in page.text
    assert 'action="/people/' + person.reference + '/erase"' not in page.text  # no erase button while held
    refused = _erase(client, person.reference)
    assert refused.status_code == 409
    assert "under a legal hold and cannot be erased" in refused.text
    db.rollback()
    assert rows_of(db, person.id) == before
    assert all(children_left(db, children).values())
    [refusal] = _audit_rows(db, "person.erasure_refused")
    assert refusal.outcome is Outcome.denied and refusal.details == {"reason": "legal_hold"}
    assert _audit_rows(db, "person.erased") == []

    # Once lifted, the same erasure goes through.
    lift = client.post(f"/people/{person.reference}/legal-hold/lift", data={"csrf_token": page_csrf(client, "/")},
                       follow_redirects=False)
    assert lift.status_code == 303
    assert _erase(client, person.reference).status_code == 303
    db.rollback()
    assert set(rows_of(db, person.id).values()) == {0}


def test_setting_and_lifting_a_hold_is_checked_audited_and_kept_in_the_history(client, db, signed_in, make_person):
    coordinator = signed_in(Role.coordinator)
    person = make_person("Holda", "Fictivo")
    form = client.get(f"/people/{person.reference}/legal-hold")
    empty = client.post(f"/people/{person.reference}/legal-hold", data={
        "csrf_token": csrf_from(form.text), "reason": "   "}, follow_redirects=False)
    assert empty.status_code == 422
    assert 'id="f-reason-error"' in empty.text and "Enter why the record must be kept" in empty.text
    db.rollback()
    assert db.scalars(select(LegalHold)).all() == []

    token = csrf_from(form.text)
    assert client.post(f"/people/{person.reference}/legal-hold", data={"csrf_token": token, "reason": "Inquiry"},
                       follow_redirects=False).status_code == 303
    # The form sent again once a hold is set is stale: its page now sends the user to the hold, with a warning.
    again = client.post(f"/people/{person.reference}/legal-hold", data={"csrf_token": token, "reason": "Twice"},
                        follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"/people/{person.reference}#legal-hold"
    assert "already under a legal hold" in client.get(again.headers["location"]).text
    assert client.post(f"/people/{person.reference}/legal-hold/lift", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    # Lifting again (a page opened before the first lift) changes nothing and says why, on the person page.
    stale_lift = client.post(f"/people/{person.reference}/legal-hold/lift", data={"csrf_token": token},
                             follow_redirects=False)
    assert stale_lift.status_code == 409 and "not under a legal hold" in stale_lift.text
    assert "Set a legal hold" in stale_lift.text
    page = client.get(f"/people/{person.reference}")
    assert "Under legal hold" not in page.text and "Set a legal hold" in page.text
    assert "Erase this record" not in page.text  # coordinators do not erase

    db.rollback()
    [hold] = db.scalars(select(LegalHold)).all()
    assert hold.reason == "Inquiry" and hold.set_by_id == coordinator.id and hold.lifted_by_id == coordinator.id
    [set_event] = _audit_rows(db, "person.legal_hold_set")
    [lift_event] = _audit_rows(db, "person.legal_hold_lifted")
    assert set_event.details == {"hold_id": hold.id} == lift_event.details  # the reason stays with the record
    assert set_event.actor_user_id == coordinator.id and set_event.person_id == person.id
    history = client.get(f"/people/{person.reference}").text
    assert "Added a legal hold" in history and "Changed a legal hold: lifted" in history


def test_clinicians_cannot_set_or_lift_holds(client, db, signed_in, make_person):
    clinician = signed_in(Role.clinician)
    person = make_person("Holda", "Fictivo", assigned_to=clinician)
    token = page_csrf(client, "/")
    assert client.post(f"/people/{person.reference}/legal-hold", data={"csrf_token": token, "reason": "x"},
                       follow_redirects=False).status_code == 403
    assert client.post(f"/people/{person.reference}/legal-hold/lift", data={"csrf_token": token},
                       follow_redirects=False).status_code == 403
    db.rollback()
    assert db.scalars(select(LegalHold)).all() == []


def test_a_wrong_or_missing_confirmation_refuses_and_deletes_nothing(client, db, signed_in, full_record):
    signed_in(Role.admin)
    person = _plain(full_record("Zorblatt", "Quindlewick")[0])
    db.rollback()
    before = rows_of(db, person.id)
    wrong = _erase(client, person.reference, confirm="AAAA-BBBB")
    assert wrong.status_code == 422
    assert 'id="f-confirm_reference-error"' in wrong.text and "not this record&#39;s reference" in wrong.text
    blank = _erase(client, person.reference, confirm="")
    assert blank.status_code == 422 and "Enter the record" in blank.text
    no_reason = _erase(client, person.reference, reason="")
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in no_reason.text
    retention = _erase(client, person.reference, reason="retention")
    assert retention.status_code == 422 and "retention command" in retention.text
    extra = client.post(f"/people/{person.reference}/erase", data={
        "csrf_token": page_csrf(client, "/"), "reason": "duplicate", "confirm_reference": person.reference,
        "person_id": "1"}, follow_redirects=False)
    assert extra.status_code == 422
    db.rollback()
    assert rows_of(db, person.id) == before
    assert _audit_rows(db, "person.erased") == []
    # The reference typed in lower case and without its dash is the same reference.
    loose = _erase(client, person.reference, confirm=person.reference.lower().replace("-", ""))
    assert loose.status_code == 303


def test_only_admins_may_erase(client, db, signed_in, make_user, full_record):
    from tests.conftest import sign_in

    person, _ = full_record("Zorblatt", "Quindlewick")
    db.rollback()
    before = rows_of(db, person.id)
    for role in (Role.coordinator, Role.clinician, Role.researcher):
        user = make_user(role)
        assert sign_in(client, user.email).status_code == 303
        assert client.get(f"/people/{person.reference}/erase").status_code == 403
        assert _erase(client, person.reference).status_code == 403
    db.rollback()
    assert rows_of(db, person.id) == before
    assert len(_audit_rows(db, "security.permission_denied")) == 6
    assert _audit_rows(db, "person.erased") == []


def test_admins_see_the_erase_link_and_the_page_view_is_audited(client, db, signed_in, make_person):
    admin = signed_in(Role.admin)
    person = make_person("Erasa", "Fictivo")
    assert f'href="/people/{person.reference}/erase"' in client.get(f"/people/{person.reference}").text
    assert client.get(f"/people/{person.reference}/erase").status_code == 200
    [event] = _audit_rows(db, "person.erasure_viewed")
    assert event.actor_user_id == admin.id and event.person_id == person.id and event.details == {"held": False}


def test_an_erased_persons_trail_stays_findable_in_the_audit_viewer(client, db, signed_in, make_person):
    signed_in(Role.admin)
    person = _plain(make_person("Erasa", "Fictivo"))
    assert _erase(client, person.reference).status_code == 303
    page = client.get("/admin/audit", params={"person": person.reference})
    assert page.status_code == 200
    assert "No person has this reference" not in page.text
    assert "erased" in page.text.lower()


def test_ids_and_references_of_erased_people_are_never_given_again(client, db, signed_in, make_person,
                                                                  monkeypatch):
    signed_in(Role.admin)
    make_person("Older", "Fictivo")
    newest = _plain(make_person("Newest", "Fictivo"))
    assert _erase(client, newest.reference).status_code == 303
    # The next reference drawn is the erased one, then a fresh one: the erased one is skipped.
    from app.people import service

    letters = iter(newest.reference.replace("-", "") + "ABCDEFGH")
    monkeypatch.setattr(service.secrets, "choice", lambda _alphabet: next(letters))
    later = make_person("Later", "Fictivo")
    assert later.id > newest.id
    assert later.reference == "ABCD-EFGH"
    if not is_postgres():
        db.rollback()
        assert db.scalar(select(Person.id).where(Person.id == newest.id)) is None


@pytest.mark.skipif(is_postgres(), reason="SQLite can run with its foreign keys off; PostgreSQL always enforces them")
def test_erasure_is_complete_even_without_the_database_cascade(db, full_record):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.casefile import erasure
    from tests.conftest import TEST_DATABASE_URL

    person, children = full_record("Zorblatt", "Quindlewick")
    ref = _plain(person)
    db.rollback()
    # A bare connection: SQLite leaves foreign keys (and so ON DELETE CASCADE) off unless told otherwise.
    bare = create_engine(TEST_DATABASE_URL)
    try:
        with Session(bare) as session:
            assert session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            row = session.get(Person, ref.id)
            assert row is not None
            erasure.erase(session, row, erasure.ErasureReason.created_in_error, actor_id=None)
            session.commit()
    finally:
        bare.dispose()
    db.rollback()
    assert set(rows_of(db, ref.id).values()) == {0}
    assert set(children_left(db, children).values()) == {0}
