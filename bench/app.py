"""The application as the benchmark serves it: the real app plus an X-SQL-Statements header on every response and
/bench/baseline, a page built with the base template and a people-list-sized table that touches the database only
for the sign-in check, so that each page's throughput can be stated as a share of what the stack itself can do.

Served by bench/run.py as `uvicorn bench.app:create_bench_app --factory`; nothing of it is in app/.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy import event
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.deps import require
from app.auth.permissions import Permission
from app.config import get_settings
from app.db import get_engine
from app.main import create_app
from app.web.templating import templates

# Each request carries a one-item list that the listener adds to: a mutable holder, because sync endpoints run
# in a copy of the request's context.
statements: ContextVar[list[int] | None] = ContextVar("bench_statements", default=None)

BASELINE_PAGE = """{% extends "base.html" %}{% block title %}Baseline{% endblock %}{% block content %}
<h1>Baseline</h1><table class="table table--stack"><thead><tr><th scope="col">Name</th><th scope="col">Reference</th>
<th scope="col">Status</th><th scope="col">Current facility</th><th scope="col" class="num">Days detained</th>
<th scope="col">Alerts</th></tr></thead><tbody>{% for row in rows %}<tr><th scope="row"><a href="/people/{{ row.ref }}">
{{ row.family | upper }}, {{ row.given }}</a></th><td><code class="reference">{{ row.ref }}</code></td>
<td>{{ row.status }}</td><td>{{ row.facility }}</td><td class="num">{{ row.days }}</td>
<td><span class="tag tag--alert">{{ row.alert }}</span></td></tr>{% endfor %}</tbody></table>{% endblock %}"""


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    counter = statements.get()
    # BEGIN is left out so SQLite (explicit BEGIN IMMEDIATE) and PostgreSQL (implicit) count alike.
    if counter is not None and not statement.lstrip().upper().startswith("BEGIN"):
        counter[0] += 1


class CountStatements:
    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        counter = [0]
        token = statements.set(counter)

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-sql-statements", str(counter[0]).encode()))
            await send(message)

        try:
            await self.inner(scope, receive, send_counted)
        finally:
            statements.reset(token)


def create_bench_app() -> FastAPI:
    if get_settings().is_production:
        raise SystemExit("The benchmark app never runs in production.")
    app = create_app()
    event.listen(get_engine(), "before_cursor_execute", _count_statement)
    page = templates.env.from_string(BASELINE_PAGE)
    rows = [{"ref": f"BNCH-{i:04d}", "family": "Fictivo", "given": f"Testa {i}", "status": "Detained",
             "facility": "Brook House", "days": 40 + i, "alert": "Detained 28 days or more"} for i in range(50)]

    @app.get("/bench/baseline", include_in_schema=False)
    def baseline(request: Request, _user: object = Depends(require(Permission.view_caseload))) -> HTMLResponse:
        state = request.state
        return HTMLResponse(page.render(request=request, current_user=state.user, csrf_token=state.csrf_token,
                                        flashes=[], correlation_id=getattr(state, "correlation_id", None), rows=rows))

    app.add_middleware(CountStatements)
    return app
