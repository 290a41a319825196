"""What volunteers do, start to finish, in a real browser: a coordinator opens a case and watches its clock, a
clinician records a visit, consent and a referral, a refusal for someone not assigned, and a researcher's summary.
The main journey is walked three ways: with a pointer, with JavaScript switched off, and with the keyboard alone."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import helpers
from tests.browser.helpers import CLINICIAN, CLINICIAN_NAME, COORDINATOR, OTHER_CLINICIAN, RESEARCHER, Keyboard, Pointer

FACILITY = "Brook House"


def scar_photo(folder: Path) -> Path:
    """A small, obviously synthetic 'photograph': shapes on a plain background, no real body or person."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (231, 214, 196))
    draw = ImageDraw.Draw(image)
    draw.line([(60, 120), (260, 110)], fill=(150, 80, 70), width=6)
    draw.line([(80, 150), (240, 140)], fill=(160, 90, 80), width=4)
    draw.rectangle([(10, 200), (110, 230)], outline=(0, 0, 0), width=2)  # a scale ruler, as in a real photo
    path = folder / "synthetic-scar-left-forearm.jpg"
    image.save(path, "JPEG", quality=80)
    return path


def flash(page: helpers.Page) -> helpers.Locator:
    return page.locator(".notice[role=status]").first


def sign_in(d: Pointer, email: str) -> None:
    page = d.page
    page.goto("/login")
    d.fill(page.get_by_label("E-mail address"), email)
    d.fill(page.get_by_label("Password"), helpers.DEMO_PASSWORD)
    d.submit(page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(d: Pointer) -> None:
    d.submit(d.page.get_by_role("button", name="Sign out"))
    expect(d.page.get_by_role("heading", name="Sign in")).to_be_visible()


def nav(d: Pointer, name: str) -> None:
    d.follow(d.page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True))


def alert_count(page: helpers.Page, rule_id: str) -> int:
    text = page.locator(f'a[href="/people?alert={rule_id}"]').first.inner_text()
    return int(re.match(r"\d+", text).group())


def add_person(d: Pointer, given: str, family: str) -> str:
    page = d.page
    nav(d, "People")
    d.follow(page.get_by_role("link", name="Add a person"))
    d.fill(page.get_by_label("Given names"), given)
    d.fill(page.get_by_label("Family name"), family)
    d.choose(page.get_by_label("Nationality"), "Eritrea")
    d.choose(page.get_by_label("How well is the age known?"), "Year known")
    d.fill(page.get_by_label("Year of birth"), "1994")
    d.submit(page.get_by_role("button", name="Add person"))
    expect(flash(page)).to_contain_text("created")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{family.upper()}, {given}")
    return page.locator(".person-header__meta .reference").inner_text()


def open_case(d: Pointer, given: str, family: str) -> str:
    """The coordinator's part: a new person, detained 40 days ago, assigned a clinician, on the dashboard's
    28-day alert. Returns the person's reference."""
    page = d.page
    sign_in(d, COORDINATOR)
    before = alert_count(page, "detained_28_days")
    reference = add_person(d, given, family)

    started = helpers.today() - timedelta(days=40)
    d.follow(page.get_by_role("link", name="Record a detention"))
    d.choose(page.get_by_label("Facility"), FACILITY)
    d.fill_date(page.get_by_label("Date detained"), started)
    d.submit(page.get_by_role("button", name="Record a detention"))
    main_clock = page.locator(".clock__item--main")
    # Day 1 is the day of detention, so 40 days ago is day 41.
    expect(main_clock.locator(".clock__value")).to_have_text("41")
    expect(main_clock).to_contain_text(f"since {helpers.display_date(started)}")
    expect(page.locator(".alert-list")).to_contain_text("Detained over 28 days")

    d.choose(page.get_by_label("Assign a clinician"), CLINICIAN_NAME)
    d.submit(page.get_by_role("button", name="Assign", exact=True))
    expect(flash(page)).to_have_text("Clinician assigned.")
    expect(page.locator("#assignments-section .plain-list")).to_contain_text(CLINICIAN_NAME)

    nav(d, "Home")
    assert alert_count(page, "detained_28_days") == before + 1
    d.follow(page.locator('a[href="/people?alert=detained_28_days"]').first)
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Detained over 28 days")
    expect(row).to_contain_text("41")
    sign_out(d)
    return reference


