"""The benchmark: seeds (or reuses) a database, serves the real app with uvicorn on loopback, drives it with locust
from another process and writes docs/benchmarks.md with a chart.

    .venv/bin/python bench/run.py                  # full: 10,000 and 100,000 people, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --quick          # 10,000 people on SQLite, shorter phases
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil
from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
VAR = ROOT / "var" / "bench"
PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
# The server, the seeding commands and the benchmark's own reads of sealed values all use this var directory, so
# they share its development keys.
os.environ.setdefault("CASEWORK_VAR_DIR", str(VAR / "var"))
PASSWORD = "demo-casework-2026"  # noqa: S105
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ["dashboard", "people list", "people deep page", "name search", "person page", "visit post"]
ROLES = ["admin@example.org", "coordinator@example.org", "clinician@example.org", "researcher@example.org"]


def log(message: str) -> None:
    print(f"[bench {dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


def migration_head() -> str:
    return sorted(p.stem.split("_")[0] for p in (ROOT / "migrations" / "versions").glob("[0-9]*.py"))[-1]


def casework(url: str, *args: str) -> None:
    env = os.environ | {"CASEWORK_DATABASE_URL": url}
    subprocess.run([str(BIN / "casework"), *args], env=env, check=True, cwd=ROOT)  # noqa: S603


# Seconds `casework seed-demo` took, for the databases seeded in this run (a reused one is not timed).
SEED_SECONDS: dict[tuple[str, int], float] = {}


def timed_seed(url: str, database: str, people: int, seed: int) -> None:
    started = time.perf_counter()
    casework(url, "seed-demo", "--people", str(people), "--seed", str(seed))
    SEED_SECONDS[(database, people)] = time.perf_counter() - started


def prepare_database(database: str, people: int, seed: int) -> str:
    """A seeded database for this size, seed and migration head: built once, then reused."""
    key = f"{people}-{seed}-{migration_head()}"
    if database == "sqlite":
        cached = VAR / f"casework-{key}.sqlite3"
        if not cached.exists():
            log(f"seeding {people} people into {cached.name}")
            building = cached.with_suffix(".building")
            for leftover in VAR.glob(building.name + "*"):
                leftover.unlink()
            url = f"sqlite:///{building}"
            casework(url, "migrate")
            timed_seed(url, database, people, seed)
            with create_engine(url).connect() as conn:
                add_long_history(conn)
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            building.rename(cached)
            for leftover in VAR.glob(building.name + "-*"):  # the emptied -wal and -shm of the build
                leftover.unlink()
        work = VAR / f"run-{key}.sqlite3"
        for leftover in VAR.glob(work.name + "*"):
            leftover.unlink()
        shutil.copyfile(cached, work)  # the run writes; the cached copy stays as seeded
        return f"sqlite:///{work}"
    name = f"bench_{key.replace('-', '_')}"
    admin = create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        created = not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if created:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"{PG_BASE}/{name}"
    casework(url, "migrate")
    log(f"seeding {people} people into PostgreSQL {name} (nothing to do if already seeded)")
    if created:
        timed_seed(url, database, people, seed)
    else:
        casework(url, "seed-demo", "--people", str(people), "--seed", str(seed))
    engine = create_engine(url)
    with engine.connect() as conn:
        add_long_history(conn)
    engine.dispose()
    return url


LONG_HISTORY = 60


def add_long_history(conn: Any) -> None:
    """The demo's busiest person has about 16 visits; the issue measures a person with 50 or more, so the person
    with the most visits gets copies of their own signed visits on earlier days until they have 60."""
    person_id, visits = conn.execute(text(
        "SELECT person_id, count(*) FROM visits GROUP BY person_id ORDER BY count(*) DESC, person_id LIMIT 1")).one()
    if visits >= LONG_HISTORY:
        return
    skip = ("id", "visit_date")
    columns = [c for c in conn.execute(text("SELECT * FROM visits LIMIT 0")).keys() if c not in skip]  # noqa: SIM118
    source = conn.execute(text("SELECT id, visit_date FROM visits WHERE person_id = :p ORDER BY visit_date LIMIT 1"),
                          {"p": person_id}).one()
    first = source.visit_date if isinstance(source.visit_date, dt.date) else dt.date.fromisoformat(source.visit_date)
    names = ", ".join(columns)
    for n in range(1, LONG_HISTORY - visits + 1):
        conn.execute(text(f"INSERT INTO visits (visit_date, {names}) SELECT :day, {names} FROM visits "  # noqa: S608
                          "WHERE id = :id"), {"day": first - dt.timedelta(days=7 * n), "id": source.id})
    conn.commit()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn in its own process group, in benchmark mode (statement counts, baseline page)."""

    def __init__(self, url: str, workers: int, tag: str) -> None:
        self.url, self.workers, self.port = url, workers, free_port()
        self.log_path = VAR / f"server-{tag}.log"
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = os.environ | {"CASEWORK_DATABASE_URL": self.url, "CASEWORK_ENVIRONMENT": "development"}
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
            [str(BIN / "uvicorn"), "bench.app:create_bench_app", "--factory", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", str(self.workers), "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server did not start; see {self.log_path}")

    def processes(self) -> list[psutil.Process]:
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log_file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.log_file.close()

    def locked_errors(self) -> int:
        return locked_errors(self.log_path)


def locked_errors(log_path: Path) -> int:
    """SQLite "database is locked" failures in a server log. The app's error log withholds exception messages,
    so a BEGIN IMMEDIATE that gave up after the busy timeout (the only way it fails) is counted as one too."""
    if not log_path.exists():
        return 0
    lines = log_path.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if line.startswith("unhandled error") and (
        "database is locked" in line or ("OperationalError" in line and "sql='BEGIN IMMEDIATE'" in line)))


