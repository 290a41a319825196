"""Spreadsheet import through the pages, with real CSV and XLSX files (openpyxl): upload, column mapping (guessed
and saved), the dry run's row errors and likely duplicates, the all-or-nothing import, its undo and the refusal
of an undo once a record has changed; every refused file leaves every table as it was; clinicians are refused."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.auth.models import Role
from app.consent.models import Consent
from app.detention.models import DetentionEpisode, Placement
from app.imports import reader
from app.imports.models import ImportMapping, ImportRecord, ImportRun, RunStatus
from app.people.models import BirthPrecision, Identity, Person
from app.referrals.models import Referral
from app.work.models import CaseNote
from tests.conftest import page_csrf
from tests.pages import audit_events, count, form_fields, post_form

HEADINGS = ["Given name", "Surname", "Date of birth", "Sex", "Nationality", "Language", "HO ref",
            "Date detained", "Centre", "Release date", "Release reason", "Visit date", "Visit notes",
            "Referred to", "Consent", "Consent date", "Consent method"]
GOOD = [
    ["Amarel", "Testovian", "03/04/1990", "F", "Eritrea", "Tigrinya", "Q1234567", "2026-01-10", "brook house",
     "", "", "12/01/2026", "Seen at the centre, settled", "Helen Bamber Foundation", "Share with an organisation",
     "11/01/2026", "Verbal"],
    ["Borisca", "", "approx. 1985", "female", "SDN", "Arabic", "", "", "", "", "", "", "", "", "", "", ""],
    ["Cedrino", "Fabulato", "1979", "m", "AFG", "", "", "3 March 2025", "Colnbrook", "1 June 2025",
     "Granted bail by the Tribunal", "", "", "", "", "", ""],
]
TABLES = (Person, Identity, DetentionEpisode, Placement, CaseNote, Consent, Referral, ImportRun, ImportRecord,
          ImportMapping)


def csv_file(rows: list[list[str]], headings: list[str] = HEADINGS, *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_file(rows: list[list[object]], headings: list[str] = HEADINGS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {model.__tablename__: count(db, model) for model in TABLES}


def upload(client, name: str, data: bytes):  # type: ignore[no-untyped-def]
    token = page_csrf(client, "/admin/import")
    return client.post("/admin/import", data={"csrf_token": token}, files={"file": (name, data)},
                       follow_redirects=False)


def map_columns(client, run_path: str, **extra: str):  # type: ignore[no-untyped-def]
    page = client.get(f"{run_path}/mapping")
    assert page.status_code == 200
    fields = form_fields(page.text, f"{run_path}/mapping")
    return client.post(f"{run_path}/mapping", data=fields | extra, follow_redirects=False), fields


def uploaded_run(client, name: str, data: bytes) -> str:  # type: ignore[no-untyped-def]
    response = upload(client, name, data)
    assert response.status_code == 303, response.text
    return response.headers["location"].removesuffix("/mapping")


def import_checked(client, run_path: str, *, duplicates_checked: bool = True):  # type: ignore[no-untyped-def]
    page = client.get(run_path)
    fields = form_fields(page.text, f"{run_path}/run")
    if duplicates_checked:
        fields["duplicates_checked"] = "true"
    return client.post(f"{run_path}/run", data=fields, follow_redirects=False)


def test_csv_is_mapped_checked_imported_and_undone(client, signed_in, db, make_person):
    make_person("Amarel", "Testovian", nationality="ER", birth_precision="year", birth_year=1990)
    signed_in(Role.coordinator)
    before = counts(db)
    run_path = uploaded_run(client, "caseload.csv", csv_file(GOOD))
    assert counts(db)["import_runs"] == before["import_runs"] + 1
    run = db.scalar(select(ImportRun))
    assert run.rows_sealed is not None and b"Amarel" not in run.rows_sealed  # sealed, not in the clear

    response, fields = map_columns(client, run_path, save_as="Our old caseload sheet")
    # Every heading was guessed to its field.
    assert [fields.get(f"col_{i}") for i in range(len(HEADINGS))] == [
        "given_names", "family_name", "birth", "sex", "nationality", "languages", "home_office_reference",
        "detention_start", "facility", "detention_end", "end_reason", "visit_date", "visit_note",
        "referral_organisation", "consent_purpose", "consent_date", "consent_method"]
    assert response.status_code == 303
    dry = client.get(run_path)
    assert "No errors: every row can be imported." in dry.text
    assert "Row 2 may be a person already recorded" in dry.text  # the person made above
    assert [e.details for e in audit_events(db, "import.dry_run")] == [{"rows": 3, "errors": 0, "duplicates": 1}]
    # The dry run wrote nothing but the run (and the saved mapping).
    assert counts(db) | {"import_runs": 0, "import_mappings": 0} == before | {"import_runs": 0, "import_mappings": 0}

    # Likely duplicates must be acknowledged first.
    refused = import_checked(client, run_path, duplicates_checked=False)
    assert refused.status_code == 422 and "tick the box" in refused.text
    assert count(db, Person) == before["people"]

    done = import_checked(client, run_path)
    assert done.status_code == 303
    assert count(db, Person) == before["people"] + 3
    db.rollback()
    run = db.get(ImportRun, run.id)
    assert run.status is RunStatus.completed and run.rows_sealed is None and run.report_sealed is None
    assert run.wrapped_key is None
    by_family = {}
    for person in db.scalars(select(Person).where(Person.id.in_(
            select(ImportRecord.person_id).where(ImportRecord.table_name == "people")))):
        identity = db.get(Identity, person.id)
        by_family[identity.family_name] = (person, identity)
    amarel, identity = by_family["Testovian"]
    assert identity.given_names == "Amarel" and identity.home_office_reference == "Q1234567"
    assert amarel.birth_date == date(1990, 4, 3) and amarel.nationality == "ER"  # UK order: 3 April
    assert amarel.status == "detained" and amarel.opened_date == date(2026, 1, 10)
    single, single_identity = by_family["Borisca"]  # one name only: kept as the family name
    assert single_identity.given_names == "" and single.birth_precision is BirthPrecision.approximate
    assert single.birth_year == 1985
    assert count(db, CaseNote) == 1 and count(db, Consent) == 1 and count(db, Referral) == 1
    ended = db.scalar(select(DetentionEpisode).where(DetentionEpisode.person_id == by_family["Fabulato"][0].id))
    assert ended.end_date == date(2025, 6, 1) and ended.end_reason == "bailed"
    [completed] = audit_events(db, "import.completed")
    assert completed.details["people"] == 3 and "Amarel" not in str(completed.details)

    page = client.get(run_path)
    undo_fields = form_fields(page.text, f"{run_path}/undo")
    undone = client.post(f"{run_path}/undo", data=undo_fields, follow_redirects=False)
    assert undone.status_code == 303
    after = counts(db)
    assert after | {"import_runs": 0, "import_mappings": 0} == before | {"import_runs": 0, "import_mappings": 0}
    run = db.get(ImportRun, run.id)
    assert run.status is RunStatus.undone and run.undone_at is not None
    assert [e.details for e in audit_events(db, "import.undone")] == [{"people": 3}]
    history = client.get("/admin/import")
    assert "Undone" in history.text and run.file_sha256[:12] in history.text


def test_saved_mapping_is_offered_and_applied(client, signed_in, db):
    signed_in(Role.admin)
    headings = ["Forename", "Last name", "Misc"]
    first = uploaded_run(client, "a.csv", csv_file([["Dorit", "Exampleton", "x"]], headings))
    page = client.get(f"{first}/mapping")
    fields = form_fields(page.text, f"{first}/mapping")
    fields.update(col_0="family_name", col_1="given_names", save_as="Swapped")
    assert client.post(f"{first}/mapping", data=fields, follow_redirects=False).status_code == 303
    db.rollback()
    saved = db.scalar(select(ImportMapping))
    assert saved.name == "Swapped" and "Dorit" not in saved.columns
    second = uploaded_run(client, "b.csv", csv_file([["Eliska", "Sampleford", "y"]], headings))
    applied = client.get(f"{second}/mapping?saved={saved.id}")
    fields = form_fields(applied.text, f"{second}/mapping")
    assert (fields.get("col_0"), fields.get("col_1"), fields.get("col_2")) == ("family_name", "given_names", None)


def test_a_field_chosen_twice_is_shown_beside_the_column(client, signed_in, db):
    signed_in(Role.coordinator)
    run_path = uploaded_run(client, "a.csv", csv_file([["Dorit", "Exampleton"]], ["Given", "Family"]))
    page = client.get(f"{run_path}/mapping")
    fields = form_fields(page.text, f"{run_path}/mapping") | {"col_1": "given_names"}
    response = client.post(f"{run_path}/mapping", data=fields, follow_redirects=False)
    assert response.status_code == 422
    assert "Given names is already the field of the column \u201cGiven\u201d" in response.text
    db.rollback()
    assert db.scalar(select(ImportRun)).status is RunStatus.uploaded


def test_dry_run_lists_each_rows_errors_and_the_import_refuses_them(client, signed_in, db):
    signed_in(Role.coordinator)
    rows = [
        ["Fenna", "Mockwell", "31/02/1990", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["Gideon", "Pretendo", "1991", "", "Narnia", "", "", "2026-01-02", "Castle Anthrax", "", "", "", "", "", "",
         "", ""],
        ["", "", "1990", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["Hesper", "Fakington", "1970", "", "", "", "X1", "", "", "", "", "", "", "", "", "", ""],
        ["Hesper", "Fakington", "1970", "", "", "", "x1", "", "", "", "", "", "", "", "", "", ""],
    ]
    before = counts(db)
    run_path = uploaded_run(client, "errors.csv", csv_file(rows))
    map_columns(client, run_path)
    page = client.get(run_path).text
    assert "Row 2: date of birth 31/02/1990 is not a date." in page
    assert "Row 3: nationality Narnia is not a country" in page
    assert "Row 3: facility Castle Anthrax is not in the list of facilities" in page
    assert "Row 4: there is no name: every person needs at least one name." in page
    assert "Row 6 may be the same person as row 5 of this file" in page
    # No import button while there are errors; a forged post imports nothing and says why.
    assert f'action="{run_path}/run"' not in page
    csrf = page_csrf(client, run_path)
    db.rollback()
    run = db.scalar(select(ImportRun))
    response = client.post(f"{run_path}/run", data={"csrf_token": csrf, "version": str(run.version),
                                                    "duplicates_checked": "true"}, follow_redirects=False)
    assert response.status_code == 303
    assert counts(db) | {"import_runs": 0} == before | {"import_runs": 0}
    assert [e.details["errors"] for e in audit_events(db, "import.failed")] == [4]


def _macro_workbook() -> bytes:
    source = io.BytesIO(xlsx_file([["A", "B"]], ["Given", "Family"]))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w") as copy:
        for item in original.infolist():
            copy.writestr(item, original.read(item.filename))
        copy.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    return out.getvalue()


def _formula_workbook() -> bytes:
    return xlsx_file([["Ilka", "Dummer", "1990"], ["Jora", "Sham", "=1980+10"]], ["Given", "Family", "Born"])


REFUSED = {
    "malformed workbook": ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 200, "not a CSV file or an Excel workbook"),
    "wrongly typed (a PNG)": ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a CSV file or an Excel"),
    "wrongly typed (a PDF)": ("report.csv", b"%PDF-1.7\n1 0 obj\n", "not a CSV file or an Excel workbook"),
    "old Excel": ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old-style Excel file"),
    "macro workbook": ("book.xlsx", None, "can hold macros"),
    "xlsm by name": ("book.xlsm", b"Given,Family\nA,B\n", "can hold macros"),
    "formula cell": ("sums.xlsx", None, "Cell C3 holds a formula"),
    "no heading row": ("data.csv", b"Kira,Fauxley,03/04/1990\nLev,Imaginov,1980\n", "must be a heading row"),
    "empty sheet": ("empty.csv", b",,\n,,\n", "The sheet is empty"),
    "headings only": ("head.csv", b"Given,Family\n", "no rows below it"),
    "empty file": ("nothing.csv", b"", "The file is empty"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_files_leave_every_table_unchanged(client, signed_in, db, case):
    signed_in(Role.coordinator)
    name, data, message = REFUSED[case]
    if data is None:
        data = _macro_workbook() if case == "macro workbook" else _formula_workbook()
    before = counts(db)
    response = upload(client, name, data)
    assert response.status_code == 422, response.status_code
    assert message in response.text
    assert "Error: Import from a spreadsheet" in response.text
    assert counts(db) == before
    [refusal] = audit_events(db, "import.refused")
    assert refusal.outcome == "failure" and set(refusal.details) == {"reason", "received_bytes"}


def test_an_oversized_file_is_refused_while_it_is_read(client, signed_in, db, monkeypatch):
    signed_in(Role.coordinator)
    monkeypatch.setattr(reader, "LIMIT_BYTES", 2048)
    before = counts(db)
    response = upload(client, "big.csv", csv_file([GOOD[0]] * 200))
    assert response.status_code == 413 and "larger than the" in response.text
    assert counts(db) == before
    assert audit_events(db, "import.refused")[0].details["reason"] == "too_large"


def test_too_many_rows_are_refused(client, signed_in, db, monkeypatch):
    signed_in(Role.coordinator)
    monkeypatch.setattr(reader, "MAX_ROWS", 3)
    response = upload(client, "many.xlsx", xlsx_file([["A", "B"]] * 4, ["Given", "Family"]))
    assert response.status_code == 422 and "more than 3 rows" in response.text
    assert count(db, ImportRun) == 0


def test_cp1252_csv_and_xlsx_dates_are_read(client, signed_in, db):
    signed_in(Role.coordinator)
    latin = csv_file([["Zoë", "Ñandúlez", "1990-04-03"]], ["Given names", "Family name", "DOB"],
                     encoding="cp1252")
    run_path = uploaded_run(client, "latin.csv", latin)
    map_columns(client, run_path)
    assert "No errors" in client.get(run_path).text
    assert import_checked(client, run_path).status_code == 303
    db.rollback()
    identity = db.scalar(select(Identity))
    assert (identity.given_names, identity.family_name) == ("Zoë", "Ñandúlez")

    book = xlsx_file([["Mira", "Testwood", date(1988, 12, 25), "Sri Lanka"]],
                     ["Given names", "Family name", "Date of birth", "Nationality"])
    run_path = uploaded_run(client, "dates.xlsx", book)
    map_columns(client, run_path)
    assert import_checked(client, run_path).status_code == 303
    db.rollback()
    person = db.scalar(select(Person).where(Person.nationality == "LK"))
    assert person.birth_date == date(1988, 12, 25)


def test_undo_is_refused_once_an_imported_record_has_changed(client, signed_in, db, today):
    user = signed_in(Role.coordinator)
    run_path = uploaded_run(client, "one.csv", csv_file([["Nadia", "Probeson", "1990"]], ["Given", "Family", "Born"]))
    map_columns(client, run_path)
    assert import_checked(client, run_path).status_code == 303
    db.rollback()
    person = db.scalar(select(Person))
    # A user adds a case note to the imported person.
    note = post_form(client, f"/people/{person.reference}/notes", {
        "note_kind": "call", "with_whom": "person", "happened_at": f"{today.isoformat()}T00:01", "summary": "Called"},
        form_page=f"/people/{person.reference}")
    assert note.status_code == 303, note.text
    page = client.get(run_path)
    assert "cannot be undone" in page.text and f'action="{run_path}/undo"' not in page.text
    db.rollback()
    run = db.scalar(select(ImportRun))
    forged = post_form(client, f"{run_path}/undo", {"version": str(run.version)}, form_page=run_path)
    assert forged.status_code == 422 and "cannot be undone" in forged.text
    assert count(db, Person) == 1 and user.id


def test_clinicians_and_researchers_are_refused(client, signed_in, db):
    signed_in(Role.clinician)
    assert client.get("/admin/import").status_code == 403
    csrf = page_csrf(client, "/")
    response = client.post("/admin/import", data={"csrf_token": csrf}, files={"file": ("a.csv", b"Given\nA\n")},
                           follow_redirects=False)
    assert response.status_code == 403
    assert count(db, ImportRun) == 0


def test_the_import_checks_again_and_imports_nothing_if_the_register_changed(client, signed_in, db):
    signed_in(Role.coordinator)
    rows = [["Olek", "Stubbings", "1990", "2026-01-02", "Dungavel"], ["Pia", "Placeholm", "1991", "", ""]]
    run_path = uploaded_run(client, "two.csv", csv_file(rows, ["Given", "Family", "Born", "Date detained",
                                                               "Centre"]))
    map_columns(client, run_path)
    page = client.get(run_path)
    assert "No errors" in page.text
    fields = form_fields(page.text, f"{run_path}/run")
    # The facility closes after the dry run was shown.
    from app.detention.models import Facility

    db.rollback()
    db.scalar(select(Facility).where(Facility.name == "Dungavel")).is_active = False
    db.commit()
    response = client.post(f"{run_path}/run", data=fields, follow_redirects=False)
    assert response.status_code == 303
    assert count(db, Person) == 0 and count(db, ImportRecord) == 0
    shown = client.get(run_path)
    assert "Row 2: facility Dungavel is closed" in shown.text


def test_dates_and_years_of_birth_in_the_forms_spreadsheets_hold(today):
    from app.imports.rows import CellError, parse_birth, parse_date

    assert parse_birth("approx. 1990", today) == (BirthPrecision.approximate, None, 1990)
    assert parse_birth("c. 1988", today) == (BirthPrecision.approximate, None, 1988)
    assert parse_birth("1990?", today) == (BirthPrecision.approximate, None, 1990)
    assert parse_birth("1990", today) == (BirthPrecision.year, None, 1990)
    assert parse_birth("03/04/1990", today) == (BirthPrecision.exact, date(1990, 4, 3), None)
    assert parse_birth("1990-04-03", today) == (BirthPrecision.exact, date(1990, 4, 3), None)
    assert parse_birth("3 April 1990", today) == (BirthPrecision.exact, date(1990, 4, 3), None)
    assert parse_date("3rd Apr 1990") == date(1990, 4, 3)
    assert parse_date("13/12/2025") == date(2025, 12, 13)
    for bad in ("31/02/1990", "12/13/2025", "soon", "1990-02-30"):
        with pytest.raises(CellError, match="is not a date"):
            parse_date(bad)
    for bad in ("1850", str(today.year + 1)):
        with pytest.raises(CellError, match="not a date of birth in the past"):
            parse_birth(bad, today)


DEMO = Path(__file__).resolve().parents[2] / "docs" / "import"


def test_the_demo_csv_shows_its_known_errors_and_duplicates(client, signed_in, db, make_person):
    # The first person `casework serve --demo` makes (60 people, seed 2026), whom the demo file repeats.
    make_person("Pseudela Fictadu", "Synthadze", nationality="GH", birth_precision="exact",
                birth_date=date(1989, 5, 5))
    signed_in(Role.coordinator)
    run_path = uploaded_run(client, "demo-caseload.csv", (DEMO / "demo-caseload.csv").read_bytes())
    map_columns(client, run_path)
    page = client.get(run_path).text
    assert "Errors (2)" in page
    assert "Row 5: date of birth 31/02/1991 is not a date." in page
    assert "Row 6: facility Castle Greyskull IRC is not in the list of facilities" in page
    assert "Row 2 may be a person already recorded" in page
    assert "Row 8 may be the same person as row 3 of this file" in page
    assert count(db, Person) == 1


def test_the_demo_workbook_shows_its_known_errors_and_duplicates(client, signed_in, db, make_person):
    make_person("Samplesh", "Samplewicz", nationality="SY", birth_precision="exact", birth_date=date(1988, 5, 8))
    signed_in(Role.coordinator)
    run_path = uploaded_run(client, "demo-caseload.xlsx", (DEMO / "demo-caseload.xlsx").read_bytes())
    map_columns(client, run_path)
    page = client.get(run_path).text
    assert "Row 4: sex X? is not a sex this record holds" in page
    assert "Row 4: nationality Atlantis is not a country" in page
    assert "Row 6: date detained 1 Jan 2030 is in the future." in page
    assert "Row 2 may be a person already recorded" in page
    assert "Errors (3)" in page


def test_the_demo_csv_imports_once_its_errors_are_corrected(client, signed_in, db):
    signed_in(Role.coordinator)
    text = (DEMO / "demo-caseload.csv").read_text(encoding="utf-8")
    fixed = text.replace("31/02/1991", "28/02/1991").replace("Castle Greyskull IRC", "Harmondsworth")
    run_path = uploaded_run(client, "fixed.csv", fixed.encode())
    map_columns(client, run_path)
    assert import_checked(client, run_path).status_code == 303
    assert count(db, Person) == 8
    run_page = client.get(run_path).text
    assert "Undo the whole import" in run_page


def test_undo_is_refused_once_an_imported_person_has_been_edited(client, signed_in, db):
    signed_in(Role.coordinator)
    sheet = csv_file([["Quentin", "Mockridge", "1990"]], ["Given", "Family", "Born"])
    run_path = uploaded_run(client, "one.csv", sheet)
    map_columns(client, run_path)
    assert import_checked(client, run_path).status_code == 303
    db.rollback()
    person = db.scalar(select(Person))
    edit = client.get(f"/people/{person.reference}/edit")
    fields = form_fields(edit.text, f"/people/{person.reference}/edit") | {"given_names": "Quentina"}
    assert client.post(f"/people/{person.reference}/edit", data=fields, follow_redirects=False).status_code == 303
    page = client.get(run_path)
    assert "cannot be undone" in page.text and f'action="{run_path}/undo"' not in page.text


def test_a_file_left_unimported_for_a_week_is_forgotten(client, signed_in, db):
    from datetime import timedelta

    from app.db import utcnow

    signed_in(Role.coordinator)
    old_path = uploaded_run(client, "old.csv", csv_file([["Rhea", "Stubworth"]], ["Given", "Family"]))
    db.rollback()
    old = db.scalar(select(ImportRun))
    old.uploaded_at = utcnow() - timedelta(days=8)
    db.commit()
    uploaded_run(client, "new.csv", csv_file([["Sol", "Nobodyson"]], ["Given", "Family"]))
    db.rollback()
    old = db.get(ImportRun, old.id)
    assert old.rows_sealed is None and old.wrapped_key is None and old.status is RunStatus.uploaded
    assert "no longer kept" in client.get(old_path).text
    assert client.get(f"{old_path}/mapping", follow_redirects=False).status_code == 303


def _checked_run(client) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """A dry-run-checked run of the three good rows: its page's path and its id."""
    run_path = uploaded_run(client, "three.csv", csv_file(GOOD))
    map_columns(client, run_path)
    return run_path, int(run_path.rsplit("/", 1)[1])


