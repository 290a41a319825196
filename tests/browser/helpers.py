"""What the browser tests share: signing in, axe checks, screenshots, and two ways of using a page (pointer and
keyboard) so that one journey can be walked both ways."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page
else:
    Locator = Page = object

TIME_ZONE = "Europe/London"
DEMO_PASSWORD = "demo-casework-2026"
ADMIN = "admin@example.org"
COORDINATOR = "coordinator@example.org"
CLINICIAN = "clinician@example.org"
CLINICIAN_NAME = "Dr Demo Clinician (fictional)"
OTHER_CLINICIAN = "clinician2@example.org"
RESEARCHER = "researcher@example.org"

DESKTOP = (1366, 768)
PHONE = (390, 844)
SCREENSHOTS_TAKEN: list[Path] = []
# Serious and critical findings fail the test; moderate and minor ones are gathered here and listed at the end.
BLOCKING_IMPACTS = ("serious", "critical")
AXE_NOTED: dict[str, set[str]] = {}


def today() -> date:
    """The organisation's today, which is what the detention clock counts to."""
    return datetime.now(ZoneInfo(TIME_ZONE)).date()


def display_date(value: date) -> str:
    """The one date format every page uses (3 Mar 2026)."""
    return f"{value.day} {value:%b %Y}"


# --- signing in ----------------------------------------------------------------------------------

def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


# --- accessibility -------------------------------------------------------------------------------

_AXE = None


def axe_violations(page: Page) -> list[dict]:
    global _AXE
    from axe_playwright_python.sync_playwright import Axe

    if _AXE is None:
        _AXE = Axe()
    return _AXE.run(page).response["violations"]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:8])
        more = f" (+{len(v['nodes']) - 8} more)" if len(v["nodes"]) > 8 else ""
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}\n      at {targets}{more}")
    return "\n".join(lines)


def assert_accessible(page: Page, what: str) -> None:
    """No serious or critical axe-core finding on the page as it is now."""
    violations = axe_violations(page)
    for v in violations:
        if v["impact"] not in BLOCKING_IMPACTS:
            AXE_NOTED.setdefault(f"[{v['impact']}] {v['id']}", set()).add(what)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe-core on {what} ({page.url}):\n{describe_violations(blocking)}"


_OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth;
  // Too wide itself, or holding text too long to wrap (a long word overflows a box that is narrow enough).
  const wide = [...document.body.querySelectorAll('*')].filter(el => el.getBoundingClientRect().right > limit + 0.5
    || (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible' && el.clientWidth > 0));
  // The innermost ones are the cause; their ancestors only inherit the width.
  return wide.filter(el => !wide.some(other => other !== el && el.contains(other))).slice(0, 8).map(el =>
    el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.getAttribute('class') ? '.' + el.getAttribute('class').trim().split(/\\s+/).join('.') : '')
    + ' (' + Math.round(el.getBoundingClientRect().right) + ' px)');
}"""


def assert_no_horizontal_scroll(page: Page, what: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if widths[0] > widths[1]:
        culprits = page.evaluate(_OVERFLOWING)
        raise AssertionError(f"{what} scrolls sideways at {page.viewport_size}: {widths[0]} > {widths[1]} px; "
                             f"too wide: {', '.join(culprits)}")


CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # a stored code such as in_person or 35_3 shown as it is stored
NUMERIC_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")


def assert_plain_words(page: Page, what: str) -> None:
    """What people read has no stored codes and no dates that can be read two ways (03/04/2026)."""
    text = page.locator("main").inner_text()
    codes = sorted(set(CODE.findall(text)) | set(re.findall(r"\b35_[123]\b", text)))
    assert not codes, f"{what} shows codes instead of words: {codes}"
    dates = sorted(set(NUMERIC_DATE.findall(text)))
    assert not dates, f"{what} shows dates in a format other than 3 Mar 2026: {dates}"


_UNLINKED_HINTS = """() => {
  const described = new Set([...document.querySelectorAll('[aria-describedby]')]
    .flatMap(el => el.getAttribute('aria-describedby').split(/\\s+/)));
  return [...document.querySelectorAll('form .field__hint, form .field__error')]
    .filter(el => !el.id || !described.has(el.id)).map(el => el.textContent.trim().slice(0, 60));
}"""


def assert_hints_are_read_with_their_fields(page: Page, what: str) -> None:
    """Every hint and error message in a form is tied to its field, so a screen reader says it with the label."""
    loose = page.evaluate(_UNLINKED_HINTS)
    assert not loose, f"{what}: hints or errors not tied to a field: {loose}"


def assert_error_summary(page: Page, what: str) -> list[str]:
    """The error summary is there, has focus, and every link in it leads to a field on the page.
    Returns the messages."""
    summary = page.locator("#error-summary")
    assert summary.is_visible(), f"{what}: no error summary"
    focused = page.evaluate("() => document.activeElement && document.activeElement.id")
    assert focused == "error-summary", f"{what}: the error summary does not take focus (focus is on {focused!r})"
    messages = []
    for link in summary.locator("a").all():
        href = link.get_attribute("href") or ""
        if href.startswith("#"):
            assert page.locator(href).count() == 1, f"{what}: error link {href} leads to nothing on the page"
        messages.append(link.inner_text())
    assert summary.locator("li").count() > 0, f"{what}: the error summary lists nothing"
    assert page.title().startswith("Error: "), f"{what}: the title does not say there is an error"
    return messages


# --- screenshots ---------------------------------------------------------------------------------

class Screenshots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def take(self, page: Page, name: str, *, full_page: bool = True) -> None:
        """The page at desktop and phone sizes (whole length unless told); the page is left at desktop size."""
        for width, height in (DESKTOP, PHONE):
            page.set_viewport_size({"width": width, "height": height})
            path = self.folder / f"{name}-{width}x{height}.png"
            page.screenshot(path=str(path), full_page=full_page)
            SCREENSHOTS_TAKEN.append(path)
        page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})


# --- pointer and keyboard ------------------------------------------------------------------------

class Pointer:
    """Uses the page as most people do: clicks and typing into fields."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def click(self, target: Locator) -> None:
        target.click()

    def follow(self, link: Locator) -> None:
        """Follow a link (or send a form) and wait for the next page."""
        with self.page.expect_navigation():
            self.click(link)

    submit = follow

    def fill(self, field: Locator, text: str) -> None:
        field.fill(text)

    def fill_date(self, field: Locator, value: date) -> None:
        field.fill(value.isoformat())

    def choose(self, field: Locator, label: str) -> None:
        field.select_option(label=label)

    def attach(self, field: Locator, path: Path) -> None:
        field.set_input_files(str(path))


