"""Load for the benchmark: what each simulated user does, read from the plan bench/run.py writes (BENCH_PLAN).

BENCH_MODE picks the workload: "single" walks every key page in turn (one user: latency), "mixed" is 80% page
views and 20% draft-visit posts (50 users), "only:<page>" repeats one page (throughput against the baseline).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import date, timedelta

from locust import HttpUser, between, constant, task

PLAN = json.loads(open(os.environ["BENCH_PLAN"]).read())  # noqa: SIM115
MODE = os.environ.get("BENCH_MODE", "single")
PASSWORD = "demo-casework-2026"  # noqa: S105
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_accounts = itertools.cycle(["coordinator@example.org", "admin@example.org"])


class CaseworkUser(HttpUser):
    # The mixed workload is 50 people at work: each waits 1-3 s between actions, as someone reading a page does.
    wait_time = constant(0) if MODE != "mixed" else between(1, 3)

    def on_start(self) -> None:
        self.email = os.environ.get("BENCH_ACCOUNT") or next(_accounts)
        cookies = PLAN.get("cookies", {}).get(self.email)
        if cookies:
            # Signed in once beforehand: 50 argon2 sign-ins at the start would be what the run measures.
            for name, value in cookies.items():
                self.client.cookies.set(name, value)
        else:
            page = self.client.get("/login", name="sign-in")
            self.client.post("/login", name="sign-in", allow_redirects=False, data={
                "email": self.email, "password": PASSWORD, "next": "/",
                "csrf_token": CSRF.search(page.text).group(1)})
        self.rng = random.Random()  # noqa: S311

    def _post_visit(self) -> None:
        reference = self.rng.choice(PLAN["post_targets"])
        form = self.client.get(f"/people/{reference}/visits/new", name="visit form")
        match = CSRF.search(form.text)
        if not match:
            return
        day = date.fromisoformat(PLAN["today"]) - timedelta(days=1)
        with self.client.post(f"/people/{reference}/visits/new", name="visit post", allow_redirects=False,
                              catch_response=True, data={
                                  "csrf_token": match.group(1), "visit_date": day.isoformat(),
                                  "facility_id": str(PLAN["facility_id"]), "mode": "in_person",
                                  "duration_minutes": "30", "presenting_concerns": "Benchmark draft.",
                                  "risk": "low"}) as response:
            if response.status_code == 303:
                response.success()
            else:
                response.failure(f"status {response.status_code}")

    def _summary(self) -> None:
        page = self.client.get("/reports/summary", name="summary form")
        with self.client.post("/reports/summary", name="summary", allow_redirects=False, catch_response=True,
                              data={"csrf_token": CSRF.search(page.text).group(1), "output_format": "html",
                                    "period": PLAN["summary_period"]}) as response:
            if response.status_code == 303:
                response.success()
            else:
                response.failure(f"status {response.status_code}")

    @task
    def work(self) -> None:
        views = PLAN["views"]
        if MODE.startswith("only:"):
            name = MODE.split(":", 1)[1]
            self.client.get(views[name], name=name)
        elif MODE == "mixed":
            if self.rng.random() < 0.2:
                self._post_visit()
            else:
                name = self.rng.choice([n for n in views if n != "baseline"])
                self.client.get(views[name], name=name)
        else:
            for name, path in views.items():
                self.client.get(path, name=name)
            self._post_visit()
            if os.environ.get("BENCH_SUMMARY") == "1":
                self._summary()