def test_a_running_import_shows_its_progress_refreshes_itself_and_is_not_started_twice(client, signed_in, db):
    from app.imports import progress

    signed_in(Role.coordinator)
    run_path, run_id = _checked_run(client)
    fields = form_fields(client.get(run_path).text, f"{run_path}/run") | {"duplicates_checked": "true"}
    progress.write(run_id, 40, 3000)  # as the import running elsewhere writes it
    try:
        page = client.get(run_path)
        assert "<title>Importing" in page.text and '<meta http-equiv="refresh" content="3">' in page.text
        assert '<progress class="progress" max="3000" value="40"' in page.text
        assert "40 of 3,000 rows imported so far (1%)" in page.text
        assert f'action="{run_path}/run"' not in page.text  # no second start from this page
        again = client.post(f"{run_path}/run", data=fields, follow_redirects=False)
        assert again.status_code == 303
        assert "already running" in client.get(run_path).text
        assert count(db, Person) == 0 and audit_events(db, "import.started") == []
    finally:
        progress.clear(run_id)
    page = client.get(run_path)
    assert "<title>Dry run" in page.text and "refresh" not in page.text


def test_a_progress_file_left_by_a_stopped_process_is_not_a_running_import(client, signed_in, db):
    import os
    import time

    from app.imports import progress

    signed_in(Role.coordinator)
    run_path, run_id = _checked_run(client)
    progress.write(run_id, 1, 3)
    try:
        old = time.time() - progress.STALE_SECONDS - 5
        os.utime(progress._path(run_id), (old, old))  # noqa: SLF001 - the file the import writes
        page = client.get(run_path)
        assert "<title>Dry run" in page.text and f'action="{run_path}/run"' in page.text
    finally:
        progress.clear(run_id)