class Keyboard(Pointer):
    """Uses the page with Tab, Enter, Space, arrow keys and typing only: never the mouse, never a programmatic
    focus. Reaching an element by Tab is itself the check that it is in the focus order, and each element reached
    must show that it has focus."""

    MAX_TABS = 250

    def focus(self, target: Locator) -> None:
        target.wait_for(state="visible")
        # One handle for the whole walk: finding the element again after every key press doubles the time.
        element = target.element_handle()
        for _ in range(self.MAX_TABS):
            if element.evaluate("el => el === document.activeElement"):
                self._assert_focus_visible(target)
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"{target} could not be reached with the Tab key")

    def _assert_focus_visible(self, target: Locator) -> None:
        style = target.evaluate(
            "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }")
        outline_style, outline_width, shadow = style
        shown = (outline_style != "none" and outline_width not in ("0px", "")) or shadow != "none"
        assert shown, f"{target} has no visible focus indicator ({style})"

    def click(self, target: Locator) -> None:
        self.focus(target)
        tag, kind = target.evaluate("el => [el.tagName, el.type || '']")
        self.page.keyboard.press("Space" if tag == "INPUT" and kind in ("checkbox", "radio") else "Enter")

    def fill(self, field: Locator, text: str) -> None:
        self.focus(field)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.type(text)

    def fill_date(self, field: Locator, value: date) -> None:
        # Headless Chromium lays a date field out month, day, year whatever the locale, and moves on to the
        # next part by itself as each is typed; the check below catches a browser that orders them otherwise.
        self.focus(field)
        self.page.keyboard.type(f"{value:%m%d%Y}")
        typed = field.input_value()
        assert typed == value.isoformat(), f"typed {value} into {field} but it holds {typed!r}"

    def choose(self, field: Locator, label: str) -> None:
        self.focus(field)
        options = field.evaluate("el => Array.from(el.options).map(o => o.text.trim())")
        assert label in options, f"{label!r} is not offered in {field}: {options}"
        self.page.keyboard.press("Home")
        element = field.element_handle()
        for _ in range(len(options)):
            if element.evaluate("el => el.options[el.selectedIndex].text.trim()") == label:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"could not choose {label!r} in {field} with the arrow keys")

    def attach(self, field: Locator, path: Path) -> None:
        # The file picker opens from the keyboard; the test answers it as a person would by choosing the file.
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        self.focus(field)
        try:
            with self.page.expect_file_chooser(timeout=5_000) as chooser:
                self.page.keyboard.press("Space")
        except PlaywrightTimeoutError:
            # A busy machine can swallow the first key press on a file input; Enter opens the picker too.
            self.focus(field)
            with self.page.expect_file_chooser() as chooser:
                self.page.keyboard.press("Enter")
        chooser.value.set_files(str(path))
