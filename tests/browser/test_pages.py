"""Every page type, and every form with its errors showing: no serious or critical axe-core finding, no sideways
scrolling on a 320 px wide screen, an error summary that takes focus and links to each field, and screenshots at
desktop and phone sizes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.browser import helpers
from tests.browser.helpers import ADMIN, CLINICIAN, COORDINATOR, OTHER_CLINICIAN, RESEARCHER

FUTURE = (helpers.today().replace(year=helpers.today().year + 1)).isoformat()


@dataclass(frozen=True)
class PageType:
    name: str
    user: str | None
    path: str  # formatted with the demo records: "{person.ref}", "{episode.id}" ...
    status: int = 200
    # To show the form's errors: what to type (label -> text, "" clears) and the button that sends it.
    errors_by: str | None = None
    typing: dict[str, str] = field(default_factory=dict)
    choosing: dict[str, str] = field(default_factory=dict)  # select label -> the option's value to choose
    opening: str | None = None  # a folded part (<details>) that holds the form
    # Built by work still in progress: skipped while the address answers 404, checked like the rest once it exists.
    pending: bool = False
    # The audit log quotes each event's details as they were recorded (field names, codes): words are not checked.
    quotes_codes: bool = False


PERSON = "/people/{person.ref}"
PAGES = [
    PageType("sign-in", None, "/login", errors_by="Sign in"),
    PageType("dashboard", COORDINATOR, "/"),
    PageType("dashboard-clinician", CLINICIAN, "/"),
    PageType("home-researcher", RESEARCHER, "/"),
    PageType("people", COORDINATOR, "/people"),
    PageType("people-no-match", COORDINATOR, "/people?q=Nobody+Anywhere+Zzyzx"),
    PageType("person", COORDINATOR, PERSON),
    PageType("person-as-clinician", CLINICIAN, PERSON),
    PageType("person-new", COORDINATOR, "/people/new", errors_by="Add person"),
    PageType("person-edit", COORDINATOR, PERSON + "/edit", errors_by="Save changes",
             typing={"Family name": "", "Year of birth": "1850"}),
    PageType("detention-new", COORDINATOR, "/people/{not_detained.ref}/episodes/new", errors_by="Record a detention"),
    PageType("detention-transfer", COORDINATOR, "/people/{episode.ref}/episodes/{episode.id}/transfer",
             errors_by="Record a transfer"),
    PageType("detention-bail", COORDINATOR, "/people/{episode.ref}/episodes/{episode.id}/bail",
             errors_by="Record a bail application"),
    PageType("detention-exam", COORDINATOR, "/people/{episode.ref}/episodes/{episode.id}/exam",
             errors_by="Record the admission GP examination"),
    PageType("detention-end", COORDINATOR, "/people/{episode.ref}/episodes/{episode.id}/end",
             errors_by="End this detention"),
    PageType("visit-new", CLINICIAN, PERSON + "/visits/new", errors_by="Save as a draft"),
    PageType("visit-draft-edit", CLINICIAN, "/people/{draft_visit.ref}/visits/{draft_visit.id}/edit",
             errors_by="Save changes", typing={"Date of the visit": ""}),
    PageType("visit-draft", CLINICIAN, "/people/{draft_visit.ref}/visits/{draft_visit.id}"),
    PageType("visit-sign", CLINICIAN, "/people/{draft_visit.ref}/visits/{draft_visit.id}/sign",
             errors_by="Sign this visit"),
    PageType("planned-visit-new", COORDINATOR, PERSON + "/planned-visits/new", errors_by="Plan the visit"),
    PageType("letter-new", COORDINATOR, PERSON + "/letters/new", errors_by="Fill in the letter"),
    PageType("report-new", COORDINATOR, PERSON + "/reports/new", errors_by="Record the instruction"),
    PageType("report-edit", COORDINATOR, "/people/{drafting_report.ref}/reports/{drafting_report.id}/edit"),
    PageType("report-review", COORDINATOR, "/people/{review_report.ref}/reports/{review_report.id}/review"),
    # The demo's report ready for sign-off is written by the other demo clinician: only its author signs it.
    PageType("report-sign", OTHER_CLINICIAN, "/people/{approved_report.ref}/reports/{approved_report.id}/sign",
             errors_by="Sign off this report"),
    PageType("report-signed", COORDINATOR, "/people/{signed_report.ref}/reports/{signed_report.id}"),
    PageType("report-version", COORDINATOR, "/people/{signed_report.ref}/reports/{signed_report.id}/versions/1"),
    PageType("letter-edit", COORDINATOR, "/people/{draft_letter.ref}/letters/{draft_letter.id}/edit"),
    PageType("letter-issue", COORDINATOR, "/people/{draft_letter.ref}/letters/{draft_letter.id}/issue"),
    PageType("letter-issued", COORDINATOR, "/people/{issued_letter.ref}/letters/{issued_letter.id}"),
    # The field names are what an administrator types into a template: quoted as they are.
    PageType("letter-templates", ADMIN, "/admin/letter-templates", quotes_codes=True),
    PageType("calendar", COORDINATOR, "/calendar"),
    PageType("calendar-clinician", CLINICIAN, "/calendar"),
    PageType("visit-signed", COORDINATOR, "/people/{signed_visit.ref}/visits/{signed_visit.id}",
             errors_by="Add the addendum"),
    PageType("visit-documents", COORDINATOR, "/people/{signed_visit.ref}/documents/visit/{signed_visit.id}",
             errors_by="Upload"),
    PageType("evidence-new", COORDINATOR, PERSON + "/evidence/new", errors_by="Add evidence"),
    PageType("evidence", COORDINATOR, "/people/{evidence.ref}/evidence/{evidence.id}", errors_by="Add finding",
             opening="Add a finding"),
    PageType("evidence-edit", COORDINATOR, "/people/{evidence.ref}/evidence/{evidence.id}/edit",
             errors_by="Save changes", typing={"Date issued": FUTURE}),
    PageType("body-map", COORDINATOR, "/people/{evidence.ref}/evidence/body-map"),
    PageType("rule35-new", COORDINATOR, PERSON + "/rule35/new", errors_by="Record the report"),
    PageType("rule35-edit", COORDINATOR, "/people/{rule35.ref}/rule35/{rule35.id}/edit", errors_by="Save changes",
             typing={"Date written": ""}),
    PageType("health-event-new", COORDINATOR, PERSON + "/health-events/new", errors_by="Record the event"),
    PageType("health-event-end", COORDINATOR, "/people/{health_event.ref}/health-events/{health_event.id}/end",
             errors_by="Record the end"),
    PageType("consent-new", COORDINATOR, PERSON + "/consents/new", errors_by="Record consent"),
    PageType("consent-withdraw", COORDINATOR, "/people/{consent.ref}/consents/{consent.id}/withdraw",
             errors_by="Record withdrawal"),
    PageType("referral-new", COORDINATOR, PERSON + "/referrals/new", errors_by="Save draft referral"),
    PageType("referral-draft", COORDINATOR, "/people/{draft_referral.ref}/referrals/{draft_referral.id}",
             errors_by="Record as sent", typing={"Date the referral was made": FUTURE}),
    PageType("referral-sent", COORDINATOR, "/people/{sent_referral.ref}/referrals/{sent_referral.id}",
             errors_by="Record the response"),
    PageType("referral-nrm", COORDINATOR, "/people/{nrm_referral.ref}/referrals/{nrm_referral.id}/nrm",
             errors_by="Save NRM details", typing={"Date of the reasonable-grounds decision": FUTURE}),
    PageType("admin-users", ADMIN, "/admin/users"),
    PageType("admin-user-new", ADMIN, "/admin/users/new", errors_by="Add user"),
    PageType("admin-user-edit", ADMIN, "/admin/users/{user.id}", errors_by="Save changes", typing={"Name": ""}),
    PageType("admin-facilities", ADMIN, "/admin/facilities"),
    PageType("admin-facility-new", ADMIN, "/admin/facilities/new", errors_by="Add facility"),
    PageType("admin-facility-edit", ADMIN, "/admin/facilities/{facility.id}", errors_by="Close facility"),
    PageType("admin-organisations", ADMIN, "/admin/organisations"),
    PageType("admin-organisation-new", ADMIN, "/admin/organisations/new", errors_by="Add organisation"),
    PageType("admin-organisation-edit", ADMIN, "/admin/organisations/{organisation.id}", errors_by="Save changes",
             typing={"Name": ""}),
    PageType("import", COORDINATOR, "/admin/import", errors_by="Upload and read"),
    PageType("tasks", COORDINATOR, "/tasks"),
    PageType("operations", COORDINATOR, "/reports/operations"),
    PageType("task-new", COORDINATOR, PERSON + "/tasks/new?from_alert=consent_missing", errors_by="Add the task",
             typing={"What needs doing": ""}),
    PageType("requests", COORDINATOR, "/requests"),
    PageType("request-new", COORDINATOR, "/requests/new", errors_by="Record the request"),
    PageType("request", COORDINATOR, "/requests/{open_request.ref}", errors_by="Record the decision"),
    PageType("referral-form", None, "/refer", errors_by="Send the referral"),
    PageType("representatives", COORDINATOR, "/contacts/representatives"),
    PageType("representative-new", COORDINATOR, "/contacts/representatives/new",
             errors_by="Add legal representative"),
    PageType("account-tokens", CLINICIAN, "/account/tokens", errors_by="Make the token"),
    PageType("api-docs", CLINICIAN, "/api/v1/docs"),
    PageType("refused", OTHER_CLINICIAN, PERSON, status=403),
    PageType("not-found", COORDINATOR, "/people/NOPE-0000", status=404),
    PageType("admin-audit", ADMIN, "/admin/audit", pending=True, quotes_codes=True),
    PageType("reports", RESEARCHER, "/reports", pending=True),
    PageType("reports-summary", RESEARCHER, "/reports/summary", errors_by="Release the summary",
             choosing={"Period": ""}, pending=True),
    PageType("reports-releases", RESEARCHER, "/reports/releases", pending=True),
    PageType("reports-narratives", COORDINATOR, "/reports/narratives", pending=True),
]


@pytest.mark.parametrize("page_type", PAGES, ids=[p.name for p in PAGES])
def test_page_type(page_type: PageType, page_as, live_server, demo, shots) -> None:  # type: ignore[no-untyped-def]
    path = page_type.path.format(**demo)
    if page_type.pending and live_server.status(path) == 404:
        pytest.skip(f"{path} answers 404: not built yet")
    page = page_as(page_type.user)
    response = page.goto(path)
    assert response is not None and response.status == page_type.status, (path, response and response.status)
    assert page.locator("h1").count() == 1, f"{path} should have exactly one main heading"
    helpers.assert_accessible(page, page_type.name)
    if not page_type.quotes_codes:
        helpers.assert_plain_words(page, page_type.name)
    helpers.assert_hints_are_read_with_their_fields(page, page_type.name)
    shots.take(page, page_type.name)
    page.set_viewport_size({"width": 320, "height": 640})
    helpers.assert_no_horizontal_scroll(page, page_type.name)
    page.set_viewport_size({"width": helpers.DESKTOP[0], "height": helpers.DESKTOP[1]})

    if page_type.errors_by is None:
        return
    if page_type.opening:
        page.get_by_text(page_type.opening, exact=True).click()
    for label, text in page_type.typing.items():
        page.get_by_label(label, exact=True).fill(text)
    for label, value in page_type.choosing.items():
        page.get_by_label(label, exact=True).select_option(value=value)
    with page.expect_navigation():
        page.get_by_role("button", name=page_type.errors_by, exact=True).click()
    helpers.assert_error_summary(page, f"{page_type.name} with errors")
    for invalid in page.locator("[aria-invalid=true]").all():
        described = invalid.get_attribute("aria-describedby") or ""
        assert "-error" in described, f"{page_type.name}: an invalid field does not point to its message"
    helpers.assert_accessible(page, f"{page_type.name} with errors")
    helpers.assert_plain_words(page, f"{page_type.name} with errors")
    helpers.assert_hints_are_read_with_their_fields(page, f"{page_type.name} with errors")
    shots.take(page, f"{page_type.name}-errors", full_page=False)  # the summary at the top is what matters
    page.set_viewport_size({"width": 320, "height": 640})
    helpers.assert_no_horizontal_scroll(page, f"{page_type.name} with errors")


def test_possible_duplicate_warning(page_as, live_server, shots) -> None:  # type: ignore[no-untyped-def]
    """Adding someone who looks like a person already recorded stops and shows who, before anything is saved."""
    year, reference = live_server.query(
        "SELECT birth_year, reference FROM people WHERE birth_year IS NOT NULL ORDER BY id LIMIT 1")[0]
    page = page_as(COORDINATOR)
    # Names are sealed at rest: read them as staff do, from the person's page ("FAMILY, Given names").
    page.goto(f"/people/{reference}")
    family, given = page.locator("h1.person-header__name").inner_text().split(", ", 1)
    page.goto("/people/new")
    page.get_by_label("Given names").fill(given)
    page.get_by_label("Family name").fill(family)
    page.get_by_label("How well is the age known?").select_option(label="Year known")
    page.get_by_label("Year of birth").fill(str(year))
    with page.expect_navigation():
        page.get_by_role("button", name="Add person").click()
    warning = page.locator("#duplicates")
    assert warning.is_visible()
    assert page.evaluate("() => document.activeElement.id") == "duplicates", "the warning does not take focus"
    assert warning.get_by_role("link", name=reference).count() == 1
    assert page.get_by_role("button", name="This is a different person: add the record").is_visible()
    helpers.assert_accessible(page, "possible duplicate")
    helpers.assert_plain_words(page, "possible duplicate")
    shots.take(page, "person-new-duplicate", full_page=False)
    page.set_viewport_size({"width": 320, "height": 640})
    helpers.assert_no_horizontal_scroll(page, "possible duplicate")


def test_released_summary_page(page_as, live_server, shots) -> None:  # type: ignore[no-untyped-def]
    if live_server.status("/reports/summary") == 404:
        pytest.skip("/reports/summary answers 404: the summaries page is not built yet")
    page = page_as(RESEARCHER)
    page.goto("/reports/summary")
    page.get_by_label("Format").select_option(label="On screen")
    with page.expect_navigation():
        page.get_by_role("button", name="Release the summary").click()
    assert "/reports/releases/" in page.url
    assert page.locator("table").count() > 3, "the released summary shows no tables"
    helpers.assert_accessible(page, "a released summary")
    helpers.assert_plain_words(page, "a released summary")
    shots.take(page, "reports-release")
    page.set_viewport_size({"width": 320, "height": 640})
    helpers.assert_no_horizontal_scroll(page, "a released summary")


def test_import_mapping_and_dry_run_pages(page_as, live_server, shots) -> None:  # type: ignore[no-untyped-def]
    """The two import pages that need an uploaded file ("import-mapping", "import-dry-run"): the demo CSV,
    uploaded as a coordinator would, mapped as guessed, and checked."""
    from pathlib import Path

    demo_csv = Path(__file__).resolve().parents[2] / "docs" / "import" / "demo-caseload.csv"
    page = page_as(COORDINATOR)
    page.goto("/admin/import")
    page.get_by_label("Spreadsheet", exact=True).set_input_files(str(demo_csv))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and read", exact=True).click()
    for name, button in (("import-mapping", "Check the file (dry run)"), ("import-dry-run", None)):
        assert page.locator("h1").count() == 1, f"{name} should have exactly one main heading"
        helpers.assert_accessible(page, name)
        # Words are not checked: both pages quote dates as the spreadsheet writes them ("03/04/1990 is 3 April").
        helpers.assert_hints_are_read_with_their_fields(page, name)
        shots.take(page, name)
        page.set_viewport_size({"width": 320, "height": 640})
        helpers.assert_no_horizontal_scroll(page, name)
        page.set_viewport_size({"width": helpers.DESKTOP[0], "height": helpers.DESKTOP[1]})
        if button:
            with page.expect_navigation():
                page.get_by_role("button", name=button, exact=True).click()
    assert "Row 5: date of birth 31/02/1991 is not a date." in page.content()


def test_an_import_runs_on_the_real_server_and_its_page_follows_it_to_the_end(page_as, live_server, tmp_path):  # type: ignore[no-untyped-def]
    """The import runs after its request has answered, in the server's own worker: the run page refreshes
    itself (no JavaScript) until the rows are in."""
    sheet = tmp_path / "two-fictional-people.csv"
    sheet.write_text("Given name,Surname,Year of birth\nZebedia,Importova,1971\nQuillon,Importova,1983\n")
    page = page_as(COORDINATOR)
    page.goto("/admin/import")
    page.get_by_label("Spreadsheet", exact=True).set_input_files(str(sheet))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and read", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Check the file (dry run)", exact=True).click()
    assert "No errors: every row can be imported." in page.content()
    if page.get_by_label("I have checked the likely duplicates", exact=False).count():
        page.get_by_label("I have checked the likely duplicates", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Import 2 people", exact=True).click()
    page.get_by_role("heading", name="Records made").wait_for(timeout=30_000)  # through the page's refreshes
    assert "Imported" in page.locator("dl").inner_text()
    assert "People" in page.locator("table").inner_text()
    [(runs,)] = live_server.query("SELECT count(*) FROM import_runs WHERE status = 'completed' AND created_people = 2")
    assert runs == 1
    helpers.assert_accessible(page, "import-done")
