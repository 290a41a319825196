"""The route shape, checked on the whole route table: every route declares a permission or is public, every
person-scoped route declares its case scope, every object id under a person is loaded through that person, and
every integer a client can send is bounded."""

from __future__ import annotations

import enum
import re
import typing
from typing import Any

from annotated_types import Ge, Le
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.api.deps import api_person
from app.auth.deps import public_route
from app.main import api_routes, create_app
from app.people.dependencies import person_in_scope
from app.people.views import emergency_access_open
from app.web.params import MAX_ID
from tests.pages import declared_permissions, route_calls

# Person routes that may not declare the scope, each with its reason.
SCOPE_EXEMPT = {
    # Break-glass is how a clinician comes to have a person in scope: it checks assignment itself.
    emergency_access_open: "opens emergency access to a person out of scope",
}


# The API's own case scope: the same person_in_scope, called with the token's user (app/api/deps.py).
CASE_SCOPES = {person_in_scope, api_person}
# Query parameters where 0 is meaningful (how many items to skip), still bounded above.
FROM_ZERO = {"offset"}


def _routes() -> list[APIRoute]:
    return api_routes(create_app())


def _dependants(dependant: Dependant) -> list[Dependant]:
    found, stack = [], [dependant]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.dependencies)
    return found


def _path_names(route: APIRoute) -> list[str]:
    return re.findall(r"{(\w+)}", route.path)


def test_every_route_declares_a_permission_or_is_marked_public():
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in _routes()
                  if public_route not in route_calls(r) and not declared_permissions(r)]
    assert undeclared == []


def test_every_person_scoped_route_declares_its_case_scope():
    routes = [r for r in _routes() if "{reference}" in r.path]
    assert len(routes) > 40
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes
               if not CASE_SCOPES & set(route_calls(r)) and r.endpoint not in SCOPE_EXEMPT]
    assert missing == []


def test_every_object_id_under_a_person_is_loaded_through_that_person():
    """An id in a person's path is read by a loader that depends on the case scope (so another person's record
    is a 404), never by the endpoint itself, which could forget to check whom the record belongs to."""
    loose = []
    for route in _routes():
        if "{reference}" not in route.path:
            continue
        for name in _path_names(route):
            if name == "reference" or not name.endswith("_id"):
                continue
            holders = [d for d in _dependants(route.dependant) if any(f.name == name for f in d.path_params)]
            if not holders or any(d is route.dependant or not CASE_SCOPES &
                                  {s.call for s in _dependants(d)} for d in holders):
                loose.append(f"{sorted(route.methods)} {route.path}: {name}")
    assert loose == []


def _bounded(field: Any) -> bool:
    metadata = field.field_info.metadata
    lowest = 0 if field.name in FROM_ZERO else 1
    return (any(isinstance(m, Ge) and m.ge >= lowest for m in metadata)
            and any(isinstance(m, Le) and m.le <= MAX_ID for m in metadata))


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in typing.get_args(annotation)


def test_every_integer_in_a_path_or_query_is_bounded():
    unbounded = []
    for route in _routes():
        for dependant in _dependants(route.dependant):
            for field in (*dependant.path_params, *dependant.query_params):
                if _is_int(field.field_info.annotation) and not _bounded(field):
                    unbounded.append(f"{route.path}: {field.name}")
    assert unbounded == []


def test_every_string_in_a_path_is_bounded():
    """A path's text parameter is a reference of fixed shape or one of a fixed set of values (an enum)."""
    loose = []
    for route in _routes():
        for dependant in _dependants(route.dependant):
            for field in dependant.path_params:
                annotation = field.field_info.annotation
                if _is_int(annotation) or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
                    continue
                if typing.get_origin(annotation) is typing.Literal:
                    continue
                if not any(getattr(m, "max_length", None) for m in field.field_info.metadata):
                    loose.append(f"{route.path}: {field.name}")
    assert loose == []


def _schemas() -> dict[str, type[BaseModel]]:
    found = {}
    for route in _routes():
        for call in route_calls(route):
            schema = getattr(call, "form_schema", None)
            if schema is not None:
                found[schema.__name__] = schema
        # The API's JSON bodies are forms too.
        if route.body_field is not None and isinstance(route.body_field.field_info.annotation, type):
            found[route.body_field.field_info.annotation.__name__] = route.body_field.field_info.annotation
    return found


def _int_bounds(annotation: Any, metadata: list[Any]) -> list[bool]:
    """For each int the annotation admits (directly, in a union, in a list), whether it carries an upper bound."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _int_bounds(base, [*metadata, *extra])
    if annotation is int:
        # A bound is an annotated_types.Le, directly or inside a pydantic Field() in an Annotated alias.
        found = [m for m in metadata for m in (m, *getattr(m, "metadata", ()))]
        return [any(isinstance(m, Le) for m in found)]
    return [b for arg in typing.get_args(annotation) for b in _int_bounds(arg, metadata)]


def test_every_integer_field_of_every_posted_form_is_bounded():
    schemas = _schemas()
    assert len(schemas) >= 5
    unbounded = [f"{schema.__name__}.{name}" for schema in schemas.values()
                 for name, info in schema.model_fields.items()
                 if name != "version"  # a version out of range is read as none: a stale form
                 and not all(_int_bounds(info.annotation, list(info.metadata)))]
    assert unbounded == []


def test_every_api_route_declares_a_token_scope_and_a_permission():
    """Each /api/v1 route (but the signed-in docs pages) declares both what the token must reach and what the
    role must hold; its person routes go through the same case scope as the pages."""
    api = [r for r in _routes() if r.path.startswith("/api/v1/") and r.path not in ("/api/v1/docs",
                                                                                  "/api/v1/openapi.json")]
    assert len(api) >= 9
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in api
                  if not any(hasattr(c, "required_scope") for c in route_calls(r)) or not declared_permissions(r)]
    assert undeclared == []
    writes = [r for r in api if r.methods & {"POST"} and "{reference}" in r.path]
    assert writes and all(
        any(getattr(c, "required_scope", "").startswith("write:") for c in route_calls(r)) for r in writes)
    assert all(api_person in route_calls(r) for r in api if "{reference}" in r.path)
