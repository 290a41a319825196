"""The API's OpenAPI document and its docs page, for signed-in users only: built from the API router's routes
alone, so nothing of the HTML app is described."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from starlette.responses import JSONResponse, Response

from app.api.routes import PREFIX
from app.api.routes import router as api_router
from app.auth.deps import require
from app.auth.permissions import Permission
from app.auth.tokens import DOMAINS
from app.web.templating import render

docs_router = APIRouter(prefix=PREFIX)
SignedIn = Depends(require(Permission.view_home))


@cache
def openapi_document() -> dict[str, Any]:
    document = get_openapi(
        title="Detention casework tracker API", version="1",
        description="Personal-token access to the records you may see on the pages, under the same rules. "
                    "See /api/v1/docs.",
        routes=api_router.routes,
    )
    document.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "A personal API token (ct_...)"}}
    document["security"] = [{"bearer": []}]
    return document


@docs_router.get("/openapi.json", include_in_schema=False)
def openapi_json(_user: Any = SignedIn) -> Response:
    return JSONResponse(openapi_document())


def _endpoints() -> list[dict[str, Any]]:
    found = []
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            found.append({"method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                          "description": operation.get("description", ""),
                          "parameters": [p["name"] for p in operation.get("parameters", [])]})
    return found


@docs_router.get("/docs", include_in_schema=False)
def docs_page(request: Request, _user: Any = SignedIn) -> Response:
    return render(request, "auth/tokens_api_docs.html", {"endpoints": _endpoints(), "domains": DOMAINS})
