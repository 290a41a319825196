"""The aggregate summary through its pages: who is counted, releases, downloads, the differencing guard, access."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.consent.models import Consent
from app.reports import periods
from app.reports.models import ReleaseKind, SummaryRelease
from app.reports.views import render_summary_html
from app.visits.models import Visit, VisitMode, VisitStatus
from tests.conftest import page_csrf
from tests.pages import count
from tests.reports.conftest import last_month, period


def _release(client, today, **fields):  # type: ignore[no-untyped-def]
    data = {"csrf_token": page_csrf(client, "/reports/summary"), "output_format": "html"} | period(today)
    return client.post("/reports/summary", data=data | fields, follow_redirects=False)


def _document(client, response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    release_id = int(response.headers["location"].split("/")[3])
    download = client.get(f"/reports/releases/{release_id}/download")
    assert download.status_code == 200
    return json.loads(download.content)


def _headline(document: dict) -> dict[str, str]:
    return dict(document["headline"])


def test_researcher_releases_a_summary_on_screen(client, signed_in, research_people, today, db):
    research_people(22)
    signed_in(Role.researcher)
    response = _release(client, today)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/reports/releases/")
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "People seen" in page.text and "Rule 35 reports by limb and outcome" in page.text
    assert page.text.count("<svg") >= 8  # a chart beside every table
    document = _document(client, response)
    assert _headline(document)["People seen"] == "22"
    db.rollback()
    release = db.scalars(select(SummaryRelease)).one()
    assert release.kind is ReleaseKind.aggregate and release.population_size == 22
    assert (release.period_start, release.period_end) == (last_month(today).start, last_month(today).end)
    assert [t["key"] for t in release.tables["tables"]][0] == "people_seen" and release.contributions
    assert release.output_sha256 == hashlib.sha256(release.output).hexdigest()
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"summary.released", "summary.downloaded"} <= actions


def test_small_numbers_are_hidden_in_every_format(client, signed_in, research_people, today):
    research_people(20)
    research_people(3, detained_days=400)
    signed_in(Role.researcher)
    document = _document(client, _release(client, today))
    assert _headline(document)["People seen"] == "23"
    lengths = next(t for t in document["tables"] if t["key"] == "length_of_detention")
    hidden = [c for row in lengths["rows"] for c in row["cells"] if c["display"] == "[c]"]
    assert hidden and all(c["value"] is None for c in hidden)
    response = _release(client, today, output_format="csv")
    text = client.get(response.headers["location"]).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["People seen", "23"] in rows
    assert not any(cell == "3" for row in rows for cell in row)


def test_a_summary_of_fewer_than_2k_people_is_refused_and_says_nothing_of_them(client, signed_in, research_people,
                                                                              today, db):
    research_people(19)
    signed_in(Role.researcher)
    refused = _release(client, today)
    assert refused.status_code == 422
    assert "fewer than 20 people" in refused.text and "19" not in refused.text.replace("2019", "")
    assert "quarter" in refused.text  # the broader period that may pass
    assert count(db, SummaryRelease) == 0


def test_people_without_current_research_consent_are_never_counted(client, signed_in, research_people, today):
    research_people(25)
    research_people(6, consent=False)
    research_people(4, withdrawn=True)
    signed_in(Role.researcher)
    assert _headline(_document(client, _release(client, today)))["People seen"] == "25"


def test_withdrawn_consent_removes_a_person_from_the_next_release(client, signed_in, research_people, today, db):
    people = research_people(30)
    signed_in(Role.coordinator)
    assert _headline(_document(client, _release(client, today)))["People seen"] == "30"
    withdrawn = [p.id for p in people[:10]]
    db.rollback()  # a fresh snapshot: the app has written since the ids were read
    db.execute(update(Consent).where(Consent.person_id.in_(withdrawn))
               .values(withdrawn_date=today, withdrawal_recorded_by_id=Consent.recorded_by_id))
    db.commit()
    assert _headline(_document(client, _release(client, today)))["People seen"] == "20"


def test_two_releases_that_differ_by_one_person_are_refused(client, signed_in, research_people, today, db):
    research_people(22)
    signed_in(Role.researcher)
    assert _release(client, today).status_code == 303
    research_people(1)
    refused = _release(client, today)
    assert refused.status_code == 422
    assert "differs from release" in refused.text and "fewer than 10 people contribute" in refused.text
    assert "Reason for overriding" not in refused.text  # only an administrator may override
    # A researcher cannot smuggle an override in either.
    assert _release(client, today, override_reason="trust me").status_code == 422
    db.rollback()
    assert db.scalar(select(SummaryRelease.id).where(SummaryRelease.population_size == 23)) is None
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "summary.refused")).all()


def test_the_same_people_with_one_more_event_counted_are_refused(client, signed_in, research_people, today, db):
    people = research_people(22)
    signed_in(Role.researcher)
    assert _release(client, today).status_code == 303
    db.rollback()
    visit = db.scalars(select(Visit).where(Visit.person_id == people[0].id)).one()
    db.add(Visit(person_id=visit.person_id, clinician_id=visit.clinician_id, visit_date=visit.visit_date,
                 facility_id=visit.facility_id, mode=VisitMode.video, status=VisitStatus.signed,
                 signed_at=visit.signed_at, signed_by_id=visit.signed_by_id))
    db.commit()
    refused = _release(client, today)
    assert refused.status_code == 422 and "what fewer than 10 people contribute" in refused.text
    assert count(db, SummaryRelease) == 1


def test_an_admin_may_override_the_differencing_guard_with_a_reason(client, signed_in, research_people, today, db):
    research_people(22)
    signed_in(Role.admin)
    assert _release(client, today).status_code == 303
    research_people(1)
    refused = _release(client, today)
    assert refused.status_code == 422 and "Reason for overriding" in refused.text
    allowed = _release(client, today, override_reason="Published to a closed inquiry panel only.")
    assert allowed.status_code == 303
    db.rollback()
    release = db.scalars(select(SummaryRelease).order_by(SummaryRelease.id.desc())).first()
    assert release.population_size == 23 and release.override_reason.startswith("Published to")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "summary.released")
                       .order_by(AuditEvent.id.desc())).first()
    assert event.details["overridden"] is True


def test_downloads_are_kept_and_served_again_exactly(client, signed_in, research_people, today, db):
    research_people(21)
    signed_in(Role.researcher)
    for output_format, media_type, magic in (("csv", "text/csv", b"\xef\xbb\xbf"), ("json", "application/json", b"{"),
                                             ("pdf", "application/pdf", b"%PDF")):
        response = _release(client, today, output_format=output_format)
        assert response.status_code == 303
        first = client.get(response.headers["location"])
        assert first.headers["content-type"].startswith(media_type)
        assert first.headers["content-disposition"].startswith("attachment;")
        assert first.content.startswith(magic)
        again = client.get(response.headers["location"])
        assert again.content == first.content
    db.rollback()
    pdf = db.scalars(select(SummaryRelease).where(SummaryRelease.output_format == "pdf")).one()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.output)).pages)
    assert "Anonymised evidence summary" in text and "People seen" in text
    # The PDF is drawn from the printable page, charts included.
    document = json.loads(db.scalars(select(SummaryRelease.output).where(SummaryRelease.output_format == "json")).one())
    printable = render_summary_html(document)
    assert printable.count("<svg") == len(document["tables"]) and "Rule 35 reports by limb and outcome" in printable
    listing = client.get("/reports/releases")
    assert listing.status_code == 200 and listing.text.count("/reports/releases/") >= 3


def test_bad_parameters_are_refused_beside_the_field_and_nothing_is_released(client, signed_in, research_people,
                                                                             today, db):
    research_people(25)
    signed_in(Role.researcher)
    # Day ranges are gone: a period that slides by a day is how releases were subtracted.
    days = _release(client, today, period="", start_date=(today - timedelta(days=40)).isoformat(),
                    end_date=(today - timedelta(days=1)).isoformat())
    assert days.status_code == 422
    for value in ("", "2026-13", "2026-Q5", "last tuesday", "2026-11-01"):
        bad = _release(client, today, period=value)
        assert bad.status_code == 422 and 'id="f-period-error"' in bad.text, value
        assert ("Enter period." if not value else "Choose a whole month, quarter or year from the list.") in bad.text
    this_month = _release(client, today, period=f"{today.year}-{today.month:02d}")
    assert this_month.status_code == 422 and "Choose a period that has ended." in this_month.text
    junk = _release(client, today, output_format="docx")
    assert junk.status_code == 422 and 'id="f-output_format-error"' in junk.text
    # A filter value that covers one place names that place: it is not offered, and refused if sent.
    form = client.get("/reports/summary").text
    assert 'value="holding_room"' not in form and 'value="Scotland"' not in form
    for field, value in (("facility_type", "holding_room"), ("region", "Scotland"), ("facility_type", "prison")):
        one_place = _release(client, today, **{field: value})
        assert one_place.status_code == 422 and f'id="f-{field}-error"' in one_place.text, value
        assert "too few places or people" in one_place.text
    db.rollback()
    assert db.scalars(select(SummaryRelease)).all() == []


def test_the_form_offers_whole_periods_that_have_ended(client, signed_in, today):
    signed_in(Role.researcher)
    form = client.get("/reports/summary").text
    last_quarter = periods.quarter(*((today.year, (today.month - 1) // 3) if today.month > 3 else (today.year - 1, 4)))
    assert f'<option value="{last_quarter.value}" selected>' in form
    assert f'value="{last_month(today).value}"' in form
    assert f'value="{today.year}-{today.month:02d}"' not in form
    assert '<optgroup label="Quarters">' in form and 'type="date"' not in form


def test_filters_count_only_visits_at_matching_places(client, signed_in, research_people, today):
    research_people(12, facility="Brook House")
    research_people(10, facility="Tinsley House")
    research_people(22, facility="Colnbrook")
    signed_in(Role.researcher)
    form = client.get("/reports/summary").text
    assert 'value="South East (Gatwick)"' in form and 'value="London (Heathrow)"' not in form  # one place only
    document = _document(client, _release(client, today, region="South East (Gatwick)"))
    assert _headline(document)["People seen"] == "22"
    assert ["Region", "South East (Gatwick)"] in document["parameters"]


def test_researchers_see_no_person_and_clinicians_no_reports(client, signed_in, make_person, research_people, db):
    person = make_person()
    signed_in(Role.researcher)
    for path in ("/people", f"/people/{person.reference}", f"/people/{person.reference}/visits/new"):
        assert client.get(path).status_code == 403, path
    db.rollback()
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "security.permission_denied")).all()
    client.cookies.clear()
    signed_in(Role.clinician)
    for path in ("/reports", "/reports/summary", "/reports/releases", "/reports/narratives"):
        assert client.get(path).status_code == 403, path


def test_ids_and_pages_out_of_range_name_nothing(client, signed_in, research_people, today):
    research_people(21)
    signed_in(Role.researcher)
    assert _release(client, today).status_code == 303
    for path in ("/reports/releases/0", "/reports/releases/abc", f"/reports/releases/{2**63}",
                 f"/reports/releases/{2**63 - 1}/download", "/reports/narratives/0", f"/reports/narratives/{2**63}"):
        assert client.get(path).status_code == 404, path
    for page in ("0", "-1", "x", str(2**63 - 1), str(2**64)):
        listing = client.get("/reports/releases", params={"page": page})
        assert listing.status_code == 200, page
