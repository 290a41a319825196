"""The caseload export: the people list's filtered rows as CSV and XLSX, formula-safe, audited, coordinators only."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.auth.models import Role
from app.detention.models import Facility
from app.people import export

FORMULA = '=HYPERLINK("http://evil.example","Click")'
HEADER = list(export.HEADER)


def exported_csv(client, **params) -> list[list[str]]:  # type: ignore[no-untyped-def]
    response = client.get("/people/export", params=params | {"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def exported_xlsx(client, **params):  # type: ignore[no-untyped-def]
    response = client.get("/people/export", params=params | {"format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == export.FORMATS["xlsx"]
    return load_workbook(io.BytesIO(response.content))["Caseload"]


def listed_references(client, **params) -> list[str]:  # type: ignore[no-untyped-def]
    page = client.get("/people", params=params).text
    return re.findall(r'<code class="reference">([A-Z0-9-]+)</code>', page)


def facility_id(db, name: str) -> int:  # type: ignore[no-untyped-def]
    found = db.scalar(select(Facility.id).where(Facility.name == name))
    assert found is not None
    return found


def test_csv_holds_the_lists_rows_and_columns_for_the_filters(client, db, signed_in, make_person, make_user):
    signed_in(Role.coordinator)
    clinician = make_user(Role.clinician, name="Dr Export Fictional")
    long_stay = make_person("Ana", "Longstay", detained_days=40, facility="Brook House", nationality="ER",
                            assigned_to=clinician)
    short_stay = make_person("Bea", "Shortstay", detained_days=3, facility="Brook House")
    make_person("Cal", "Atdungavel", detained_days=10, facility="Dungavel")
    make_person("Dee", "Closedcase", closed=True)

    rows = exported_csv(client, facility=facility_id(db, "Brook House"))
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == [long_stay.reference, short_stay.reference]
    assert [r[0] for r in rows[1:]] == listed_references(client, facility=facility_id(db, "Brook House"))
    first = dict(zip(HEADER, rows[1], strict=True))
    assert first["Family name"] == "Longstay" and first["Given names"] == "Ana"
    assert first["Status"] == "Detained" and first["Nationality"] == "Eritrea"
    assert first["Current facility"] == "Brook House"
    assert first["Days in detention"] == "40" and first["Home Office length band"] == "29 days to under 2 months"
    assert first["Assigned clinicians"] == "Dr Export Fictional"
    assert "Detained over 28 days" in first["Alerts"]
    assert "Detained over 28 days" not in dict(zip(HEADER, rows[2], strict=True))["Alerts"]

    everyone = exported_csv(client)
    assert {r[2] for r in everyone[1:]} == {"Ana", "Bea", "Cal"}  # closed cases only when asked for
    assert {r[2] for r in exported_csv(client, closed="1")[1:]} == {"Ana", "Bea", "Cal", "Dee"}
    assert [r[2] for r in exported_csv(client, clinician=0)[1:]] == ["Cal", "Bea"]
    assert [r[2] for r in exported_csv(client, alert="detained_28_days")[1:]] == ["Ana"]
    assert [r[2] for r in exported_csv(client, q="shortstay")[1:]] == ["Bea"]


def test_the_export_holds_every_page_in_the_lists_order(client, signed_in, make_person, monkeypatch):
    signed_in(Role.coordinator)
    monkeypatch.setattr(export, "CHUNK", 3)  # several chunks, each read on from where the last ended
    for days in (5, 50, 20, 20, 7):
        make_person("Held", f"Days{days}", detained_days=days)
    for i in range(52):  # more than one page of the list (50 a page), none detained
        make_person("Free", f"Person{i:02d}")
    rows = exported_csv(client)[1:]
    assert len(rows) == 57
    assert [r[1] for r in rows[:5]] == ["Days50", "Days20", "Days20", "Days7", "Days5"]  # longest first
    assert [int(r[7]) for r in rows[:5]] == [50, 20, 20, 7, 5]
    assert [r[1] for r in rows[5:]] == [f"Person{i:02d}" for i in range(52)]
    references = [r[0] for r in rows]
    assert len(set(references)) == 57
    assert references[:50] == listed_references(client)
    assert references[50:] == listed_references(client, page=2)
    newest = exported_csv(client, sort="recent")[1:]
    assert [r[0] for r in newest] == listed_references(client, sort="recent") + listed_references(
        client, sort="recent", page=2)


def test_xlsx_matches_the_csv_with_numbers_as_numbers(client, signed_in, make_person):
    signed_in(Role.admin)
    make_person("Ana", "Longstay", detained_days=40, nationality="ER")
    make_person("Bea", "Notdetained")
    sheet = exported_xlsx(client)
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER

    def as_text(value: object) -> str:
        if isinstance(value, datetime):
            return value.date().isoformat()
        return "" if value is None else str(value)

    assert [[as_text(v) for v in row] for row in values[1:]] == exported_csv(client)[1:]
    days = [row[7] for row in values[1:]]
    assert days == [40, None] and isinstance(days[0], int)  # a number cell, not text
    assert isinstance(values[1][6], datetime) and values[2][6] is None  # the start date is a date cell
    assert values[1][1:5] == ["Longstay", "Ana", "Detained", "Eritrea"]


def test_a_formula_in_a_name_comes_out_inert_in_both_formats(client, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person(FORMULA, "@SUM(1+1)", detained_days=5)

    # The attack: written as openpyxl writes any string, this name would be a formula Excel runs on opening.
    unprotected = Workbook()
    unprotected.active.append([FORMULA])
    assert unprotected.active["A1"].data_type == "f"

    sheet = exported_xlsx(client)
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    by_header = dict(zip(HEADER, [c.value for c in list(sheet.iter_rows())[1]], strict=True))
    assert by_header["Given names"] == FORMULA and by_header["Family name"] == "@SUM(1+1)"  # kept exactly, as text

    row = dict(zip(HEADER, exported_csv(client)[1], strict=True))
    assert row["Given names"] == "'" + FORMULA
    assert row["Family name"] == "'@SUM(1+1)"
    assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())


def test_the_export_is_audited_without_names_and_sent_as_a_private_attachment(client, db, signed_in, make_person,
                                                                                today):
    from tests.pages import audit_events

    user = signed_in(Role.coordinator)
    make_person("Auditaa", "Exportee", detained_days=12, facility="Colnbrook")
    make_person("Auditbb", "Other", detained_days=12, facility="Dungavel")
    response = client.get("/people/export", params={"format": "xlsx", "facility": facility_id(db, "Colnbrook"),
                                                    "q": "Exportee"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="caseload-{today.isoformat()}.xlsx"'
    assert response.headers["cache-control"] == "no-store"
    events = audit_events(db, "people.exported")
    assert len(events) == 1
    event = events[0]
    assert event.actor_user_id == user.id and event.person_id is None
    assert event.details == {"format": "xlsx", "filters": ["facility_id", "q"], "rows": 1}
    assert "Exportee" not in str(event.details) and "Auditaa" not in str(event.details)


def test_the_list_offers_the_downloads_with_its_filters(client, db, signed_in, make_person):
    signed_in(Role.coordinator)
    make_person("Link", "Holder", detained_days=3)
    make_person("Link", "Released", status="released")
    page = client.get("/people", params={"status": "detained", "closed": "1", "page": "1"}).text
    form = page[page.index('<form method="get" action="/people/export"'):]
    form = form[:form.index("</form>")]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert hidden == {"status": "detained", "closed": "1"}  # the list's filters, not its page
    buttons = re.findall(r'<button type="submit"[^>]* name="format" value="([a-z]+)">([^<]+)</button>', form)
    assert buttons == [("csv", "Download as CSV"), ("xlsx", "Download as XLSX")]
    for chosen, _label in buttons:
        response = client.get("/people/export", params=hidden | {"format": chosen})
        assert response.status_code == 200
    assert [r[1] for r in exported_csv(client, **hidden)[1:]] == ["Holder"]


@pytest.mark.parametrize("role", [Role.clinician, Role.researcher])
def test_clinicians_and_researchers_may_not_export(client, db, signed_in, make_person, role):
    from tests.pages import audit_events

    user = signed_in(role)
    make_person("Secret", "Caseload", detained_days=3, assigned_to=user if role is Role.clinician else None)
    for chosen in ("csv", "xlsx"):
        response = client.get("/people/export", params={"format": chosen})
        assert response.status_code == 403
        assert "Caseload" not in response.text and "Secret" not in response.text
    assert audit_events(db, "people.exported") == []
    assert len(audit_events(db, "security.permission_denied")) == 2
    if role is Role.clinician:
        page = client.get("/people").text
        assert "CASELOAD" in page and "/people/export" not in page and "Download as" not in page


def test_unknown_formats_and_filters_are_refused_without_a_file(client, db, signed_in, make_person):
    from tests.pages import audit_events

    signed_in(Role.coordinator)
    make_person("Some", "One", detained_days=3)
    assert client.get("/people/export", params={"format": "pdf"}).status_code == 404
    assert client.get("/people/export").status_code == 404
    response = client.get("/people/export", params={"format": "csv", "status": "vanished"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/people?status=vanished"
    assert "status filter was not recognised" in client.get(response.headers["location"]).text
    assert audit_events(db, "people.exported") == []
