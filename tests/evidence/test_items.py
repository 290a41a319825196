"""Evidence items and findings through the pages: create, change, view (audited), date rules, stale forms,
findings, the body map, the person-page section, and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent, Outcome, Revision
from app.auth.models import Role
from app.evidence.models import Document, EvidenceItem, Finding
from app.people.models import Person
from tests.evidence.conftest import PDF_BYTES, submit, upload
from tests.pages import saved_meanwhile


def items(db) -> list[EvidenceItem]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(EvidenceItem).order_by(EvidenceItem.id)))


def events(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def version_of(db, person) -> str:  # type: ignore[no-untyped-def]
    db.rollback()
    return str(db.get(Person, person.id).version)


def add_item(client, person, today, **fields):  # type: ignore[no-untyped-def]
    data = {"kind": "medico_legal_report", "author": "Dr Fictional Example",
            "issued_date": str(today - timedelta(days=10)), "received_date": str(today - timedelta(days=3)),
            "summary": "Scars on the back.",
            "sensitivity": "high"} | fields
    return submit(client, f"/people/{person.reference}/evidence/new", data)


def test_add_view_and_change_evidence_with_revisions_and_audit(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Evi", "Dence", assigned_to=user)
    created = add_item(client, person, today)
    assert created.status_code == 303
    [item] = items(db)
    assert created.headers["location"] == f"/people/{person.reference}/evidence/{item.id}"
    assert item.kind.value == "medico_legal_report" and item.sensitivity.value == "high"
    assert item.created_by_id == user.id

    page = client.get(created.headers["location"])
    assert page.status_code == 200
    assert "Medico-legal report" in page.text and "Dr Fictional Example" in page.text
    [viewed] = events(db, "evidence.viewed")
    assert viewed.actor_user_id == user.id and viewed.person_id == person.id
    assert viewed.details == {"evidence_item_id": item.id}

    edit_path = f"/people/{person.reference}/evidence/{item.id}/edit"
    changed = submit(client, edit_path, {"kind": "medico_legal_report", "author": "Dr Other Fiction",
                                         "issued_date": str(today - timedelta(days=10)),
                                         "received_date": str(today - timedelta(days=3)),
                                         "summary": "Scars on the back.", "sensitivity": "high",
                                         "version": version_of(db, person)})
    assert changed.status_code == 303
    assert items(db)[0].author == "Dr Other Fiction"
    [change_event] = events(db, "evidence.item_changed")
    assert change_event.details == {"evidence_item_id": item.id, "fields": ["author"]}
    revs = db.scalars(select(Revision).where(Revision.table_name == "evidence_items")
                      .order_by(Revision.id)).all()
    assert [r.action.value for r in revs] == ["insert", "update"]
    assert revs[1].before["author"] == "Dr Fictional Example" and revs[1].after["author"] == "Dr Other Fiction"
    assert [e.details["kind"] for e in events(db, "evidence.item_created")] == ["medico_legal_report"]

    section = client.get(f"/people/{person.reference}").text
    assert "Medical evidence" in section and "Medico-legal report" in section and "High sensitivity" in section


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"issued_date": "+1"}, "issued_date", "cannot be in the future"),
    ({"issued_date": "-5", "received_date": "+2"}, "received_date", "cannot be in the future"),
    ({"issued_date": "-5", "received_date": "-9"}, "received_date", "on or after the date issued"),
    ({"issued_date": "31/02/2026"}, "issued_date", "as a real date"),
])
def test_bad_dates_are_refused_beside_the_field_and_nothing_is_saved(client, db, signed_in, make_person, today,
                                                                   fields, field, message):
    signed_in(Role.coordinator)
    person = make_person("Bad", "Dates")
    data = {"issued_date": "", "received_date": ""}
    for name, value in fields.items():
        data[name] = str(today + timedelta(days=int(value))) if value[0] in "+-" else value
    response = add_item(client, person, today, **data)
    assert response.status_code == 422
    assert f'id="f-{field}-error"' in response.text and message in response.text
    assert "There is a problem" in response.text
    assert 'value="Dr Fictional Example"' in response.text  # what was typed is kept
    assert items(db) == []
    assert events(db, "evidence.item_created") == []


def test_a_change_made_on_an_old_form_is_refused(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Stale", "Form")
    add_item(client, person, today)
    [item] = items(db)
    old_version = version_of(db, person)
    path = f"/people/{person.reference}/evidence/{item.id}/edit"
    base = {"kind": "gp_records", "sensitivity": "standard"}
    assert submit(client, path, base | {"author": "First", "version": old_version}).status_code == 303
    refused = submit(client, path, base | {"author": "Second", "version": old_version})
    # The form again, with what is saved now beside what was typed, and the version saved now to save again with.
    assert refused.status_code == 409
    assert "Nothing you typed has been saved" in refused.text
    assert '<td data-label="Saved now">First</td>' in refused.text
    assert '<td data-label="What you typed">Second</td>' in refused.text
    assert 'value="Second"' in refused.text
    assert f'name="version" value="{version_of(db, person)}"' in refused.text
    assert items(db)[0].author == "First"
    assert len(events(db, "evidence.item_changed")) == 1


def test_a_change_that_races_another_is_refused_with_the_conflict_page(client, db, signed_in, make_person, today,
                                                                       monkeypatch):
    """Two saves that both pass the version check: the second UPDATE of the person finds its version gone
    (StaleDataError at flush, as on PostgreSQL under load) and is answered like a stale form, not with a 500."""
    from app.evidence import service

    signed_in(Role.coordinator)
    person = make_person("Race", "Condition")
    add_item(client, person, today)
    [item] = items(db)
    path = f"/people/{person.reference}/evidence/{item.id}/edit"
    version = version_of(db, person)
    saved_meanwhile(monkeypatch, service)
    raced = submit(client, path, {"kind": "medico_legal_report", "author": "Raced", "sensitivity": "high",
                                  "version": version})
    assert raced.status_code == 409
    assert '<td data-label="Saved now">Dr Fictional Example</td>' in raced.text
    assert '<td data-label="What you typed">Raced</td>' in raced.text
    assert items(db)[0].author == "Dr Fictional Example"
    assert version_of(db, person) == version
    assert events(db, "evidence.item_changed") == []


def test_findings_are_added_removed_and_listed_on_the_body_map(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Body", "Mapped", assigned_to=user)
    add_item(client, person, today)
    add_item(client, person, today, kind="photographs", author="Photographer Fictive")
    first, second = items(db)
    base = f"/people/{person.reference}/evidence"
    for item, region, level in ((first, "B-SOLE-L", "typical"), (first, "B-HEAD", "consistent"),
                                (second, "F-FOREARM-L", "highly_consistent")):
        added = submit(client, f"{base}/{item.id}/findings", {
            "region_code": region, "lesion_type": "scar", "description": f"Linear scar on {region}",
            "attributed_cause": "Beating", "consistency": level}, page=f"{base}/{item.id}")
        assert added.status_code == 303
    refused = submit(client, f"{base}/{first.id}/findings", {"region_code": "tail", "lesion_type": "scar",
                                                           "description": "",
                                                           "attributed_cause": "Typed before the error"},
                     page=f"{base}/{first.id}")
    assert refused.status_code == 422
    assert 'id="f-region_code-error"' in refused.text and 'id="f-description-error"' in refused.text
    # The evidence page again, its finding form open with what was typed.
    assert '<details class="details" open>' in refused.text and "Typed before the error</textarea>" in refused.text
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Finding)) == 3

    body = client.get(f"{base}/body-map")
    assert body.status_code == 200
    text = body.text
    # Anatomical order: head before forearm before soles, whatever the order they were recorded in.
    assert text.index("Head, back") < text.index("Left forearm, front") < text.index("Sole of the left foot")
    assert "Typical of" in text and "Highly consistent" in text and "Photographs" in text
    assert f'href="{base}/{second.id}"' in text
    [viewed] = events(db, "evidence.body_map_viewed")
    assert viewed.details == {"findings": 3}

    finding_id = db.scalar(select(Finding.id).where(Finding.region_code == "B-SOLE-L"))
    first_id = first.id
    confirm = client.get(f"{base}/{first_id}/findings/{finding_id}/remove")
    assert confirm.status_code == 200 and "Remove this finding?" in confirm.text
    removed = submit(client, f"{base}/{first_id}/findings/{finding_id}/remove", {},
                     page=f"{base}/{first_id}/findings/{finding_id}/remove")
    assert removed.status_code == 303
    db.rollback()
    assert db.get(Finding, finding_id) is None
    again = submit(client, f"{base}/{first_id}/findings/{finding_id}/remove", {}, page=f"{base}/{first_id}")
    assert again.status_code == 303  # a second click changes nothing and says so
    revision = db.scalars(select(Revision).where(Revision.table_name == "findings", Revision.row_id == finding_id,
                                                 Revision.action == "delete")).one()
    assert revision.before["description"] == "Linear scar on B-SOLE-L"
    assert [e.details for e in events(db, "evidence.finding_removed")] == [
        {"evidence_item_id": first_id, "finding_id": finding_id}]
    assert "Sole of the left foot" not in client.get(f"{base}/body-map").text
    page = client.get(f"/people/{person.reference}").text
    assert "Body map (2 findings)" in page


def test_a_finding_cannot_be_removed_through_another_item(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Two", "Items")
    add_item(client, person, today)
    add_item(client, person, today)
    first, second = items(db)
    base = f"/people/{person.reference}/evidence"
    submit(client, f"{base}/{first.id}/findings", {"region_code": "F-CHEST-L", "lesion_type": "burn",
                                                   "description": "Burn"},
           page=f"{base}/{first.id}")
    db.rollback()
    finding = db.scalars(select(Finding)).one()
    assert client.get(f"{base}/{second.id}/findings/{finding.id}/remove").status_code == 404


def test_an_unassigned_clinician_is_refused_the_item_the_body_map_and_documents(client, db, signed_in, make_user,
                                                                               make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Need", "ToKnow")
    add_item(client, person, today)
    [item] = items(db)
    base = f"/people/{person.reference}"
    uploaded = upload(client, f"{base}/evidence/{item.id}/documents", "letter.pdf", PDF_BYTES,
                      page=f"{base}/evidence/{item.id}")
    assert uploaded.status_code == 303
    db.rollback()
    document_id = db.scalar(select(Document.id))
    client.cookies.clear()

    outsider = signed_in(Role.clinician)
    paths = [f"{base}/evidence/{item.id}", f"{base}/evidence/body-map", f"{base}/documents/{document_id}",
             f"{base}/evidence/{item.id}/edit", f"{base}/rule35/new"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You do not have access" in response.text
        assert "%PDF" not in response.text
    denied = events(db, "security.permission_denied")
    assert [e.details["path"] for e in denied] == paths
    assert all(e.actor_user_id == outsider.id and e.outcome is Outcome.denied for e in denied)
    seen = events(db, "evidence.viewed") + events(db, "document.downloaded") + events(db, "evidence.body_map_viewed")
    assert [e for e in seen if e.actor_user_id == outsider.id] == []


def test_researchers_never_see_evidence(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Research", "Blind")
    add_item(client, person, today)
    [item] = items(db)
    client.cookies.clear()
    signed_in(Role.researcher)
    base = f"/people/{person.reference}"
    for path in (f"{base}/evidence/{item.id}", f"{base}/evidence/body-map", f"{base}/evidence/new",
                 f"{base}/rule35/new", f"{base}/documents/1"):
        assert client.get(path).status_code == 403, path
    denied = events(db, "security.permission_denied")
    assert {e.details["permission"] for e in denied} == {"view_person", "record_clinical"}


def test_another_persons_item_is_not_found(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    owner = make_person("Own", "Er")
    other = make_person("Oth", "Er")
    add_item(client, owner, today)
    [item] = items(db)
    assert client.get(f"/people/{other.reference}/evidence/{item.id}").status_code == 404
    assert client.get(f"/people/{other.reference}/evidence/{item.id}/edit").status_code == 404
    assert client.get(f"/people/{owner.reference}/evidence/999999").status_code == 404


def test_the_section_shows_counts_and_links_only_to_those_who_may_record(client, db, signed_in, make_person, today):
    signed_in(Role.coordinator)
    person = make_person("Sec", "Tion")
    add_item(client, person, today)
    [item] = items(db)
    base = f"/people/{person.reference}/evidence"
    submit(client, f"{base}/{item.id}/findings", {"region_code": "F-FACE", "lesion_type": "scar",
                                                  "description": "Scar"},
           page=f"{base}/{item.id}")
    upload(client, f"{base}/{item.id}/documents", "report.pdf", PDF_BYTES, page=f"{base}/{item.id}")
    page = client.get(f"/people/{person.reference}").text
    assert f'href="{base}/new"' in page and f'href="{base}/body-map"' in page
    assert '<td class="num">1</td>\n        <td class="num">1</td>' in page
