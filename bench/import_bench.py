"""Measures a spreadsheet import of 10,000 rows on a fresh SQLite database: reading the file, the dry run and the
real import (through the same services the pages call), each timed on its own.

    .venv/bin/python -m bench.import_bench [--rows 10000]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import platform
import tempfile
import time
from pathlib import Path


def _sheet(rows: int) -> bytes:
    """A CSV of fictional people, one in three with a detention and one in five with a past visit."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Given names", "Family name", "Date of birth", "Sex", "Nationality", "Date detained",
                     "Facility", "Visit date", "Visit notes"])
    facilities = ["Brook House", "Colnbrook", "Harmondsworth", "Yarl's Wood", "Dungavel"]
    for n in range(rows):
        detained = n % 3 == 0
        visited = n % 5 == 0
        born = f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1960 + n % 45}"
        writer.writerow([f"Benchgiven{n}", f"Benchfamily{n % 997}", born,
                         "F" if n % 2 else "M", ["ER", "Sudan", "AFG", "Iran", "Albania"][n % 5],
                         "2026-06-01" if detained else "", facilities[n % 5] if detained else "",
                         "2026-06-15" if visited else "", "Seen at the centre (benchmark row)." if visited else ""])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="casework-import-bench-"))
    os.environ.update({"CASEWORK_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
                       "CASEWORK_VAR_DIR": str(folder / "var"), "CASEWORK_ENVIRONMENT": "development"})

    from app.migrations import run_migrations

    run_migrations()
    import app.models  # noqa: F401  (every table mapped)
    from app.auth.models import Role, User
    from app.config import organisation_today
    from app.db import get_sessionmaker
    from app.imports import reader, service
    from app.imports.rows import guesses

    data = _sheet(args.rows)
    today = organisation_today()
    timings: dict[str, float] = {}
    with get_sessionmaker()() as db:
        actor = User(email="bench@example.org", display_name="Bench", role=Role.coordinator,
                     password_hash="x")  # noqa: S106 - a user who never signs in
        db.add(actor)
        db.commit()

        started = time.perf_counter()
        sheet = reader.read("bench.csv", data)
        run = service.create_run(db, actor, sheet, hashlib.sha256(data).hexdigest())
        db.commit()
        timings["read and seal"] = time.perf_counter() - started

        started = time.perf_counter()
        mapping = guesses(sheet.headings)
        result = service.dry_run(db, sheet, mapping, today)
        service.set_mapping(run, mapping, result)
        db.commit()
        timings["dry run"] = time.perf_counter() - started
        if result.messages:
            raise SystemExit(f"the benchmark sheet has errors: {result.messages[:3]}")

        started = time.perf_counter()
        imported = service.run_import(db, actor, run, run.version, today)
        db.commit()
        timings["import"] = time.perf_counter() - started

    print(f"{args.rows:,} rows ({len(data) / 1024 / 1024:.1f} MB CSV), {imported.people:,} people, "
          f"records {imported.records}")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite")
    for step, seconds in timings.items():
        print(f"  {step:14} {seconds:7.1f} s  ({args.rows / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
