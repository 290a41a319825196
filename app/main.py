"""create_app(): routers, middleware, templates, static files and error pages."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import app.models  # noqa: F401  (every mapper configured before the first query)
from app import logs
from app.api.docs import docs_router as api_docs_router
from app.api.routes import router as api_router
from app.audit.views import router as audit_router
from app.auth.deps import PUBLIC
from app.auth.mfa_views import router as mfa_router
from app.auth.token_views import router as tokens_router
from app.auth.views import admin_router, sessions_router
from app.auth.views import router as auth_router
from app.casefile.views import router as casefile_router
from app.config import PROJECT_ROOT, get_settings
from app.consent.views import router as consent_router
from app.contacts.views import router as contacts_router
from app.db import DbSession
from app.detention.views import episodes_router, facilities_router, hearings_router, removals_router
from app.evidence.views import documents_router, rule35_router
from app.evidence.views import router as evidence_router
from app.health_events.views import router as health_events_router
from app.home.views import router as home_router
from app.imports.views import router as imports_router
from app.intake.public import router as referral_form_router
from app.intake.views import router as intake_router
from app.medicolegal.letter_views import router as letters_router
from app.medicolegal.letter_views import templates_router as letter_templates_router
from app.medicolegal.views import router as medicolegal_reports_router
from app.people.views import router as people_router
from app.referrals.views import organisations_router
from app.referrals.views import router as referrals_router
from app.reports.narrative_views import router as narratives_router
from app.reports.operations_views import router as operations_router
from app.reports.views import router as reports_router
from app.visits.planned_views import calendar_router
from app.visits.planned_views import router as planned_visits_router
from app.visits.views import router as visits_router
from app.web import errors
from app.web.middleware import SecurityMiddleware
from app.work.account import router as reminders_account_router
from app.work.views import notes_router, person_tasks_router, tasks_router

# In matching order: the people router's fixed paths ("/people/new") come before the case file's
# "/people/{reference}".
ROUTERS: tuple[APIRouter, ...] = (
    auth_router, referral_form_router,
    home_router, admin_router, people_router, casefile_router, facilities_router, episodes_router,
    removals_router, hearings_router, notes_router, person_tasks_router, tasks_router, intake_router,
    visits_router, health_events_router, evidence_router, documents_router, rule35_router,
    planned_visits_router, calendar_router,
    letters_router, letter_templates_router, medicolegal_reports_router,
    consent_router, referrals_router, organisations_router, contacts_router, reports_router, operations_router,
    narratives_router, mfa_router, reminders_account_router, audit_router, sessions_router,
    imports_router,
    # The API's docs (signed-in pages) before the API itself, whose last route answers any other /api/v1 path.
    tokens_router, api_docs_router, api_router,
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
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every endpoint of the app, for the route audits in the tests (included routers are walked through
    ROUTERS because FastAPI no longer lists their routes on app.routes)."""
    direct = [r for r in app.routes if isinstance(r, APIRoute)]
    return direct + [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
