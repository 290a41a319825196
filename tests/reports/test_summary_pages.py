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
from app.reports.models import ReleaseKind, SummaryRelease
from app.reports.views import render_summary_html
from tests.conftest import page_csrf
from tests.reports.conftest import period


def _release(client, today, *, days: int = 60, **fields):  # type: ignore[no-untyped-def]
    data = {"csrf_token": page_csrf(client, "/reports/summary"), "output_format": "html"} | period(today, days)
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
    research_people(12)
    signed_in(Role.researcher)
    response = _release(client, today)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/reports/releases/")
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "People seen" in page.text and "Rule 35 reports by limb and outcome" in page.text
    assert page.text.count("<svg") >= 8  # a chart beside every table
    document = _document(client, response)
    assert _headline(document)["People seen"] == "12"
    db.rollback()
    release = db.scalars(select(SummaryRelease)).one()
    assert release.kind is ReleaseKind.aggregate and release.population_size == 12
    assert release.output_sha256 == hashlib.sha256(release.output).hexdigest()
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"summary.released", "summary.downloaded"} <= actions


def test_small_numbers_are_hidden_in_every_format(client, signed_in, research_people, today):
    research_people(3)
    signed_in(Role.researcher)
    document = _document(client, _release(client, today))
    assert _headline(document)["People seen"] == "[c]"
    lengths = next(t for t in document["tables"] if t["key"] == "length_of_detention")
    hidden = [c for row in lengths["rows"] for c in row["cells"] if c["display"] == "[c]"]
    assert hidden and all(c["value"] is None for c in hidden)
    response = _release(client, today, output_format="csv")
    text = client.get(response.headers["location"]).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["People seen", "[c]"] in rows
    assert not any(cell == "3" for row in rows for cell in row)


def test_people_without_current_research_consent_are_never_counted(client, signed_in, research_people, today):
    research_people(15)
    research_people(6, consent=False)
    research_people(4, withdrawn=True)
    signed_in(Role.researcher)
    assert _headline(_document(client, _release(client, today)))["People seen"] == "15"


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
    research_people(12)
    signed_in(Role.researcher)
    assert _release(client, today).status_code == 303
    research_people(1)
    refused = _release(client, today)
    assert refused.status_code == 422
    assert "differs from release" in refused.text and "fewer than 10 people" in refused.text
    assert "Reason for overriding" not in refused.text  # only an administrator may override
    # A researcher cannot smuggle an override in either.
    assert _release(client, today, override_reason="trust me").status_code == 422
    db.rollback()
    assert db.scalar(select(SummaryRelease.id).where(SummaryRelease.population_size == 13)) is None
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "summary.refused")).all()


def test_an_admin_may_override_the_differencing_guard_with_a_reason(client, signed_in, research_people, today, db):
    research_people(12)
    signed_in(Role.admin)
    assert _release(client, today).status_code == 303
    research_people(1)
    refused = _release(client, today)
    assert refused.status_code == 422 and "Reason for overriding" in refused.text
    allowed = _release(client, today, override_reason="Published to a closed inquiry panel only.")
    assert allowed.status_code == 303
    db.rollback()
    release = db.scalars(select(SummaryRelease).order_by(SummaryRelease.id.desc())).first()
    assert release.population_size == 13 and release.override_reason.startswith("Published to")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "summary.released")
                       .order_by(AuditEvent.id.desc())).first()
    assert event.details["overridden"] is True


def test_downloads_are_kept_and_served_again_exactly(client, signed_in, research_people, today, db):
    research_people(11)
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


def test_bad_parameters_are_refused_beside_the_field_and_nothing_is_released(client, signed_in, today, db):
    signed_in(Role.researcher)
    backwards = _release(client, today, start_date=today.isoformat(),
                         end_date=(today - timedelta(days=3)).isoformat())
    assert backwards.status_code == 422
    assert "The end of the period must be on or after its start." in backwards.text
    future = _release(client, today, end_date=(today + timedelta(days=1)).isoformat())
    assert future.status_code == 422 and "cannot end after today" in future.text
    junk = _release(client, today, output_format="docx", start_date="last tuesday")
    assert junk.status_code == 422 and 'id="f-start_date-error"' in junk.text
    db.rollback()
    assert db.scalars(select(SummaryRelease)).all() == []


def test_filters_count_only_visits_at_matching_places(client, signed_in, research_people, today):
    research_people(12, facility="Brook House")
    research_people(10, facility="HM Prison (immigration detainee)")
    signed_in(Role.researcher)
    document = _document(client, _release(client, today, facility_type="prison"))
    assert _headline(document)["People seen"] == "10"
    assert ["Type of place", "Prison"] in document["parameters"]


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
    research_people(11)
    signed_in(Role.researcher)
    assert _release(client, today).status_code == 303
    for path in ("/reports/releases/0", "/reports/releases/abc", f"/reports/releases/{2**63}",
                 f"/reports/releases/{2**63 - 1}/download", "/reports/narratives/0", f"/reports/narratives/{2**63}"):
        assert client.get(path).status_code == 404, path
    for page in ("0", "-1", "x", str(2**63 - 1), str(2**64)):
        listing = client.get("/reports/releases", params={"page": page})
        assert listing.status_code == 200, page
