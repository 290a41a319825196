"""create_app(): routers, middleware, templates, static files and error pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import app.models  # noqa: F401  (every mapper configured before the first query)
from app.alerts.views import router as home_router
from app.audit import logs
from app.audit.views import router as audit_router
from app.auth.deps import PUBLIC
from app.auth.mfa_views import router as mfa_router
from app.auth.views import admin_router, sessions_router
from app.auth.views import router as auth_router
from app.config import PROJECT_ROOT, get_settings
from app.consent.views import router as consent_router
from app.db import DbSession, bench_mode, sql_statement_counter
from app.detention.views import episodes_router, facilities_router
from app.evidence.views import documents_router, rule35_router
from app.evidence.views import router as evidence_router
from app.health_events.views import router as health_events_router
from app.people.erasure_views import router as erasure_router
from app.people.views import router as people_router
from app.referrals.views import organisations_router
from app.referrals.views import router as referrals_router
from app.reports.narrative_views import router as narratives_router
from app.reports.views import router as reports_router
from app.visits.views import router as visits_router
from app.web import errors
from app.web.middleware import SecurityMiddleware

ROUTERS: tuple[APIRouter, ...] = (
    auth_router, home_router, admin_router, people_router, facilities_router, episodes_router,
    visits_router, health_events_router, evidence_router, documents_router, rule35_router,
    consent_router, referrals_router, organisations_router, reports_router,
    narratives_router, mfa_router, audit_router, sessions_router, erasure_router,
)


def create_app() -> FastAPI:
    settings = get_settings()
    logs.install()
    app = FastAPI(
        title="Detention casework tracker",
        docs_url=None, redoc_url=None, openapi_url=None,  # no machine API is published
    )
    app.add_middleware(SecurityMiddleware, production=settings.is_production)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", dependencies=[PUBLIC], include_in_schema=False)
    def healthz(db: DbSession) -> dict[str, str]:
        db.execute(text("SELECT 1"))  # a load balancer should stop sending traffic if the database is gone
        return {"status": "ok"}

    errors.install(app)
    if bench_mode():
        _install_bench(app)
    return app


_BASELINE_PAGE = """{% extends "base.html" %}{% block title %}Baseline{% endblock %}{% block content %}
<h1>Baseline</h1><table class="table table--stack"><thead><tr><th scope="col">Name</th><th scope="col">Reference</th>
<th scope="col">Status</th><th scope="col">Current facility</th><th scope="col" class="num">Days detained</th>
<th scope="col">Alerts</th></tr></thead><tbody>{% for row in rows %}<tr><th scope="row"><a href="/people/{{ row.ref }}">
{{ row.family | upper }}, {{ row.given }}</a></th><td><code class="reference">{{ row.ref }}</code></td>
<td>{{ row.status }}</td><td>{{ row.facility }}</td><td class="num">{{ row.days }}</td>
<td><span class="tag tag--alert">{{ row.alert }}</span></td></tr>{% endfor %}</tbody></table>{% endblock %}"""


def _install_bench(app: FastAPI) -> None:
    """Benchmark mode only: an X-SQL-Statements header on every response, and /bench/baseline, a page with the
    base template and a people-list-sized table built without touching the database beyond the sign-in check,
    so the benchmark can state each page's throughput as a share of what the stack itself can do."""
    from starlette.responses import HTMLResponse
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from app.auth.deps import require
    from app.auth.permissions import Permission
    from app.web.templating import templates

    page = templates.env.from_string(_BASELINE_PAGE)
    rows = [{"ref": f"BNCH-{i:04d}", "family": "Fictivo", "given": f"Testa {i}", "status": "Detained",
             "facility": "Brook House", "days": 40 + i, "alert": "Detained 28 days or more"} for i in range(50)]

    @app.get("/bench/baseline", include_in_schema=False)
    def baseline(request: Request, _user: object = Depends(require(Permission.view_caseload))) -> HTMLResponse:
        state = request.state
        return HTMLResponse(page.render(request=request, current_user=state.user, csrf_token=state.csrf_token,
                                        flashes=[], correlation_id=getattr(state, "correlation_id", None), rows=rows))

    class CountStatements:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.inner(scope, receive, send)
                return
            counter = [0]
            token = sql_statement_counter.set(counter)

            async def send_counted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", []).append((b"x-sql-statements", str(counter[0]).encode()))
                await send(message)

            try:
                await self.inner(scope, receive, send_counted)
            finally:
                sql_statement_counter.reset(token)

    app.add_middleware(CountStatements)


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every endpoint of the app, for the route audits in the tests (included routers are walked through
    ROUTERS because FastAPI no longer lists their routes on app.routes)."""
    direct = [r for r in app.routes if isinstance(r, APIRoute)]
    return direct + [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