@contextmanager
def serving(url: str, workers: int, tag: str):  # type: ignore[no-untyped-def]
    server = Server(url, workers, tag)
    if server.log_path.exists():
        server.log_path.unlink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sign_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/",
                                           "csrf_token": CSRF.search(page.text).group(1)}, follow_redirects=False)
    if response.status_code != 303:
        raise RuntimeError(f"sign-in as {email} failed: {response.status_code}")
    return client


def make_plan(url: str, people: int) -> dict[str, Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        busiest, visits = conn.execute(text(
            "SELECT p.reference, count(*) AS n FROM visits v JOIN people p ON p.id = v.person_id "
            "GROUP BY p.id, p.reference ORDER BY count(*) DESC LIMIT 1")).one()
        targets = conn.scalars(text(
            "SELECT reference FROM people WHERE closed_date IS NULL ORDER BY id LIMIT 300")).all()
        facility_id = conn.execute(text("SELECT min(id) FROM facilities")).scalar_one()
    engine.dispose()
    today = dt.datetime.now(dt.UTC).date()
    search, deep_page = a_name(url), max(1, people // 2 // 50)
    # Each key page's path, read by the statement counts here and by the load in bench/locustfile.py.
    views = {"dashboard": "/", "people list": "/people", "people deep page": f"/people?page={deep_page}",
             "name search": "/people?" + urlencode({"q": search}), "person page": f"/people/{busiest}",
             "baseline": "/bench/baseline"}
    return {"busiest": busiest, "busiest_visits": visits, "search": search, "post_targets": list(targets),
            "facility_id": facility_id, "deep_page": deep_page, "today": today.isoformat(), "views": views,
            # The same query every time (the form's default, the last whole quarter): another one differing by
            # what fewer than k people contribute would be refused.
            "summary_period": (f"{today.year}-Q{(today.month - 1) // 3}" if today.month > 3
                               else f"{today.year - 1}-Q4")}


@contextmanager
def app_session(url: str):  # type: ignore[no-untyped-def]
    """A session of the application's own models, which opens sealed values as the server does."""
    from sqlalchemy.orm import Session

    import app.models  # noqa: F401  (every mapped class, so that relationships resolve)
    from app.db import build_engine

    engine = build_engine(url)
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


def a_name(url: str) -> str:
    """What a caseworker types to find someone: a first given name and the family name (names are sealed, so
    read through the application)."""
    from app.people.models import Identity

    with app_session(url) as db:
        identity = db.scalars(select(Identity).order_by(Identity.person_id).offset(7).limit(1)).one()
        return f"{identity.given_names.split()[0]} {identity.family_name}"


def locust(server: Server, plan_path: Path, mode: str, users: int, seconds: int, tag: str) -> dict[str, Any]:
    prefix = VAR / f"locust-{tag}"
    env = os.environ | {"BENCH_PLAN": str(plan_path), "BENCH_MODE": mode}
    if mode != "mixed":
        env["BENCH_ACCOUNT"] = "coordinator@example.org"
    subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",  # noqa: S603
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", server.base,
                    "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
                   cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = {"count": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                 "p50": float(row["50%"]), "p95": float(row["95%"]), "p99": float(row["99%"]),
                                 "rps": float(row["Requests/s"])}
    return rows


def statement_counts(server: Server, plan: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    client = sign_in(server.base, "coordinator@example.org")
    for name, path in plan["views"].items():
        counts[name] = int(client.get(path).headers.get("x-sql-statements", -1))
    reference = plan["post_targets"][0]
    form = client.get(f"/people/{reference}/visits/new")
    posted = client.post(f"/people/{reference}/visits/new", follow_redirects=False, data={
        "csrf_token": CSRF.search(form.text).group(1), "visit_date": plan["today"],
        "facility_id": str(plan["facility_id"]), "mode": "in_person", "duration_minutes": "30",
        "presenting_concerns": "Benchmark draft.", "risk": "low"})
    counts["visit post"] = int(posted.headers.get("x-sql-statements", -1))
    client.close()
    counts["roles"] = {}
    for email in ROLES:
        role_client = sign_in(server.base, email)
        response = role_client.get("/")
        role_client.close()
        counts["roles"][email.split("@")[0]] = {"status": response.status_code,
                                               "statements": int(response.headers.get("x-sql-statements", -1))}
    return counts


def summary_runs(server: Server, plan: dict[str, Any], repeats: int) -> dict[str, Any]:
    client = sign_in(server.base, "researcher@example.org")
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            with suppress(psutil.Error):
                peak = max(peak, max(p.memory_info().rss for p in server.processes()))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times, statuses, statements = [], [], []
    for _ in range(repeats):
        page = client.get("/reports/summary")
        # The form's own default period (the last whole year), the same every time.
        chosen = re.search(r'<option value="([^"]+)" selected>', page.text)
        started = time.perf_counter()
        response = client.post("/reports/summary", follow_redirects=False, data={
            "csrf_token": CSRF.search(page.text).group(1), "output_format": "html",
            "period": chosen.group(1) if chosen else plan["summary_period"]})
        times.append(time.perf_counter() - started)
        statuses.append(response.status_code)
        statements.append(int(response.headers.get("x-sql-statements", -1)))
    stop.set()
    sampler.join()
    client.close()
    return {"seconds": max(times), "statuses": statuses, "statements": max(statements), "peak_rss_mb": peak / 2**20}


def bench_one(database: str, people: int, args: argparse.Namespace) -> dict[str, Any]:
    tag = f"{database}-{people}"
    url = prepare_database(database, people, args.seed)
    workers = 1 if database == "sqlite" else 2
    plan = make_plan(url, people)
    plan_path = VAR / f"plan-{tag}.json"
    plan_path.write_text(json.dumps(plan))
    result: dict[str, Any] = {"database": database, "people": people, "workers": workers, "plan": plan,
                              "measured": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                              "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
                              "seed_seconds": SEED_SECONDS.get((database, people))}
    with serving(url, workers, tag) as server:
        plan["cookies"] = {}
        for email in ("coordinator@example.org", "admin@example.org"):
            client = sign_in(server.base, email)
            plan["cookies"][email] = dict(client.cookies.items())
            client.close()
        plan_path.write_text(json.dumps(plan))
        log(f"{tag}: statement counts")
        result["statements"] = statement_counts(server, plan)
        log(f"{tag}: one user, {args.single_seconds} s")
        result["single"] = locust(server, plan_path, "single", 1, args.single_seconds, f"{tag}-single")
        result["throughput"] = {}
        for page in ("baseline", "person page", "people list"):
            log(f"{tag}: throughput of {page}, {args.throughput_seconds} s")
            stats = locust(server, plan_path, f"only:{page}", 4, args.throughput_seconds, f"{tag}-only")
            result["throughput"][page] = stats.get(page, {}).get("rps", 0.0)
        log(f"{tag}: {args.users} users, mixed, {args.mixed_seconds} s")
        result["mixed"] = locust(server, plan_path, "mixed", args.users, args.mixed_seconds, f"{tag}-mixed")
        log(f"{tag}: summary x{args.summary_repeats}")
        result["summary"] = summary_runs(server, plan, args.summary_repeats)
        result["locked"] = server.locked_errors()
    return result


def machine() -> dict[str, str]:
    cpu = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,  # noqa: S607
                            text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,  # noqa: S607
                           capture_output=True, text=True, check=False).stdout.strip()
    return {"cpu": cpu, "cores": str(psutil.cpu_count()), "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
            "date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            "commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()), "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 people on SQLite, shorter phases")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--single-seconds", type=int, default=30)
    parser.add_argument("--throughput-seconds", type=int, default=15)
    parser.add_argument("--mixed-seconds", type=int, default=60)
    parser.add_argument("--summary-repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the stored results")
    args = parser.parse_args()
    if args.report_only:
        from bench.report import write_report

        stored = json.loads((VAR / "results.json").read_text())
        for result in stored["results"]:
            result["locked"] = locked_errors(VAR / f"server-{result['database']}-{result['people']}.log")
        write_report(stored["machine"], stored["results"], args, args.output)
        return
    if args.quick:
        args.sizes, args.databases = [10_000], ["sqlite"]
        args.single_seconds, args.throughput_seconds, args.mixed_seconds, args.summary_repeats = 15, 6, 20, 2
    VAR.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    if load > 1.5:
        log(f"warning: load average {load:.2f}; timings will be pessimistic")
    before = machine()
    store = VAR / ("results-quick.json" if args.quick else "results.json")
    results = [bench_one(database, people, args) for database in args.databases for people in args.sizes]
    if store.exists() and not args.quick:
        # A run of some databases or sizes keeps the others' last results; each section says when it was measured.
        ran = {(r["database"], r["people"]) for r in results}
        earlier = json.loads(store.read_text())
        results += [r for r in earlier["results"] if (r["database"], r["people"]) not in ran]
    store.write_text(json.dumps({"machine": before, "results": results}, indent=1))
    from bench.report import write_report

    write_report(before, results, args, args.output)
    log(f"wrote {args.output}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
