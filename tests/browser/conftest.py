"""Browser tests: the real server on its own SQLite file with demo data, driven by the system's Chromium.

The server and its database belong to this folder alone, so these tests run the same way whichever database
the rest of the suite uses, and they never touch the suite's test database (hence the `no_database` mark).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import helpers

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
CHROMIUM = Path(os.environ.get("CASEWORK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Enough demo people for the dashboard and the lists to look like a working day, and for a quarter's summary to
# count the 2k people a release needs; few enough to seed in seconds.
DEMO_PEOPLE = 120


def screenshot_dir() -> Path:
    configured = os.environ.get("CASEWORK_SCREENSHOT_DIR")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "var" / "screenshots"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.no_database)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if helpers.AXE_NOTED:
        terminalreporter.write_sep("-", "axe-core: moderate and minor findings (not failures)")
        for rule, pages in sorted(helpers.AXE_NOTED.items()):
            terminalreporter.write_line(f"{rule} on {len(pages)} pages: {', '.join(sorted(pages)[:6])}")
    if helpers.SCREENSHOTS_TAKEN:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(
            f"{len(set(helpers.SCREENSHOTS_TAKEN))} screenshots of the pages are in {screenshot_dir()}")


def _require_browser() -> bool:
    return os.environ.get("CASEWORK_REQUIRE_BROWSER") == "1"


def _no_browser(reason: str) -> None:
    if _require_browser():
        pytest.fail(f"{reason} CASEWORK_REQUIRE_BROWSER=1, so the browser tests may not be skipped.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        _no_browser(f"No Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(Debian or Ubuntu) to run the browser tests.")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _no_browser("Playwright is not installed: run `make test` (or pip install -e '.[dev]').")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _casework_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("casework")
    # Outside the project's virtualenv the console script may be missing: run the module the same way.
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "app.cli", *args]


def _casework(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(_casework_command(*args), env=env, cwd=PROJECT_ROOT,  # noqa: S603 (our own command)
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"casework {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@dataclass(frozen=True)
class Record:
    ref: str  # the person's reference (or a name, for users and reference data)
    id: int


class LiveServer:
    def __init__(self, base_url: str, database_url: str, log: Path) -> None:
        self.base_url = base_url
        self.database_url = database_url
        self.log = log

    def url(self, path: str) -> str:
        return self.base_url + path

    def status(self, path: str) -> int:
        """The status of an anonymous GET: enough to know whether a route exists yet."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=10) as response:  # noqa: S310 (loopback only)
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def query(self, sql: str, **params: object) -> list[tuple]:
        """Read the server's own database (never the test suite's)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()


@pytest.fixture(scope="package")
def live_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("browser-server")
    port = _free_port()
    database_url = f"sqlite:///{root / 'browser.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update({
        "CASEWORK_ENVIRONMENT": "test",
        "CASEWORK_DATABASE_URL": database_url,
        "CASEWORK_VAR_DIR": str(root / "var"),
        "CASEWORK_SECRET_KEY": "browser-tests-secret-key-0123456789-abcdefghij",
        "CASEWORK_HOST": "127.0.0.1",
        "CASEWORK_PORT": str(port),
        "CASEWORK_WORKERS": "1",
        "CASEWORK_TIME_ZONE": helpers.TIME_ZONE,
        # The journeys sign in with a password alone; two-factor sign-in has its own tests.
        "CASEWORK_MFA_REQUIRED": "false",
    })
    _casework(env, "migrate")
    _casework(env, "seed-demo", "--people", str(DEMO_PEOPLE), "--seed", "2026")
    log = root / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(_casework_command("serve"), env=env, cwd=PROJECT_ROOT,  # noqa: S603 (our own command)
                                   stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped at start-up:\n{log.read_text()}")
            try:
                if server.status("/healthz") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def shots() -> helpers.Screenshots:
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return helpers.Screenshots(folder)


def _context(browser, live_server: LiveServer, *, javascript: bool = True, width: int = helpers.DESKTOP[0],  # type: ignore[no-untyped-def]
             height: int = helpers.DESKTOP[1], scale: float = 1, storage_state: dict | None = None):
    context = browser.new_context(
        base_url=live_server.base_url, java_script_enabled=javascript, locale="en-GB", timezone_id=helpers.TIME_ZONE,
        viewport={"width": width, "height": height}, device_scale_factor=scale, accept_downloads=True,
        storage_state=storage_state,
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture(scope="package")
def signed_in_state(browser, live_server: LiveServer) -> Callable[[str], dict]:  # type: ignore[no-untyped-def]
    """The cookies of a signed-in session per account, made once: signing in is slow on purpose (argon2)."""
    states: dict[str, dict] = {}

    def state(email: str) -> dict:
        if email not in states:
            context = _context(browser, live_server)
            helpers.sign_in(context.new_page(), email)
            states[email] = context.storage_state()
            context.close()
        return states[email]

    return state


@pytest.fixture(scope="package")
def page_as(browser, live_server: LiveServer, signed_in_state) -> Iterator[Callable[[str | None], helpers.Page]]:  # type: ignore[no-untyped-def]
    """One long-lived page per account for the page tour, which only reads: a new browser context for each of
    fifty pages would cost more than the pages themselves."""
    pages: dict[str | None, helpers.Page] = {}

    def page(user: str | None) -> helpers.Page:
        if user not in pages:
            context = _context(browser, live_server, storage_state=signed_in_state(user) if user else None)
            pages[user] = context.new_page()
        return pages[user]

    yield page
    for tab in pages.values():
        tab.context.close()


@pytest.fixture
def new_page(browser, live_server: LiveServer, signed_in_state) -> Iterator[Callable[..., helpers.Page]]:  # type: ignore[no-untyped-def]
    """A page in a fresh browser context (its own cookies), signed in as `user` if given; closed after the test."""
    contexts = []

    def make(user: str | None = None, **options) -> helpers.Page:  # type: ignore[no-untyped-def]
        context = _context(browser, live_server, storage_state=signed_in_state(user) if user else None, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def demo(live_server: LiveServer) -> dict[str, Record]:
    """Records of the demo data that the page tour opens, read straight from the server's own database.
    Where it can, each comes from one well-filled person (detained, assigned to the demo clinician) so that the
    screenshots show a realistic case."""
    found: dict[str, Record] = {}
    queries = {
        "person": """
            SELECT p.reference, p.id FROM people p
            JOIN assignments a ON a.person_id = p.id AND a.ended_at IS NULL
            JOIN users u ON u.id = a.clinician_id AND u.email = :clinician
            JOIN detention_episodes d ON d.person_id = p.id AND d.end_date IS NULL
            WHERE NOT EXISTS (SELECT 1 FROM assignments a2 JOIN users u2 ON u2.id = a2.clinician_id
                              WHERE a2.person_id = p.id AND a2.ended_at IS NULL AND u2.email = :other_clinician)
            ORDER BY (SELECT count(*) FROM visits v WHERE v.person_id = p.id)
                   + (SELECT count(*) FROM evidence_items e WHERE e.person_id = p.id)
                   + (SELECT count(*) FROM rule35_records r WHERE r.person_id = p.id)
                   + (SELECT count(*) FROM referrals r WHERE r.person_id = p.id)
                   + (SELECT count(*) FROM health_events h WHERE h.person_id = p.id) DESC, p.id""",
        "open_request": "SELECT reference, id FROM requests WHERE decision IS NULL ORDER BY id",
        "episode": "SELECT p.reference, d.id FROM detention_episodes d JOIN people p ON p.id = d.person_id "
                   "WHERE d.end_date IS NULL ORDER BY p.id = :showcase DESC, d.id",
        "not_detained": "SELECT p.reference, p.id FROM people p WHERE NOT EXISTS (SELECT 1 FROM detention_episodes d "
                        "WHERE d.person_id = p.id AND d.end_date IS NULL) ORDER BY p.id",
        "signed_visit": "SELECT p.reference, v.id FROM visits v JOIN people p ON p.id = v.person_id "
                        "WHERE v.status = 'signed' ORDER BY p.id = :showcase DESC, v.visit_date DESC",
        "draft_visit": "SELECT p.reference, v.id FROM visits v JOIN people p ON p.id = v.person_id "
                       "JOIN users u ON u.id = v.clinician_id AND u.email = :clinician "
                       "WHERE v.status = 'draft' ORDER BY p.id = :showcase DESC, v.id",
        "evidence": "SELECT p.reference, e.id FROM evidence_items e JOIN people p ON p.id = e.person_id "
                    "WHERE EXISTS (SELECT 1 FROM findings f WHERE f.evidence_item_id = e.id) "
                    "ORDER BY p.id = :showcase DESC, e.id",
        "rule35": "SELECT p.reference, r.id FROM rule35_records r JOIN people p ON p.id = r.person_id "
                  "ORDER BY p.id = :showcase DESC, r.id",
        "draft_referral": "SELECT p.reference, r.id FROM referrals r JOIN people p ON p.id = r.person_id "
                          "WHERE r.status = 'draft' ORDER BY p.id = :showcase DESC, r.id",
        "sent_referral": "SELECT p.reference, r.id FROM referrals r JOIN people p ON p.id = r.person_id "
                         "WHERE r.status = 'sent' ORDER BY p.id = :showcase DESC, r.id",
        "nrm_referral": "SELECT p.reference, r.id FROM referrals r JOIN people p ON p.id = r.person_id "
                        "JOIN nrm_referrals n ON n.referral_id = r.id ORDER BY p.id = :showcase DESC, r.id",
        "consent": "SELECT p.reference, c.id FROM consents c JOIN people p ON p.id = c.person_id "
                   "WHERE c.withdrawn_date IS NULL ORDER BY p.id = :showcase DESC, c.id",
        "health_event": "SELECT p.reference, h.id FROM health_events h JOIN people p ON p.id = h.person_id "
                        "WHERE h.ended_at IS NULL ORDER BY p.id = :showcase DESC, h.id",
        "drafting_report": "SELECT p.reference, r.id FROM medicolegal_reports r JOIN people p ON p.id = r.person_id "
                           "WHERE r.state = 'drafting' ORDER BY p.id = :showcase DESC, r.id",
        "review_report": "SELECT p.reference, r.id FROM medicolegal_reports r JOIN people p ON p.id = r.person_id "
                         "WHERE r.state = 'in_review' ORDER BY p.id = :showcase DESC, r.id",
        "approved_report": "SELECT p.reference, r.id FROM medicolegal_reports r JOIN people p ON p.id = r.person_id "
                           "JOIN users u ON u.id = r.author_id AND u.email = :other_clinician "
                           "WHERE r.state = 'in_review' AND r.approved_at IS NOT NULL ORDER BY r.id",
        "signed_report": "SELECT p.reference, r.id FROM medicolegal_reports r JOIN people p ON p.id = r.person_id "
                         "WHERE r.state IN ('signed', 'served') ORDER BY p.id = :showcase DESC, r.id",
        "draft_letter": "SELECT p.reference, l.id FROM letters l JOIN people p ON p.id = l.person_id "
                        "WHERE l.state = 'draft' ORDER BY p.id = :showcase DESC, l.id",
        "issued_letter": "SELECT p.reference, l.id FROM letters l JOIN people p ON p.id = l.person_id "
                         "WHERE l.state = 'issued' ORDER BY p.id = :showcase DESC, l.id",
        "user": "SELECT email, id FROM users WHERE email = :other_clinician",
        "facility": "SELECT name, id FROM facilities WHERE is_active ORDER BY name",
        "organisation": "SELECT name, id FROM organisations WHERE is_active ORDER BY name",
    }
    params = {"clinician": helpers.CLINICIAN, "other_clinician": helpers.OTHER_CLINICIAN, "showcase": -1}
    for name, sql in queries.items():
        rows = live_server.query(sql + " LIMIT 1", **params)
        assert rows, f"the demo data has no {name.replace('_', ' ')} for the page tour"
        found[name] = Record(*rows[0])
        if name == "person":
            params["showcase"] = rows[0][1]
    return found
