"""Durability under load: stop the database abruptly in the middle of 1,000 draft-visit posts, then check that
every post that was answered with success is in the database, whole, and that the database is intact.

SQLite: the single uvicorn process, which holds the database, is killed with SIGKILL. PostgreSQL: a private
PostgreSQL server of our own (initdb in var/bench, on a free port: the shared one is not ours to stop) is shut
down in immediate mode, which ends every server process without a checkpoint, as a power cut would; the app is
then killed too, PostgreSQL is started again (crash recovery) and checked with pg_amcheck.

    .venv/bin/python bench/durability.py [--databases sqlite postgresql] [--people 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    CSRF,
    VAR,
    Server,
    app_session,
    casework,
    free_port,
    log,
    make_plan,
    prepare_database,
    sign_in,
)

POSTS = 1000
PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: when we are root, run its tools as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    """A throwaway PostgreSQL server in var/bench, so that it can be shut down in immediate mode."""

    def __init__(self) -> None:
        self.data = VAR / "durability-pgdata"
        self.port = free_port()
        self.log_path = VAR / "durability-postgres.log"

    def _run(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / args[0]), *args[1:]]), check=True,  # noqa: S603
                       stdout=subprocess.DEVNULL)

    def init(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        self.log_path.write_text("")
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.log_path, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-instructions")

    def start(self) -> None:
        # fsync and synchronous_commit keep their defaults (on): what is measured is the production setting.
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log_path), "-w", "start")

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def amcheck(self, database: str) -> str:
        """pg_amcheck over every table and index (with heapallindexed): "ok" or what it reported."""
        result = subprocess.run(_as_postgres([  # noqa: S603
            str(PG_BIN / "pg_amcheck"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "--install-missing", "--heapallindexed"]), capture_output=True, text=True, check=False)
        return "ok" if result.returncode == 0 else (result.stdout + result.stderr).strip()[:500]

    def recovered(self) -> bool:
        """Whether the server's log shows the crash recovery that follows an immediate shutdown."""
        return "automatic recovery in progress" in self.log_path.read_text(errors="replace")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop("fast")
        shutil.rmtree(server.data, ignore_errors=True)


def post_until_stopped(url: str, plan: dict[str, object], workers: int, kill_after: int, tag: str,
                       stop_database: Callable[[Server], None]) -> tuple[Server, dict[int, str]]:
    """1,000 draft-visit posts from 8 clients; after `kill_after` successes, `stop_database(server)`. Returns the
    acknowledged posts: visit id (from the redirect) -> the text that visit was posted with."""
    server = Server(url, workers, tag).start()
    clients = [sign_in(server.base, "coordinator@example.org") for _ in range(8)]
    acknowledged: dict[int, str] = {}
    lock = threading.Lock()
    stopped = threading.Event()
    targets: list[str] = plan["post_targets"]  # type: ignore[assignment]

    def post(i: int) -> None:
        if stopped.is_set():
            return
        client = clients[i % len(clients)]
        reference = targets[i % len(targets)]
        marker = f"durability {uuid.uuid4()}"
        try:
            form = client.get(f"/people/{reference}/visits/new")
            response = client.post(f"/people/{reference}/visits/new", follow_redirects=False, data={
                "csrf_token": CSRF.search(form.text).group(1), "visit_date": plan["today"],
                "facility_id": str(plan["facility_id"]), "mode": "in_person", "duration_minutes": "30",
                "presenting_concerns": marker, "risk": "low"})
        except (httpx.HTTPError, AttributeError):
            return
        if response.status_code == 303:
            visit_id = int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])
            with lock:
                acknowledged[visit_id] = marker
                if len(acknowledged) >= kill_after and not stopped.is_set():
                    stopped.set()
                    stop_database(server)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(post, range(POSTS)))
    if not stopped.is_set():
        stop_database(server)
    for client in clients:
        client.close()
    return server, acknowledged


def missing_posts(url: str, acknowledged: dict[int, str]) -> int:
    """Acknowledged posts not in the database as posted (the visit text is sealed: read through the app)."""
    from app.visits.models import Visit

    with app_session(url) as db:
        stored = {visit.id: visit.presenting_concerns
                  for visit in db.scalars(select(Visit).where(Visit.id.in_(list(acknowledged))))}
    return sum(1 for visit_id, marker in acknowledged.items() if stored.get(visit_id) != marker)


def run_sqlite(people: int, kill_after: int) -> dict[str, object]:
    url = prepare_database("sqlite", people, 2026)
    plan = make_plan(url, people)
    server, acknowledged = post_until_stopped(url, plan, 1, kill_after, "durability-sqlite",
                                              lambda server: server.kill())
    time.sleep(0.5)
    engine = create_engine(url)
    with engine.connect() as conn:
        integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    engine.dispose()
    return {"database": "sqlite", "how": "SIGKILL of the single uvicorn process",
            "acknowledged": len(acknowledged), "missing": missing_posts(url, acknowledged), "integrity": integrity}


def run_postgresql(people: int, kill_after: int) -> dict[str, object]:
    with private_postgres() as postgres:
        database = "durability"
        subprocess.run(_as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(postgres.port),  # noqa: S603
                                     "-U", "postgres", database]), check=True)
        url = postgres.url(database)
        log(f"seeding {people} people into a private PostgreSQL on port {postgres.port}")
        casework(url, "migrate")
        casework(url, "seed-demo", "--people", str(people), "--seed", "2026")
        plan = make_plan(url, people)

        def stop_database(server: Server) -> None:
            postgres.stop("immediate")
            server.kill()

        _, acknowledged = post_until_stopped(url, plan, 2, kill_after, "durability-postgresql", stop_database)
        postgres.start()  # crash recovery replays the write-ahead log
        integrity = postgres.amcheck(database)
        if not postgres.recovered():
            integrity = f"no crash recovery in {postgres.log_path.name}: the shutdown was not abrupt"
        missing = missing_posts(url, acknowledged)
    return {"database": "postgresql", "how": "immediate shutdown of a private PostgreSQL server (pg_ctl -m "
            "immediate), then SIGKILL of the two uvicorn workers, then a restart with crash recovery and pg_amcheck",
            "acknowledged": len(acknowledged), "missing": missing, "integrity": integrity}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--kill-after", type=int, default=400, help="acknowledged posts before the stop")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    results = []
    for database in args.databases:
        run = run_sqlite if database == "sqlite" else run_postgresql
        result = run(args.people, args.kill_after) | {"attempted": POSTS}
        log(f"durability {database}: {result}")
        results.append(result)
    (VAR / "durability.json").write_text(json.dumps(results, indent=1))
    if any(r["missing"] or r["integrity"] != "ok" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
