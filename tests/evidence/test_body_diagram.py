"""The body diagram through the pages: findings placed on coded regions with their lesion details and photographs,
a numbered marker per finding matching the head-to-foot text list, the refusals (an unknown region, a size out of
range, a photograph of another item or person), the overall evaluation of a medico-legal report, and the migration
that keeps the sites recorded before coded regions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, inspect, make_url, select, text
from sqlalchemy.exc import IntegrityError

from app.audit.models import Revision
from app.auth.models import Role
from app.db import build_engine
from app.evidence.body_regions import BY_CODE, DIAGRAM_HEIGHT, DIAGRAM_WIDTH, REGIONS, View
from app.evidence.models import Document, EvidenceItem, Finding, FindingDocument
from tests.conftest import TEST_DATABASE_URL, TMP, is_postgres
from tests.evidence.conftest import PDF_BYTES, png_bytes, submit, upload
from tests.pages import audit_events, count, form_fields

MARKER = re.compile(r'data-number="(\d+)" data-region="([A-Z-]+)">\s*<circle cx="(\d+)" cy="(\d+)"')
LISTED = re.compile(r'<li id="finding-(\d+)" value="(\d+)"')


def _item(client, person, today, kind="medico_legal_report", **fields):  # type: ignore[no-untyped-def]
    created = submit(client, f"/people/{person.reference}/evidence/new", {
        "kind": kind, "author": "Dr Fictional Example", "issued_date": str(today - timedelta(days=5)),
        "sensitivity": "high"} | fields)
    assert created.status_code == 303, created.text
    return created.headers["location"]


def _photo(client, item_page: str, name: str, size: tuple[int, int]) -> None:
    stored = upload(client, item_page + "/documents", name, png_bytes(size), page=item_page,
                    declared_type="image/png")
    assert stored.status_code == 303


def _document_id(db, item_id: int, content_type: str = "image/png", nth: int = 0) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(Document.id).where(Document.evidence_item_id == item_id,
                                                     Document.content_type == content_type)
                           .order_by(Document.id)))[nth]


def _finding(**fields):  # type: ignore[no-untyped-def]
    return {"region_code": "F-CHEST-L", "lesion_type": "scar", "description": "Linear scar"} | fields


def test_findings_on_coded_regions_get_numbered_markers_and_a_head_to_foot_list(client, db, signed_in, make_person,
                                                                               today):
    user = signed_in(Role.clinician)
    person = make_person("Diagram", "Fictional", assigned_to=user)
    page = _item(client, person, today)
    item_id = int(page.rsplit("/", 1)[1])
    _photo(client, page, "sole.png", (40, 30))
    _photo(client, page, "forearm.png", (50, 30))
    sole_photo, forearm_photo = _document_id(db, item_id), _document_id(db, item_id, nth=1)

    form = client.get(page).text
    # The region select is grouped front, then back, and offers every code; photographs are the item's images.
    assert '<optgroup label="Front of the body">' in form and '<optgroup label="Back of the body">' in form
    assert form.index('<optgroup label="Front of the body">') < form.index('value="F-HEAD"') < form.index(
        '<optgroup label="Back of the body">') < form.index('value="B-SOLE-R"')
    assert all(f'value="{region.code}"' in form for region in REGIONS)
    assert f'name="photographs" value="{sole_photo}"' in form and f'name="photographs" value="{forearm_photo}"' in form

    # Recorded out of anatomical order: the sole first, the head last.
    for fields in (
        _finding(region_code="B-SOLE-R", lesion_type="bruise", length_mm="40", width_mm="25", shape="Oval",
                 colour="Purple", estimated_age="recent", description="Bruising across the sole",
                 attributed_cause="Falanga", consistency="highly_consistent", photographs=str(sole_photo)),
        _finding(region_code="F-FOREARM-L", length_mm="60", width_mm="3", shape="Linear", colour="Pale",
                 estimated_age="years", description="Linear scar, inner forearm", consistency="consistent",
                 photographs=[str(forearm_photo), str(sole_photo)]),
        _finding(region_code="F-FOREARM-L", lesion_type="burn", length_mm="8", shape="Round",
                 colour="Hyperpigmented", estimated_age="over_6_months", description="Round burn scar"),
        _finding(region_code="F-HEAD", lesion_type="laceration", description="Healed scalp laceration"),
    ):
        assert submit(client, page + "/findings", fields, page=page).status_code == 303
    db.rollback()
    ids = {f.description: f.id for f in db.scalars(select(Finding))}
    sole, forearm, burn, head = (ids["Bruising across the sole"], ids["Linear scar, inner forearm"],
                                 ids["Round burn scar"], ids["Healed scalp laceration"])
    saved = db.get(Finding, sole)
    assert saved is not None and saved.region_code == "B-SOLE-R" and saved.body_region == "Sole of the right foot"
    assert (saved.length_mm, saved.width_mm, saved.shape, saved.colour) == (40, 25, "Oval", "Purple")
    links = db.execute(select(FindingDocument.finding_id, FindingDocument.document_id)
                       .order_by(FindingDocument.finding_id, FindingDocument.document_id)).all()
    assert sorted(links) == sorted([(sole, sole_photo), (forearm, sole_photo), (forearm, forearm_photo)])
    revision = db.scalars(select(Revision).where(Revision.table_name == "findings", Revision.row_id == forearm)).one()
    assert revision.after["region_code"] == "F-FOREARM-L" and revision.after["photographs"] == sorted(
        [sole_photo, forearm_photo])
    assert [e.details["finding_id"] for e in audit_events(db, "evidence.finding_added")] == [sole, forearm, burn, head]

    shown = client.get(page).text
    # The diagram: an image with a title and a description, scaled by its viewBox, one marker per finding.
    svg = shown[shown.index("<svg"):shown.index("</svg>")]
    assert 'role="img"' in svg and 'aria-labelledby="body-diagram-title body-diagram-desc"' in svg
    assert f'viewBox="0 0 {DIAGRAM_WIDTH} {DIAGRAM_HEIGHT}"' in svg and 'width="100%"' in svg
    assert '<title id="body-diagram-title">' in svg and '<desc id="body-diagram-desc">' in svg
    markers = {int(n): (code, int(x), int(y)) for n, code, x, y in MARKER.findall(svg)}
    assert {n: code for n, (code, _, _) in markers.items()} == {
        1: "F-HEAD", 2: "F-FOREARM-L", 3: "F-FOREARM-L", 4: "B-SOLE-R"}
    assert markers[2][1:] != markers[3][1:]  # two findings on one region: neither marker hides the other
    assert markers[1][1:] == (BY_CODE["F-HEAD"].x, BY_CODE["F-HEAD"].y)
    # The person's left forearm is on the viewer's right of the front view; their right sole on the viewer's
    # right of the back view.
    assert markers[2][1] > 100 and markers[4][1] > 300

    # The text alternative: the same numbers, head to foot, every field of each finding.
    assert [(int(f), int(n)) for f, n in LISTED.findall(shown)] == [(head, 1), (forearm, 2), (burn, 3), (sole, 4)]
    item_list = shown[shown.index('<ol class="plain-list finding-list"'):]
    sole_entry = item_list[item_list.index(f'id="finding-{sole}"'):]
    for words in ("4. Sole of the right foot: bruise", "Bruise", "40 × 25 mm", "Oval", "Purple",
                  "Recent (less than 2 weeks)", "Bruising across the sole", "Falanga", "Highly consistent",
                  f'href="/people/{person.reference}/documents/{sole_photo}"', "sole.png"):
        assert words in sole_entry, words
    burn_entry = item_list[item_list.index(f'id="finding-{burn}"'):item_list.index(f'id="finding-{sole}"')]
    assert "8 mm long" in burn_entry and "More than 6 months (up to a year)" in burn_entry
    assert "None linked" in burn_entry and "Not assessed" in burn_entry
    head_entry = item_list[item_list.index(f'id="finding-{head}"'):item_list.index(f'id="finding-{forearm}"')]
    assert "Head, front (forehead and scalp)" in head_entry and "Not estimated" in head_entry
    assert "Left and right are the person's own" in shown

    # The body map of all the person's evidence shows the same diagram, each finding saying where it is from.
    body_map = client.get(f"/people/{person.reference}/evidence/body-map").text
    assert len(MARKER.findall(body_map)) == 4
    assert [int(n) for _, n in LISTED.findall(body_map)] == [1, 2, 3, 4]
    assert body_map.count(f'href="/people/{person.reference}/evidence/{item_id}"') == 4


def test_an_unknown_region_or_a_size_out_of_range_is_refused_beside_its_field(client, db, signed_in, make_person,
                                                                            today):
    user = signed_in(Role.clinician)
    person = make_person("Refused", "Fictional", assigned_to=user)
    page = _item(client, person, today)
    submit(client, page + "/findings", _finding(region_code="F-FACE"), page=page)
    before = count(db, Finding)

    for fields, field, message in (
        (_finding(region_code="F-TAIL", description="Typed before the error"), "region_code",
         "Choose the part of the body from the list."),
        (_finding(region_code="left_forearm"), "region_code", "Choose the part of the body from the list."),
        (_finding(length_mm="2001"), "length_mm", "Enter a size from 1 to 2,000 millimetres"),
        (_finding(length_mm="0"), "length_mm", "Enter a size from 1 to 2,000 millimetres"),
        (_finding(width_mm="5"), "length_mm", "Enter the length as well as the width"),
        (_finding(lesion_type="stab"), "lesion_type", "Choose type of lesion from the list."),
    ):
        refused = submit(client, page + "/findings", fields, page=page)
        assert refused.status_code == 422, fields
        assert f'id="f-{field}-error"' in refused.text and message in refused.text
        assert "<title>Error: " in refused.text
        assert count(db, Finding) == before
    # What was typed is shown again in the open form.
    refused = submit(client, page + "/findings", _finding(region_code="F-TAIL", description="Typed before"),
                     page=page)
    assert form_fields(refused.text, page.removeprefix("http://testserver") + "/findings")["description"] == (
        "Typed before")
    # The database refuses an unknown code too, whoever writes it.
    db.rollback()
    item = db.scalars(select(EvidenceItem)).one()
    db.add(Finding(evidence_item_id=item.id, body_region="Tail", region_code="F-TAIL", description="x"))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_photographs_are_linked_only_from_the_same_evidence_item(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Photo", "Fictional", assigned_to=user)
    other = make_person("Other", "Fictional", assigned_to=user)
    page, second = _item(client, person, today), _item(client, person, today, kind="photographs")
    elsewhere = _item(client, other, today, kind="photographs")
    item_id, second_id = int(page.rsplit("/", 1)[1]), int(second.rsplit("/", 1)[1])
    _photo(client, page, "own.png", (40, 30))
    _photo(client, second, "second.png", (41, 30))
    _photo(client, elsewhere, "elsewhere.png", (42, 30))
    assert upload(client, page + "/documents", "report.pdf", PDF_BYTES, page=page).status_code == 303
    own, pdf = _document_id(db, item_id), _document_id(db, item_id, "application/pdf")
    of_second = _document_id(db, second_id)
    of_other = _document_id(db, int(elsewhere.rsplit("/", 1)[1]))

    form = client.get(page).text
    assert f'name="photographs" value="{own}"' in form
    assert all(f'name="photographs" value="{d}"' not in form for d in (pdf, of_second, of_other))

    for wrong in (of_second, of_other, pdf, 999999):
        refused = submit(client, page + "/findings", _finding(photographs=[str(own), str(wrong)]), page=page)
        assert refused.status_code == 422, wrong
        assert 'id="f-photographs-error"' in refused.text
        assert "Choose photographs uploaded to this evidence, from the list." in refused.text
        assert count(db, Finding) == 0 and count(db, FindingDocument) == 0

    assert submit(client, page + "/findings", _finding(photographs=str(own)), page=page).status_code == 303
    db.rollback()
    assert db.execute(select(FindingDocument.document_id)).scalars().all() == [own]

    # Removing the finding removes its link, never the photograph.
    finding_id = db.scalars(select(Finding.id)).one()
    removal = f"{page}/findings/{finding_id}/remove"
    assert submit(client, removal, {}, page=removal).status_code == 303
    assert count(db, FindingDocument) == 0
    assert db.get(Document, own) is not None


def test_only_a_medico_legal_report_has_an_overall_evaluation(client, db, signed_in, make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Evaluated", "Fictional", assigned_to=user)
    new = f"/people/{person.reference}/evidence/new"

    refused = submit(client, new, {"kind": "gp_records", "sensitivity": "standard",
                                   "overall_evaluation": "consistent"})
    assert refused.status_code == 422 and 'id="f-overall_evaluation-error"' in refused.text
    assert "Only a medico-legal report has an overall evaluation" in refused.text
    assert "<title>Error: " in refused.text and count(db, EvidenceItem) == 0
    note_only = submit(client, new, {"kind": "medico_legal_report", "sensitivity": "standard",
                                     "overall_evaluation_note": "A note without a level"})
    assert note_only.status_code == 422 and 'id="f-overall_evaluation-error"' in note_only.text
    assert count(db, EvidenceItem) == 0

    page = _item(client, person, today, overall_evaluation="highly_consistent",
                 overall_evaluation_note="Rests on the scars taken together")
    shown = client.get(page).text
    assert "Overall evaluation (Istanbul Protocol)" in shown and "Highly consistent with the account" in shown
    assert "Rests on the scars taken together" in shown
    db.rollback()
    item = db.scalars(select(EvidenceItem)).one()
    assert item.overall_evaluation is not None and item.overall_evaluation.value == "highly_consistent"
    assert item.overall_evaluation_note == "Rests on the scars taken together"

    # Made into another kind while it still carries an evaluation: refused, nothing changed.
    edit = page + "/edit"
    fields = form_fields(client.get(edit).text, edit.removeprefix("http://testserver"))
    assert fields["overall_evaluation"] == "highly_consistent"
    changed = submit(client, edit, fields | {"kind": "hospital_letter"})
    assert changed.status_code == 422 and 'id="f-overall_evaluation-error"' in changed.text
    db.rollback()
    assert db.get(EvidenceItem, item.id).kind.value == "medico_legal_report"
    # Cleared, it is saved, and the change is in the history.
    cleared = submit(client, edit, fields | {"overall_evaluation": "", "overall_evaluation_note": ""})
    assert cleared.status_code == 303
    [change] = audit_events(db, "evidence.item_changed")
    assert change.details["fields"] == ["overall_evaluation", "overall_evaluation_note"]
    assert db.get(EvidenceItem, item.id).overall_evaluation is None
    # Another kind of evidence never shows the evaluation at all.
    letter = _item(client, person, today, kind="hospital_letter")
    assert "Overall evaluation" not in client.get(letter).text
    # The database holds the rule too.
    db.rollback()
    with pytest.raises(IntegrityError):
        db.execute(text("UPDATE evidence_items SET overall_evaluation = 'consistent' "
                        "WHERE kind = 'hospital_letter'"))
    db.rollback()


def test_a_finding_recorded_before_coded_regions_is_listed_by_its_site_without_a_marker(client, db, signed_in,
                                                                                       make_person, today):
    user = signed_in(Role.clinician)
    person = make_person("Legacy", "Fictional", assigned_to=user)
    page = _item(client, person, today)
    db.rollback()
    item = db.scalars(select(EvidenceItem)).one()
    db.add_all([Finding(evidence_item_id=item.id, body_region="left_forearm", description="Old scar"),
                Finding(evidence_item_id=item.id, body_region="behind the left ear", description="Old mark")])
    db.commit()
    submit(client, page + "/findings", _finding(region_code="B-SOLE-L"), page=page)
    shown = client.get(page).text
    assert [code for _, code, _, _ in MARKER.findall(shown)] == ["B-SOLE-L"]
    listed = shown[shown.index('<ol class="plain-list finding-list"'):]
    # Coded findings first, head to foot; then the older ones, by their site in words.
    assert listed.index("1. Sole of the left foot") < listed.index("2. Left forearm") < listed.index(
        "3. behind the left ear")
    assert listed.count("recorded before coded regions: not on the diagram") == 2


def test_the_region_list_is_complete_and_placed_on_its_own_view():
    assert 40 <= len(REGIONS) <= 60
    assert len(BY_CODE) == len(REGIONS)  # codes are unique
    assert [r.order for r in REGIONS] == sorted(r.order for r in REGIONS)
    for region in REGIONS:
        assert region.code.startswith("F-" if region.view is View.front else "B-")
        centre = 100 if region.view is View.front else 300
        assert abs(region.x - centre) <= 75 and 10 < region.y < DIAGRAM_HEIGHT - 30
        if region.code.endswith("-L"):
            # The person's left: the viewer's right from the front, the viewer's left from the back.
            assert (region.x > centre) == (region.view is View.front)


# --- the migration -------------------------------------------------------------------------------------------

@pytest.fixture
def scratch_engine():  # type: ignore[no-untyped-def]
    """An empty database of the same kind as the test database, for running the migrations up and down."""
    if not is_postgres():
        engine = build_engine(f"sqlite:///{TMP / f'body-diagram-{uuid.uuid4().hex}.sqlite3'}")
        yield engine
        engine.dispose()
        return
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_body_diagram"
    admin = build_engine(TEST_DATABASE_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = build_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _config(connection) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config("alembic.ini")
    cfg.attributes["configure_logger"] = False
    cfg.attributes["connection"] = connection
    return cfg


@pytest.mark.no_database
def test_the_migration_keeps_the_sites_written_before_and_codes_only_exact_ones(scratch_engine):
    sites = {1: "head_front", 2: "left_forearm", 3: "Back, below the left shoulder blade", 4: "upper_back",
             5: "soles_of_feet"}
    with scratch_engine.begin() as conn:
        command.upgrade(_config(conn), "0024")
    with scratch_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, display_name, role, password_hash, is_active, created_at) "
                          "VALUES (1, 'clin@example.org', 'Dr Fictional', 'clinician', 'x', true, "
                          "'2026-01-05 10:00:00')"))
        conn.execute(text("INSERT INTO people (id, reference, status, sex, stateless, interpreter_needed, "
                          "birth_precision, opened_date, created_at, updated_at, version) VALUES "
                          "(1, 'TEST-0001', 'detained', 'not_recorded', false, false, 'unknown', '2026-01-05', "
                          "'2026-01-05 10:00:00', '2026-01-05 10:00:00', 1)"))
        conn.execute(text("INSERT INTO evidence_items (id, person_id, kind, sensitivity, created_by_id, created_at) "
                          "VALUES (1, 1, 'medico_legal_report', 'standard', 1, '2026-01-06 10:00:00')"))
        for finding_id, site in sites.items():
            # The description is sealed and NOT NULL; the migration never reads it, so any bytes stand in.
            conn.execute(text("INSERT INTO findings (id, evidence_item_id, body_region, description, consistency) "
                              "VALUES (:id, 1, :site, :sealed, 'consistent')"),
                         {"id": finding_id, "site": site, "sealed": b"\x00"})
    with scratch_engine.begin() as conn:
        command.upgrade(_config(conn), "0025")
    with scratch_engine.connect() as conn:
        rows = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(text(
            "SELECT id, body_region, region_code, consistency FROM findings ORDER BY id"))}
    assert {i: site for i, (site, _, _) in rows.items()} == sites  # every site as it was written
    assert {i: code for i, (_, code, _) in rows.items()} == {1: "F-HEAD", 2: None, 3: None, 4: "B-BACK-UPPER",
                                                            5: None}
    assert {consistency for _, _, consistency in rows.values()} == {"consistent"}
    assert {"finding_documents"} <= set(inspect(scratch_engine).get_table_names())

    with scratch_engine.begin() as conn:
        command.downgrade(_config(conn), "0024")
    with scratch_engine.connect() as conn:
        kept = dict(conn.execute(text("SELECT id, body_region FROM findings ORDER BY id")).all())
        assert conn.scalar(text("SELECT count(*) FROM evidence_items")) == 1
    assert kept == sites
    columns = {c["name"] for c in inspect(scratch_engine).get_columns("findings")}
    assert "region_code" not in columns and "finding_documents" not in inspect(scratch_engine).get_table_names()
    with scratch_engine.begin() as conn:
        command.upgrade(_config(conn), "head")
        assert conn.scalar(select(func.count()).select_from(text("findings"))) == len(sites)
