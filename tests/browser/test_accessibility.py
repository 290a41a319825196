"""What axe-core cannot judge alone: where focus goes and whether it can be seen, and the pages at 200% zoom."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import helpers
from tests.browser.helpers import COORDINATOR, Keyboard

FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {tag: el.tagName, text: (el.innerText || el.value || el.id || '').trim().slice(0, 40),
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0, shadow: s.boxShadow !== 'none',
          width: r.width, height: r.height};
}"""


def test_every_tab_stop_on_the_person_page_shows_where_focus_is(page_as, demo) -> None:  # type: ignore[no-untyped-def]
    page = page_as(COORDINATOR)
    page.goto(f"/people/{demo['person'].ref}")
    seen = 0
    for _ in range(60):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state is None:
            break
        seen += 1
        assert state["outline"] or state["shadow"], f"no visible focus on tab stop {seen}: {state}"
        assert state["width"] > 0 and state["height"] > 0, f"tab stop {seen} is invisible: {state}"
    assert seen >= 20, f"only {seen} tab stops on the person page"


def test_the_skip_link_is_first_and_moves_focus_to_the_content(page_as) -> None:  # type: ignore[no-untyped-def]
    page = page_as(COORDINATOR)
    page.goto("/people")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is off screen"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # The next stop after skipping is inside the content, not the header's links.
    in_main = page.evaluate("() => document.getElementById('main').contains(document.activeElement)")
    assert in_main


def test_error_summary_links_take_focus_to_their_fields(page_as) -> None:  # type: ignore[no-untyped-def]
    page = page_as(COORDINATOR)
    page.goto("/people/new")
    page.get_by_role("button", name="Add person").click()
    messages = helpers.assert_error_summary(page, "add a person")
    assert "Enter given names." in messages and "Enter family name." in messages
    keyboard = Keyboard(page)
    for name, field_id in (("Enter family name.", "f-family_name"), ("Enter given names.", "f-given_names")):
        keyboard.click(page.locator("#error-summary").get_by_role("link", name=name))
        expect(page.locator(f"#{field_id}")).to_be_focused()
        hint = page.locator(f"#{field_id}").get_attribute("aria-describedby") or ""
        assert f"{field_id}-error" in hint.split(), f"{field_id} does not point to its error message"


def test_sign_in_errors_keep_the_e_mail_and_never_the_password(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto("/login")
    page.get_by_label("E-mail address").fill("nobody-here@example.org")
    page.get_by_label("Password").fill("not the right password")
    page.get_by_role("button", name="Sign in").click()
    helpers.assert_error_summary(page, "sign-in with a wrong password")
    expect(page.get_by_label("E-mail address")).to_have_value("nobody-here@example.org")
    expect(page.get_by_label("Password")).to_have_value("")
    helpers.assert_accessible(page, "sign-in with a wrong password")


ZOOMED = ["/", "/people", "/people/{person.ref}", "/people/new", "/people/{person.ref}/visits/new"]


@pytest.mark.parametrize("path", ZOOMED)
def test_pages_work_at_200_percent_zoom(path: str, new_page, demo) -> None:  # type: ignore[no-untyped-def]
    # 200% zoom on a 1366 x 768 screen leaves 683 x 384 CSS pixels, each drawn with two device pixels.
    page = new_page(COORDINATOR, width=683, height=384, scale=2)
    page.goto(path.format(**demo))
    helpers.assert_no_horizontal_scroll(page, f"{path} at 200% zoom")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="People", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