def record_visit(d: Pointer, given: str, family: str, photo: Path) -> None:
    """The clinician's part: find the person, log a visit, add a photograph, sign the visit, add an addendum."""
    page = d.page
    sign_in(d, CLINICIAN)
    nav(d, "People")
    d.fill(page.get_by_label("Name, reference or Home Office reference"), family.lower())
    d.submit(page.get_by_role("button", name="Show"))
    expect(page.get_by_role("status").filter(has_text="person")).to_have_text("1 person")
    d.follow(page.get_by_role("link", name=f"{family.upper()}, {given}"))

    d.follow(page.get_by_role("link", name="Log a visit"))
    d.fill_date(page.get_by_label("Date of the visit"), helpers.today())
    d.choose(page.get_by_label("Facility", exact=True), FACILITY)
    d.choose(page.get_by_label("How the visit was made"), "In person")
    d.fill(page.get_by_label("Presenting concerns"), "Poor sleep and flashbacks since arrival (fictional test visit).")
    d.fill(page.get_by_label("Findings", exact=True), "Two healed linear scars on the left forearm.")
    d.choose(page.get_by_label("Self-harm or suicide risk"), "Low")
    d.submit(page.get_by_role("button", name="Save as a draft"))
    expect(flash(page)).to_contain_text("Visit saved as a draft")
    expect(page.locator(".tag", has_text="Draft")).to_be_visible()

    d.follow(page.get_by_role("link", name="Documents and photographs for this visit"))
    d.attach(page.get_by_label("Upload a file"), photo)
    d.submit(page.get_by_role("button", name="Upload", exact=True))
    expect(flash(page)).to_have_text("File uploaded.")
    expect(page.get_by_role("row").filter(has_text=photo.name)).to_contain_text("JPEG")

    d.follow(page.get_by_role("link", name=re.compile(r"Back to the visit on")))
    d.follow(page.get_by_role("link", name="Check and sign this visit"))
    expect(page.get_by_role("heading", name="Check the visit before you sign it")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Two healed linear scars on the left forearm.")
    d.click(page.get_by_label("I confirm this is an accurate record of my assessment."))
    d.submit(page.get_by_role("button", name="Sign this visit"))
    expect(page.locator(".tag", has_text="Signed").first).to_be_visible()
    expect(page.get_by_role("link", name="Check and sign this visit")).to_have_count(0)
    expect(page.locator(".seal")).to_contain_text("checked now: unchanged")

    addendum = "Scar photographs taken with a scale ruler; see documents (fictional addendum)."
    d.fill(page.get_by_label("Addendum"), addendum)
    d.submit(page.get_by_role("button", name="Add the addendum"))
    expect(flash(page)).to_have_text("Addendum added.")
    expect(page.locator("#addenda-section")).to_contain_text(addendum)
    expect(page.locator("#addenda-section")).to_contain_text("Dr Demo Clinician (fictional)")

    d.follow(page.get_by_role("link", name=re.compile(rf"Back to {family.upper()}, {given}")))
    today = helpers.display_date(helpers.today())
    visit_row = page.locator("#visits-section").get_by_role("row").filter(has_text=today)
    expect(visit_row).to_contain_text("Signed")
    expect(visit_row).to_contain_text("In person")
    sign_out(d)


WAYS = {
    "pointer": ({}, Pointer, ("Testina", "Pointerby")),
    "no-javascript": ({"javascript": False}, Pointer, ("Testina", "Nojavasky")),
    "keyboard-only": ({}, Keyboard, ("Testina", "Keyboardson")),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_main_journey(way: str, new_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    options, driver, (given, family) = WAYS[way]
    page = new_page(**options)
    d = driver(page)
    open_case(d, given, family)
    record_visit(d, given, family, scar_photo(tmp_path))


def test_coordinator_records_consent_and_makes_a_referral(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    d = Pointer(page)
    sign_in(d, COORDINATOR)
    add_person(d, "Consenta", "Referralton")
    organisation = "Freedom from Torture"

    d.follow(page.get_by_role("link", name="Record consent", exact=True))
    d.choose(page.get_by_label("What the consent is for"), "Anonymised research")
    d.fill_date(page.get_by_label("Date consent was given"), helpers.today())
    d.choose(page.get_by_label("How consent was given"), "Verbal")
    d.submit(page.get_by_role("button", name="Record consent"))
    expect(page.locator("#consent-section")).to_contain_text("Anonymised research")

    d.follow(page.get_by_role("link", name="Make a referral"))
    d.choose(page.get_by_label("Organisation"), f"{organisation} (Torture rehabilitation)")
    d.fill(page.get_by_label("Reason for the referral"), "Torture survivor needing specialist support (fictional).")
    d.submit(page.get_by_role("button", name="Save draft referral"))
    expect(flash(page)).to_contain_text("Referral drafted")
    expect(page.locator("#consent-state")).to_contain_text(f"No current consent to share with {organisation}")

    # Sending is refused without consent, and the refusal says what to do.
    d.fill_date(page.get_by_label("Date the referral was made"), helpers.today())
    d.submit(page.get_by_role("button", name="Record as sent"))
    expect(page.locator("#error-summary")).to_contain_text("The referral was not sent")
    expect(page.locator("#referral-status")).to_have_text("Draft, not sent")

    d.follow(page.locator("#error-summary").get_by_role("link", name=f"Record consent to share with {organisation}"))
    expect(page.get_by_label("What the consent is for")).to_have_value("share_with_organisation")
    d.fill_date(page.get_by_label("Date consent was given"), helpers.today())
    d.choose(page.get_by_label("How consent was given"), "Written, with an interpreter")
    d.fill(page.get_by_label("Interpreter's language"), "Tigrinya")
    d.submit(page.get_by_role("button", name="Record consent"))
    consents = page.locator("#consent-section")
    expect(consents).to_contain_text(f"Share with an organisation: {organisation}")
    expect(consents).to_contain_text("Anonymised research")

    d.follow(page.locator("#referrals-section").get_by_role("link", name=organisation))
    expect(page.locator("#consent-state")).to_contain_text("is recorded and current")
    d.fill_date(page.get_by_label("Date the referral was made"), helpers.today())
    d.submit(page.get_by_role("button", name="Record as sent"))
    expect(flash(page)).to_have_text("Referral recorded as sent.")
    expect(page.locator("#referral-status")).to_have_text("Sent, awaiting response")


def test_a_clinician_not_assigned_is_refused(new_page, demo, live_server) -> None:  # type: ignore[no-untyped-def]
    refusals = ("SELECT count(*) FROM audit_events e JOIN users u ON u.id = e.actor_user_id "
                "WHERE u.email = :email AND e.action = 'security.permission_denied'")
    before = live_server.query(refusals, email=OTHER_CLINICIAN)[0][0]
    coordinator = new_page(COORDINATOR)
    coordinator.goto(f"/people/{demo['person'].ref}")
    family = coordinator.get_by_role("heading", level=1).inner_text().split(",")[0]
    page = new_page(OTHER_CLINICIAN)

    response = page.goto(f"/people/{demo['person'].ref}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    expect(page.locator("main")).to_contain_text("This refusal has been recorded")
    html = page.content()
    assert family not in html and family.title() not in html, "the refusal page must not show who it was about"
    assert live_server.query(refusals, email=OTHER_CLINICIAN)[0][0] == before + 1, "the refusal was not recorded"

    Pointer(page).follow(page.get_by_role("link", name="People", exact=True))
    page.get_by_label("Name, reference or Home Office reference").fill(demo["person"].ref)
    Pointer(page).submit(page.get_by_role("button", name="Show"))
    expect(page.locator("main")).to_contain_text("No one matches")


def test_a_researcher_downloads_a_summary(new_page, live_server) -> None:  # type: ignore[no-untyped-def]
    if live_server.status("/reports/summary") == 404:
        pytest.skip("/reports/summary answers 404: the summaries page is not built yet")
    page = new_page()
    d = Pointer(page)
    sign_in(d, RESEARCHER)
    nav(d, "Reports")
    d.follow(page.get_by_role("link", name="Make an aggregate summary"))
    d.choose(page.get_by_label("Format"), "CSV")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Release the summary").click()
    download = download_info.value
    assert re.fullmatch(r"summary-release-\d+\.csv", download.suggested_filename)
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 5 and any("People seen" in cell for row in rows for cell in row), text[:500]
    page.goto("/reports/releases")
    expect(page.get_by_role("row").filter(has_text="CSV").first).to_be_visible()


def test_coordinator_takes_a_phone_request_and_accepts_it_into_a_new_record(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    d = Pointer(page)
    sign_in(d, COORDINATOR)
    d.follow(page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests"))
    d.follow(page.get_by_role("link", name="Record a request"))
    d.choose(page.get_by_label("How it came in"), "Phone")
    page.get_by_label("A visitor group").check()
    page.get_by_label("Immediate").check()
    page.get_by_label("Food or fluid refusal").check()
    d.fill(page.get_by_label("What they need, in their words"), "Not eating for four days (fictional).")
    d.fill(page.get_by_label("Phone to call back"), "01632 960777")
    d.fill(page.get_by_label("Given names"), "Journa")
    d.fill(page.get_by_label("Family name"), "Intakeperson")
    d.fill(page.get_by_label("Date or year of birth"), "1993")
    d.submit(page.get_by_role("button", name="Record the request"))
    expect(flash(page)).to_contain_text("It is in the triage queue")
    reference = re.search(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}", page.url).group(0)

    d.follow(page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests"))
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    d.follow(page.get_by_role("link", name=reference))
    expect(page.get_by_text("Not eating for four days (fictional).")).to_be_visible()
    page.get_by_label("Accepted").check()
    d.submit(page.get_by_role("button", name="Record the decision"))
    expect(flash(page)).to_contain_text(f"Request {reference} accepted and opened for record")
    expect(page.get_by_role("heading", level=1)).to_have_text("INTAKEPERSON, Journa")
    expect(page.locator("#requests-section")).to_contain_text(reference)
