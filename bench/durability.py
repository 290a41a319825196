"""Durability under load: kill the server with SIGKILL in the middle of 1,000 draft-visit posts, then check that
every post that was answered with success is in the database, and that the database is intact.

SQLite: the single uvicorn process is killed. PostgreSQL: the database server is shared and is not ours to stop,
so the app's worker processes are killed with SIGKILL instead (an immediate stop of the app, not of PostgreSQL).

    .venv/bin/python bench/durability.py [--databases sqlite postgresql] [--people 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import CSRF, VAR, Server, log, make_plan, prepare_database, sign_in  # noqa: E402

POSTS = 1000


def run(database: str, people: int, kill_after: int) -> dict[str, object]:
    url = prepare_database(database, people, 2026)
    plan = make_plan(url, people)
    server = Server(url, 1 if database == "sqlite" else 2, f"durability-{database}").start()
    clients = [sign_in(server.base, "coordinator@example.org") for _ in range(8)]
    acknowledged: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def post(i: int) -> None:
        if killed.is_set():
            return
        client = clients[i % len(clients)]
        reference = plan["post_targets"][i % len(plan["post_targets"])]
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
            with lock:
                acknowledged.append(marker)
                if len(acknowledged) >= kill_after and not killed.is_set():
                    killed.set()
                    server.kill()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(post, range(POSTS)))
    if not killed.is_set():
        server.kill()
    for client in clients:
        client.close()
    time.sleep(0.5)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT presenting_concerns FROM visits WHERE presenting_concerns LIKE "
                                 "'durability %'")).scalars().all()
        if database == "sqlite":
            integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()
        else:
            # PostgreSQL checks its own pages; what can break here is the app's data, so check its links.
            orphans = conn.execute(text("SELECT count(*) FROM visits v LEFT JOIN people p ON p.id = v.person_id "
                                        "WHERE p.id IS NULL")).scalar_one()
            integrity = "ok" if orphans == 0 else f"{orphans} visits without a person"
    engine.dispose()
    stored = set(rows)
    missing = [m for m in acknowledged if m not in stored]
    how = ("SIGKILL of the single uvicorn process" if database == "sqlite" else
           "SIGKILL of the uvicorn supervisor and both workers (the shared PostgreSQL server itself is not stopped)")
    result = {"database": database, "how": how, "attempted": POSTS, "acknowledged": len(acknowledged),
              "missing": len(missing), "integrity": integrity}
    log(f"durability {database}: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--kill-after", type=int, default=400, help="acknowledged posts before the kill")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    results = [run(database, args.people, args.kill_after) for database in args.databases]
    (VAR / "durability.json").write_text(json.dumps(results, indent=1))
    if any(r["missing"] or r["integrity"] != "ok" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