def test_the_import_runs_after_its_request_writes_progress_and_leaves_no_file(client, signed_in, db, monkeypatch):
    from app.imports import progress, service

    signed_in(Role.coordinator)
    run_path, run_id = _checked_run(client)
    monkeypatch.setattr(service, "PROGRESS_EVERY", 1)
    seen: list[tuple[int, int]] = []
    real_write = progress.write

    def write(run_id: int, done: int, total: int) -> None:
        real_write(run_id, done, total)
        seen.append((done, total))
        assert progress.read(run_id) == progress.Progress(done, total)  # what the run page reads meanwhile

    monkeypatch.setattr(progress, "write", write)
    response = import_checked(client, run_path)
    assert response.status_code == 303
    assert seen == [(0, 3), (0, 3), (1, 3), (2, 3)]  # started, then before each row
    assert progress.read(run_id) is None and not progress._path(run_id).exists()  # noqa: SLF001
    assert count(db, Person) == 3
    [started], [completed] = audit_events(db, "import.started"), audit_events(db, "import.completed")
    assert started.details == {"rows": 3} and completed.correlation_id == started.correlation_id
    assert "Imported" in client.get(run_path).text


def test_an_unexpected_error_during_the_import_imports_nothing_and_says_so(client, signed_in, db, monkeypatch):
    from app.imports import progress, service

    signed_in(Role.coordinator)
    run_path, run_id = _checked_run(client)
    made = {"rows": 0}
    real_row = service._import_row  # noqa: SLF001 - the row writer, made to fail on the third row

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        made["rows"] += 1
        if made["rows"] == 3:
            raise RuntimeError("disk on fire (a fictional failure)")
        return real_row(*args, **kwargs)

    monkeypatch.setattr(service, "_import_row", failing)
    before = counts(db)
    response = import_checked(client, run_path)
    assert response.status_code == 303
    assert counts(db) == before  # the two rows written before the failure were rolled back
    db.rollback()
    assert db.get(ImportRun, run_id).status is RunStatus.checked
    page = client.get(run_path)
    assert "The import stopped on an unexpected error, so nothing was imported." in page.text
    assert "disk on fire" not in page.text
    [failed] = audit_events(db, "import.failed")
    assert failed.details == {"rows": 3, "errors": 1}
    assert progress.read(run_id) is None
