"""Production mode proven (issue 21 point 4): the real app started as production in its own process, behind the
headers a TLS-terminating proxy sends, on a fresh database the `casework` command migrated itself."""

from __future__ import annotations

import base64
import json
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from app.auth.passwords import verify_password
from app.config import DEMO_PASSWORD, PROJECT_ROOT
from tests.conftest import csrf_from
from tests.test_cli_subprocess import base_env, casework_command, run, succeeded

# Only a database of its own, made by the command under test: the suite's database is never touched here.
pytestmark = pytest.mark.no_database

# A long passphrase sharing nothing with the accounts' names or e-mails, so the password policy accepts it.
PASSPHRASE = "correct horse battery staple fictional 2026"  # noqa: S105 (a fictional test account's password)
# What the proxy says the client's address is: from the documentation range, so never a real person's.
CLIENT_ADDRESS = "203.0.113.21"
USERS = {  # key: (e-mail, role, display name); every one fictional
    "coordinator": ("prod-coordinator@example.org", "coordinator", "Quill Coordinator (test)"),
    "assigned": ("prod-assigned@example.org", "clinician", "Dr Assigned Zebedee (test)"),
    "other": ("prod-other@example.org", "clinician", "Dr Other Yolanda (test)"),
    "admin": ("prod-admin@example.org", "admin", "Xavi Admin (test)"),
    "newcomer": ("prod-newcomer@example.org", "clinician", "Dr Newcomer Wilma (test)"),
    "cookies": ("prod-cookies@example.org", "coordinator", "Vera Cookies (test)"),
}
HSTS_MIN_AGE = 365 * 24 * 3600
API_DOCUMENTATION = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
SECRET_KEY_RE = re.compile(r'<code class="secret-key">([^<]+)</code>')


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header as the server sent it: name, value and its attributes (keys lower-cased)."""

    name: str
    value: str
    attributes: dict[str, str]
    raw: str

    @classmethod
    def parse(cls, raw: str) -> SetCookie:
        first, *rest = raw.split(";")
        name, _, value = first.strip().partition("=")
        attributes = {}
        for part in rest:
            key, _, attribute = part.strip().partition("=")
            attributes[key.lower()] = attribute
        return cls(name, value.strip('"'), attributes, raw)

    @property
    def removes(self) -> bool:
        return self.attributes.get("max-age") == "0"


@dataclass
class Server:
    url: str
    port: int
    env: dict[str, str]
    database: Path
    secret_key: str
    master_key: str
    log: Path
    reference: str = ""

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Read the database directly, never through the application under test."""
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()

    def user_id(self, key: str) -> int:
        return int(self.rows("SELECT id FROM users WHERE email = ?", USERS[key][0])[0][0])

    def people(self) -> int:
        return int(self.rows("SELECT count(*) FROM people")[0][0])

    def audit(self, action: str, actor: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT actor_user_id, outcome, ip_address, details FROM audit_events WHERE action = ?"
        params: list[object] = [action]
        if actor is not None:
            sql += " AND actor_user_id = ?"
            params.append(self.user_id(actor))
        return [{"actor": a, "outcome": o, "ip": ip, "details": json.loads(d) if isinstance(d, str) else d}
                for a, o, ip, d in self.rows(sql + " ORDER BY id", *params)]


@dataclass
class Browser:
    """A browser reaching the app through the TLS-terminating proxy: every request carries what the proxy adds
    (X-Forwarded-Proto: https, the client's address), and cookies are kept as a browser keeps them over HTTPS.
    Every Set-Cookie header the app sends is kept in `seen` for the cookie checks."""

    server: Server
    cookies: dict[str, str] = field(default_factory=dict)
    seen: list[SetCookie] = field(default_factory=list)

    def __post_init__(self) -> None:
        # httpx's own cookie jar would withhold Secure cookies from a plain-http hop; this class keeps them.
        self.client = httpx.Client(base_url=self.server.url, follow_redirects=False, timeout=30)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                data: dict[str, Any] | None = None) -> httpx.Response:
        sent = {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT_ADDRESS, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.client.request(method, path, headers=sent, data=data)
        self.client.cookies.clear()
        for raw in response.headers.get_list("set-cookie"):
            cookie = SetCookie.parse(raw)
            self.seen.append(cookie)
            if cookie.removes:
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie.value
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
        # A browser posting one of our own forms: same-origin, as Sec-Fetch-Site and Origin say.
        headers = {"Origin": self.origin, "Sec-Fetch-Site": "same-origin", **kwargs.pop("headers", {})}
        return self.request("POST", path, headers=headers, data=data, **kwargs)

    def csrf(self, path: str = "/") -> str:
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return csrf_from(page.text)

    def submit_password(self, key: str, password: str = PASSPHRASE) -> httpx.Response:
        token = self.csrf("/login")
        return self.post("/login", {"email": USERS[key][0], "password": password, "next": "/",
                                    "csrf_token": token})

    def sign_in_and_enrol(self, key: str) -> httpx.Response:
        """Password, then two-factor enrolment with a real authenticator's code: the recovery codes page."""
        response = self.submit_password(key)
        assert response.status_code == 303 and response.headers["location"] == "/login/two-factor/setup", (
            response.status_code, response.headers.get("location"))
        page = self.get("/login/two-factor/setup")
        assert page.status_code == 200, page.status_code
        secret = enrolment_secret(page.text)
        done = self.post("/login/two-factor/setup",
                         {"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page.text)})
        assert done.status_code == 200 and "recovery" in done.text.lower(), done.status_code
        return done


def enrolment_secret(html: str) -> str:
    match = SECRET_KEY_RE.search(html)
    assert match, "the enrolment page shows no key to type in"
    return match.group(1).replace(" ", "")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(root: Path, database: Path, secret_key: str, master_key: str | None) -> dict[str, str]:
    env = base_env(root, f"sqlite:///{database}")
    env.update({"CASEWORK_ENVIRONMENT": "production", "CASEWORK_SECRET_KEY": secret_key,
                # Uvicorn takes X-Forwarded-Proto and -For only from the proxy's address (here, loopback).
                "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    env.pop("CASEWORK_MASTER_KEY", None)
    if master_key is not None:
        env["CASEWORK_MASTER_KEY"] = master_key
    return env


def wait_until_listening(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, f"serve stopped at start-up:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        assert time.monotonic() < deadline, f"no 200 from /healthz within 30 s:\n{log.read_text()}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`casework serve` as production: fresh SQLite database, a real secret and master key, test accounts made
    by `casework create-user`, and the demo accounts a development seeding left behind in the same database."""
    root = tmp_path_factory.mktemp("production")
    database = root / "casework.sqlite3"
    secret_key = secrets.token_urlsafe(48)
    # The key is made before production has one, as an operator would: the command needs no key to run.
    keyless = production_env(root, database, secret_key, master_key=None)
    master_key = succeeded(run(keyless, "generate-master-key", "--id", "prod-test")).strip()
    env = production_env(root, database, secret_key, master_key)
    assert "Database is up to date." in succeeded(run(env, "migrate"))
    # A database once seeded for a demo: the accounts with the public demo password are still in it.
    succeeded(run({**env, "CASEWORK_ENVIRONMENT": "test"}, "seed-demo", "--people", "0"))
    with ThreadPoolExecutor(max_workers=len(USERS)) as pool:
        results = pool.map(lambda user: run({**env, "CASEWORK_NEW_USER_PASSWORD": PASSPHRASE}, "create-user",
                                            "--email", user[0], "--role", user[1], "--name", user[2]),
                           USERS.values())
        for result in results:
            succeeded(result)

    port = free_port()
    log = root / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(casework_command("serve"),  # noqa: S603 (our own command)
                                   env={**env, "CASEWORK_PORT": str(port)}, cwd=PROJECT_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_listening(process, url, log)
        yield Server(url, port, env, database, secret_key, master_key, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browsers(server: Server) -> dict[str, Browser]:
    """The coordinator, both clinicians and the admin signed in (each enrolled in two-factor sign-in), and one
    fictional person made by the coordinator through the pages and assigned to one clinician only."""
    signed = {key: Browser(server) for key in ("coordinator", "assigned", "other", "admin")}
    for key, browser in signed.items():
        browser.sign_in_and_enrol(key)
    coordinator = signed["coordinator"]
    created = coordinator.post("/people/new", {"given_names": "Testa", "family_name": "Fictionalperson",
                                               "csrf_token": coordinator.csrf("/people/new")})
    assert created.status_code == 303, created.status_code
    server.reference = created.headers["location"].removeprefix("/people/")
    page = f"/people/{server.reference}"
    assigned = coordinator.post(f"{page}/assignments", {"clinician_id": str(server.user_id("assigned")),
                                                         "csrf_token": coordinator.csrf(page)})
    assert assigned.status_code == 303, assigned.status_code
    return signed


# --- cookies and headers ---------------------------------------------------------------------------

def test_every_cookie_is_host_prefixed_secure_httponly_and_samesite(server: Server):
    browser = Browser(server)
    browser.sign_in_and_enrol("cookies")
    assert browser.get("/").status_code == 200
    signed_out = browser.post("/logout", {"csrf_token": browser.csrf("/")})
    assert signed_out.status_code == 303
    assert browser.get("/login").status_code == 200  # shows the one-shot "signed out" message and clears it

    names = {cookie.name for cookie in browser.seen}
    # The sign-in form's token, the pending two-factor step, the session and the one-shot message.
    assert {"__Host-casework_session", "__Host-casework_mfa_pending"} <= names, names
    assert len(names) >= 4, names
    for cookie in browser.seen:
        assert cookie.name.startswith("__Host-"), cookie.raw
        assert "secure" in cookie.attributes, cookie.raw
        assert "httponly" in cookie.attributes, cookie.raw
        assert cookie.attributes.get("samesite", "").lower() in ("lax", "strict"), cookie.raw
        assert cookie.attributes.get("path") == "/", cookie.raw
        assert "domain" not in cookie.attributes, cookie.raw
    # The session set at enrolment was removed at sign-out, with the same attributes, so the browser obeys.
    session = [c for c in browser.seen if c.name == "__Host-casework_session"]
    assert not session[0].removes and session[-1].removes
    assert browser.get("/").status_code == 303


def test_hsts_and_the_security_headers_are_on_every_kind_of_response(server: Server, browsers: dict[str, Browser]):
    anonymous = Browser(server)
    coordinator, other = browsers["coordinator"], browsers["other"]
    responses = {
        "sign-in page": anonymous.get("/login"),
        "redirect to sign-in": anonymous.get("/people"),
        "not found": anonymous.get("/no/such/page"),
        "health check": anonymous.get("/healthz"),
        "stylesheet": anonymous.get("/static/css/app.css"),
        "dashboard": coordinator.get("/"),
        "person page": coordinator.get(f"/people/{server.reference}"),
        "refusal": other.get(f"/people/{server.reference}"),
    }
    assert [r.status_code for r in responses.values()] == [200, 303, 404, 200, 200, 200, 200, 403]
    for what, response in responses.items():
        headers = response.headers
        hsts = headers.get("strict-transport-security", "")
        max_age = re.search(r"max-age=(\d+)", hsts)
        assert max_age and int(max_age.group(1)) >= HSTS_MIN_AGE and "includeSubDomains" in hsts, (what, hsts)
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, (what, policy)
        assert "unsafe-eval" not in policy, (what, policy)
        assert headers["x-content-type-options"] == "nosniff", what
        assert headers["referrer-policy"] == "no-referrer", what
        assert headers["x-frame-options"] == "DENY", what
        assert "server" not in headers, (what, headers.get("server"))  # no product and version handed out
        if what != "stylesheet":
            assert headers["cache-control"] == "no-store", what


def test_the_proxy_headers_are_trusted_so_sessions_record_the_clients_address(server: Server,
                                                                                browsers: dict[str, Browser]):
    rows = server.rows("SELECT DISTINCT ip_address FROM user_sessions WHERE user_id = ?",
                       server.user_id("coordinator"))
    assert rows == [(CLIENT_ADDRESS,)]
    assert {e["ip"] for e in server.audit("auth.sign_in", "coordinator")} == {CLIENT_ADDRESS}


def test_no_api_documentation_or_schema_is_published(server: Server, browsers: dict[str, Browser]):
    for browser in (Browser(server), browsers["admin"]):
        for path in API_DOCUMENTATION:
            response = browser.get(path)
            assert response.status_code == 404, path
            assert "swagger" not in response.text.lower() and '"openapi"' not in response.text, path


# --- two-factor sign-in ----------------------------------------------------------------------------

def test_a_user_without_a_second_factor_must_enrol_before_any_other_page(server: Server,
                                                                          browsers: dict[str, Browser]):
    browser = Browser(server)
    people_before = server.people()
    after_password = browser.submit_password("newcomer")
    assert after_password.status_code == 303
    assert after_password.headers["location"] == "/login/two-factor/setup"
    assert "__Host-casework_session" not in browser.cookies  # the password alone opens no session
    assert "__Host-casework_mfa_pending" in browser.cookies
    assert server.audit("auth.password_accepted", "newcomer")[-1]["details"] == {"next_step": "enrol"}

    for path in ("/", "/people", f"/people/{server.reference}", "/people/new", "/admin/users", "/account/mfa",
                 "/reports"):
        response = browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), (
            path, response.status_code, response.headers.get("location"))
    assert browser.get("/login/two-factor").headers["location"] == "/login/two-factor/setup"
    setup = browser.get("/login/two-factor/setup")
    assert setup.status_code == 200
    pending_token = csrf_from(setup.text)
    written = browser.post("/people/new", {"given_names": "Nota", "family_name": "Writtenperson",
                                           "csrf_token": pending_token})
    assert written.status_code == 401 and server.people() == people_before

    secret = enrolment_secret(setup.text)
    stale_code = pyotp.TOTP(secret).at(time.time() - 600)  # a code from ten minutes ago
    wrong = browser.post("/login/two-factor/setup", {"code": stale_code, "csrf_token": pending_token})
    assert wrong.status_code == 422 and "__Host-casework_session" not in browser.cookies
    enrolled = browser.post("/login/two-factor/setup",
                            {"code": pyotp.TOTP(secret).now(), "csrf_token": pending_token})
    assert enrolled.status_code == 200 and "__Host-casework_session" in browser.cookies
    assert browser.get("/").status_code == 200
    assert len(server.audit("auth.mfa_enrolled", "newcomer")) == 1


# --- the demo password -----------------------------------------------------------------------------

def test_the_demo_password_opens_no_account_in_production(server: Server):
    # The demo accounts a development seeding left behind really do have the demo password ...
    [(stored_hash,)] = server.rows("SELECT password_hash FROM users WHERE email = 'coordinator@example.org'")
    assert verify_password(DEMO_PASSWORD, stored_hash)
    # ... and production lets it open nothing.
    browser = Browser(server)
    token = browser.csrf("/login")
    response = browser.post("/login", {"email": "coordinator@example.org", "password": DEMO_PASSWORD, "next": "/",
                                       "csrf_token": token})
    assert response.status_code == 401
    assert not any(name.endswith(("casework_session", "casework_mfa_pending")) for name in browser.cookies)
    failures = [e for e in server.audit("auth.sign_in_failed")
                if e["actor"] == server.rows("SELECT id FROM users WHERE email = 'coordinator@example.org'")[0][0]]
    assert failures and failures[-1]["details"] == {"reason": "bad_credentials"}


def test_the_demo_password_cannot_be_set_and_demo_data_is_never_loaded(server: Server,
                                                                       browsers: dict[str, Browser]):
    admin = browsers["admin"]
    target = server.user_id("newcomer")
    hash_before = server.rows("SELECT password_hash FROM users WHERE id = ?", target)
    page = f"/admin/users/{target}"
    response = admin.post(f"{page}/password", {"password": DEMO_PASSWORD, "csrf_token": admin.csrf(page)})
    assert response.status_code == 422 and "demo password cannot be used" in response.text
    assert server.rows("SELECT password_hash FROM users WHERE id = ?", target) == hash_before

    made = run({**server.env, "CASEWORK_NEW_USER_PASSWORD": DEMO_PASSWORD}, "create-user",
               "--email", "prod-demo-password@example.org", "--role", "clinician")
    assert made.returncode == 2 and "The demo password cannot be used in production." in made.stderr
    people_before = server.people()
    seeded = run(server.env, "seed-demo", "--people", "3")
    assert seeded.returncode == 2 and "Demo data is never loaded into a production database." in seeded.stderr
    demo = run(server.env, "serve", "--demo")
    assert demo.returncode == 2 and "--demo is for development only." in demo.stderr
    assert server.rows("SELECT count(*) FROM users WHERE email = 'prod-demo-password@example.org'") == [(0,)]
    assert server.people() == people_before


# --- CSRF and need-to-know, as in development --------------------------------------------------------

def test_writes_without_the_right_token_or_from_another_site_are_refused_and_change_nothing(
        server: Server, browsers: dict[str, Browser]):
    coordinator = browsers["coordinator"]
    person = {"given_names": "Csrfa", "family_name": "Fictionalperson"}
    token = coordinator.csrf("/people/new")
    before, refusals_before = server.people(), len(server.audit("security.csrf_rejected", "coordinator"))
    attempts = [
        coordinator.post("/people/new", person),
        coordinator.post("/people/new", person | {"csrf_token": "not-the-token-" + token[:8]}),
        coordinator.post("/people/new", person | {"csrf_token": token}, headers={"Origin": "https://evil.example"}),
        coordinator.post("/people/new", person | {"csrf_token": token},
                         headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}),
        # The app's own origin seen over plain http is another origin: only the proxy's https is this site.
        coordinator.post("/people/new", person | {"csrf_token": token},
                         headers={"Origin": f"http://127.0.0.1:{server.port}"}),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert server.people() == before
    refusals = server.audit("security.csrf_rejected", "coordinator")[refusals_before:]
    assert [e["details"]["reason"] for e in refusals] == [
        "missing token", "wrong token", "origin mismatch", "sec-fetch-site cross-site", "origin mismatch"]
    assert all(e["outcome"] == "denied" for e in refusals)

    # The same form, posted as the browser behind the proxy would: accepted, so the refusals above were CSRF's.
    accepted = coordinator.post("/people/new", person | {"csrf_token": token})
    assert accepted.status_code == 303 and server.people() == before + 1


def test_the_sign_in_form_needs_its_token_and_this_site(server: Server):
    browser = Browser(server)
    token = browser.csrf("/login")
    credentials = {"email": USERS["admin"][0], "password": PASSPHRASE, "next": "/"}
    sessions_before = server.rows("SELECT count(*) FROM user_sessions")
    assert browser.post("/login", credentials).status_code == 403
    assert browser.post("/login", credentials | {"csrf_token": token},
                        headers={"Origin": "https://evil.example"}).status_code == 403
    assert not any(name.endswith(("casework_session", "casework_mfa_pending")) for name in browser.cookies)
    assert server.rows("SELECT count(*) FROM user_sessions") == sessions_before
    assert server.rows("SELECT count(*) FROM mfa_pending_sign_ins WHERE user_id = ?", server.user_id("admin")) == [(0,)]


def test_a_clinician_opening_a_person_not_assigned_to_them_is_refused_and_recorded(
        server: Server, browsers: dict[str, Browser]):
    page = f"/people/{server.reference}"
    refusals_before = len(server.audit("security.permission_denied", "other"))
    refused = browsers["other"].get(page)
    assert refused.status_code == 403
    assert "FICTIONALPERSON" not in refused.text.upper()  # the name is nowhere on the refusal
    refusals = server.audit("security.permission_denied", "other")[refusals_before:]
    assert len(refusals) == 1 and refusals[0]["outcome"] == "denied" and refusals[0]["ip"] == CLIENT_ADDRESS
    assert server.reference not in browsers["other"].get("/people").text

    opened = browsers["assigned"].get(page)
    assert opened.status_code == 200 and "FICTIONALPERSON, Testa" in opened.text


# --- start-up refusals -----------------------------------------------------------------------------

def refused_start(env: dict[str, str], command: list[str]) -> tuple[int, str]:
    """Start the server and expect it to stop by itself, before listening: (exit status, everything printed)."""
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT,  # noqa: S603 (our own command)
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the server started when it should have refused:\n{output}")
    return process.returncode, output


def pieces(secret: str, size: int = 10) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


UVICORN = ["-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1", "--port", "0"]


@pytest.mark.parametrize("launcher", ["casework serve", "uvicorn"])
@pytest.mark.parametrize(("change", "message"), [
    ("no master key", "CASEWORK_MASTER_KEY or CASEWORK_MASTER_KEY_FILE must be set in production"),
    ("no secret key", "CASEWORK_SECRET_KEY must be set in production"),
    ("short secret key", "CASEWORK_SECRET_KEY must be at least 32 characters"),
])
def test_production_refuses_to_start_without_its_keys_and_says_why(tmp_path: Path, launcher: str, change: str,
                                                                   message: str):
    secret_key = secrets.token_urlsafe(48)
    master_key = "prod-test:" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = production_env(tmp_path, tmp_path / "casework.sqlite3", secret_key, master_key)
    # Only what a small installation sets: pydantic's own message quotes the settings given, and its excerpt
    # ends with the last of them in field order, here the keys.
    for name in ("CASEWORK_HOST", "CASEWORK_WORKERS", "CASEWORK_PORT"):
        env.pop(name, None)
    # A development secret left in the var folder is never a production default.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text(secrets.token_urlsafe(48))
    if change == "no master key":
        env.pop("CASEWORK_MASTER_KEY")
    elif change == "no secret key":
        env.pop("CASEWORK_SECRET_KEY")
    else:
        env["CASEWORK_SECRET_KEY"] = "change-me"
    command = casework_command("serve") if launcher == "casework serve" else [sys.executable, *UVICORN]
    status, output = refused_start(env, command)
    assert status != 0, output
    assert message in output, output
    assert "Application startup complete" not in output, output
    # The refusal is read in logs and on consoles: no part of a key may be in it.
    for secret in (secret_key, master_key.split(":", 1)[1], (tmp_path / "var" / "secret_key").read_text()):
        leaked = [piece for piece in pieces(secret) if piece in output]
        assert not leaked, f"part of a key is printed: {leaked[:3]}\n{output}"
    if launcher == "casework serve":
        assert status == 2 and "Traceback" not in output and "│" not in output, output  # a message, no traceback
