"""The cumulative release audit at scale: a database of 100,000 people (seeded by `casework seed-demo`, as for
bench/run.py), twenty earlier releases linked to a new one, and how long the new one takes to release and to
audit together with them. Results go to var/bench/lattice.json and their section of docs/benchmarks.md.

    .venv/bin/python bench/lattice.py [--people 100000] [--database sqlite|postgresql] [--earlier 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
SECTION = "## Cumulative release audit"  # then ", sqlite" or ", postgresql": one section per database
TARGET_S = 10.0


def candidates(year: int, regions: list[str], types: list[str]) -> list[dict[str, Any]]:
    """Queries over one year, broadest last: its quarters, its months, then the year for each type and region."""
    queries: list[dict[str, Any]] = [{"period": f"{year}-Q{q}"} for q in range(1, 5)]
    queries += [{"period": f"{year}-{m:02d}"} for m in range(1, 13)]
    queries += [{"period": str(year), "facility_type": t} for t in types]
    queries += [{"period": str(year), "region": r} for r in regions]
    return queries


def run(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from bench.run import machine, prepare_database

    url = prepare_database(args.database, args.people, args.seed)
    os.environ["CASEWORK_DATABASE_URL"] = url
    from sqlalchemy import delete, select
    from sqlalchemy.orm import Session

    import app.models  # noqa: F401  (every model, as the command line loads them)
    from app.auth.models import Role, User
    from app.config import get_settings, organisation_today
    from app.db import get_engine
    from app.detention.models import FacilityType
    from app.reports import lattice, periods, service
    from app.reports.models import SummaryRelease
    from app.reports.summaries import SummaryParams
    from app.reports.views import render_summary_html

    settings = get_settings()
    today = organisation_today(settings)
    audit_seconds: list[float] = []
    original = lattice.audit_together

    def timed(*a: Any, **kw: Any) -> None:
        started = time.perf_counter()
        try:
            original(*a, **kw)
        finally:
            audit_seconds.append(time.perf_counter() - started)

    lattice.audit_together = timed  # type: ignore[assignment]  # the service calls it through the module
    year = today.year - 1
    log: list[dict[str, Any]] = []
    with Session(get_engine()) as db:
        db.execute(delete(SummaryRelease))  # a rerun starts from no releases
        db.commit()
        user = db.scalars(select(User).where(User.role == Role.researcher)).first()
        assert user is not None  # noqa: S101  (the demo accounts exist)
        types, regions = service.filter_choices(db, today, settings.disclosure_k)

        def release(query: dict[str, Any]) -> dict[str, Any]:
            period = periods.parse(query["period"])
            assert period is not None  # noqa: S101  (built above)
            params = SummaryParams(start_date=period.start, end_date=period.end,
                                   facility_type=FacilityType(query["facility_type"]) if "facility_type" in query
                                   else None, region=query.get("region"))
            audit_seconds.clear()
            started = time.perf_counter()
            try:
                produced = service.release_summary(
                    db, user, params, "json", today=today, zone=settings.zone, k=settings.disclosure_k,
                    now=dt.datetime.now(dt.UTC), render_html=render_summary_html)
                db.commit()
                outcome, people = "released", produced.release.population_size
            except service.ReleaseRefused as refused:
                db.rollback()
                outcome, people = refused.reason, None
            return {"query": query, "outcome": outcome, "people": people,
                    "seconds": round(time.perf_counter() - started, 2),
                    "audit_seconds": round(sum(audit_seconds), 2) if audit_seconds else None}

        released = 0
        queries = candidates(year, regions, [t.value for t in types])
        while queries and released < args.earlier:
            entry = release(queries.pop(0))
            log.append(entry)
            released += entry["outcome"] == "released"
            print(f"{entry['query']}: {entry['outcome'][:100]} ({entry['seconds']} s)", flush=True)
        # The new release is a whole-year query, linked to every earlier one. A refusal stops at the first narrow
        # count; the audit that must be fast is the one that checks everything and lets the release through, so
        # the year's other queries are tried in turn, and last the repeat of a year's query already released.
        finals: list[dict[str, Any]] = []
        year_long = [e["query"] for e in log if e["outcome"] == "released" and e["query"]["period"] == str(year)]
        for query in [{"period": str(year)}, *[q for q in queries if q["period"] == str(year)], *year_long[-1:]]:
            finals.append(release(query))
            print(f"final {query}: {finals[-1]['outcome'][:100]} ({finals[-1]['seconds']} s)", flush=True)
            if finals[-1]["outcome"] == "released":
                break
    return {"machine": machine(), "database": args.database, "people_in_database": args.people,
            "earlier_released": released, "earlier_refused": len(log) - released, "log": log, "finals": finals,
            "measured": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}


def _query(query: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in query.items())


def section(result: dict[str, Any]) -> list[str]:
    """The report's section for one run (bench/report.py writes it too)."""
    finals = result["finals"]
    passed = next((f for f in finals if f["outcome"] == "released"), None)
    slowest = max((f["audit_seconds"] or 0.0 for f in finals), default=0.0)
    lines = [f"{SECTION}, {result['database']}", "",
             f"Measured {result['measured']} on {result['database']}, {result['people_in_database']:,} people in the "
             f"database (`bench/lattice.py`), on {result['machine']['cpu']}, {result['machine']['cores']} cores, "
             f"commit {result['machine']['commit']}.", "",
             f"{result['earlier_released']} earlier releases over the same year were made first "
             f"({result['earlier_refused']} more were refused along the way, as the rules require). Then whole-year "
             "queries, each linked to every one of them, were tried until one was released: a release that goes "
             "out has had every hidden count and every linked difference checked, the audit's slowest case.", "",
             "| measure | value | target | result |", "|---|---|---|---|",
             (f"| audit of the released whole-year query ({_query(passed['query'])}, {passed['people']:,} people "
              f"counted) together with the {result['earlier_released']} earlier releases | "
              f"{passed['audit_seconds']:.2f} s ({passed['seconds']:.2f} s for the whole release) | "
              f"<= {TARGET_S:g} s | {'PASS' if passed['audit_seconds'] <= TARGET_S else '**MISS**'} |")
             if passed else "| no whole-year query was released | | <= 10 s | n/a |",
             f"| slowest audit of any whole-year query tried, refused ones included | {slowest:.2f} s | "
             f"<= {TARGET_S:g} s | {'PASS' if slowest <= TARGET_S else '**MISS**'} |", ""]
    lines += ["| query | outcome | people | seconds | audit seconds |", "|---|---|---|---|---|"]
    for entry in result["log"] + finals:
        query = _query(entry["query"])
        outcome = entry["outcome"] if entry["outcome"] == "released" else "refused: " + entry["outcome"][:140]
        lines.append(f"| {query} | {outcome.replace('|', '/')} | {entry['people'] or ''} | {entry['seconds']} | "
                     f"{entry['audit_seconds'] if entry['audit_seconds'] is not None else ''} |")
    return [*lines, ""]


def write_section(result: dict[str, Any], report: Path) -> None:
    """Replace this section of the report (or add it before the durability section)."""
    text = report.read_text() if report.exists() else "# Benchmarks\n"
    block = "\n".join(section(result))
    heading = f"{SECTION}, {result['database']}\n"
    if heading in text:
        before, rest = text.split(heading, 1)
        after = rest[rest.find("\n## "):] if "\n## " in rest else "\n"
        text = before + block + "\n" + after.lstrip("\n")
    elif "## Durability under load" in text:
        before, after = text.split("## Durability under load", 1)
        text = before + block + "\n## Durability under load" + after
    else:
        text = text.rstrip() + "\n\n" + block
    report.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--earlier", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from the stored result")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    stored = VAR / f"lattice-{args.database}.json"
    if args.report_only:
        write_section(json.loads(stored.read_text()), args.output)
        return
    result = run(args)
    stored.write_text(json.dumps(result, indent=1))
    write_section(result, args.output)


if __name__ == "__main__":
    main()
