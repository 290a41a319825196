"""Reading an HTML form into an XForm schema and turning validation errors into messages beside each field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from app.auth.deps import CurrentSession
from app.errors import FORM_ERROR, RuleBroken
from app.web.body import read_form

T = TypeVar("T", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

IGNORED_FIELDS = frozenset({"csrf_token"})
__all__ = ["FORM_ERROR", "VERBATIM", "Posted", "PostedForm", "PublicForm", "Submitted", "Verbatim", "shown_on",
           "validate_form"]


class Verbatim:
    """Marks a schema field whose posted value is passed on exactly as typed, never stripped: a password, where
    a space at either end is part of it (`password: Annotated[str, VERBATIM] = Field(...)`)."""


VERBATIM = Verbatim()


def verbatim_fields(schema: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, info in schema.model_fields.items()
                     if any(isinstance(marker, Verbatim) for marker in info.metadata))


@dataclass
class FormResult(Generic[T]):
    data: T | None
    values: dict[str, object]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.errors


def _label(schema: type[BaseModel], name: str) -> str:
    info = schema.model_fields.get(name)
    title = info.title if info is not None and info.title else name.replace("_", " ")
    return title


def message_for(schema: type[BaseModel], error: ErrorDetails) -> tuple[str, str]:
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else FORM_ERROR
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return FORM_ERROR, f"The form sent a field this page does not accept ({name})."
    if name not in schema.model_fields:
        name = FORM_ERROR
    label = _label(schema, name) if name != FORM_ERROR else ""
    lower = label[:1].lower() + label[1:]
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return name, f"Enter {lower}."
    if kind == "string_too_short":
        return name, f"{label} must be at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return name, f"{label} must be {ctx['max_length']} characters or fewer."
    if kind in ("enum", "literal_error"):
        return name, f"Choose {lower} from the list."
    if kind.startswith("date") or kind.startswith("datetime"):
        return name, f"Enter {lower} as a real date, for example 3 March 2026."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        if name.endswith("_id"):
            return name, f"Choose {lower} from the list."
        return name, f"{label} is too {'small' if kind.startswith('greater') else 'large'}."
    if kind.startswith("int") or kind.startswith("float"):
        return name, f"Enter {lower} as a number."
    if kind.startswith("bool"):
        return name, f"Choose yes or no for {lower}."
    msg = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return name, msg


def validate_form(form: FormData, schema: type[T], *, lists: frozenset[str] = frozenset()) -> FormResult[T]:
    """Validate posted fields; empty inputs count as absent, fields named in `lists` keep every value, and text is
    stripped of spaces at either end except in fields marked VERBATIM."""
    values: dict[str, object] = {}
    verbatim = verbatim_fields(schema)
    for key in form:
        if key in IGNORED_FIELDS:
            continue
        if key in lists:
            values[key] = [v for v in form.getlist(key) if isinstance(v, str) and v != ""]
        else:
            raw = form.get(key)
            values[key] = raw.strip() if isinstance(raw, str) and key not in verbatim else raw
    payload = {k: v for k, v in values.items() if v != ""}
    try:
        data = schema.model_validate(payload)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, RuleBroken):
                for name, message in cause.errors.items():
                    errors.setdefault(name, message)
                continue
            name, message = message_for(schema, error)
            errors.setdefault(name, message)
        order = list(schema.model_fields)
        ordered = dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1))
        return FormResult(None, values, ordered)
    return FormResult(data, values)


async def public_form(request: Request) -> FormData:
    """The form of a request that needs no session (sign-in), read within the size limit."""
    return await read_form(request)


async def signed_in_form(request: Request, _: CurrentSession) -> FormData:
    """The form of a signed-in user's request. The session and CSRF checks come first, so an anonymous or
    forged request is refused before its body is read. Endpoints taking the form stay synchronous, so their
    database work and password hashing run in the thread pool."""
    return await read_form(request)


PublicForm = Annotated[FormData, Depends(public_form)]
PostedForm = Annotated[FormData, Depends(signed_in_form)]


@dataclass(frozen=True)
class Submitted:
    """What the user typed into the form a request carries, kept on `request.state.submitted` so that the page
    answering a broken rule or a stale form (app/web/errors.py) shows it again, with the schema's labels."""

    schema: type[BaseModel]
    values: dict[str, object]

    def labels(self) -> dict[str, str]:
        return {name: _label(self.schema, name) for name in self.schema.model_fields}


def Posted(schema: type[T], *, lists: frozenset[str] = frozenset()) -> Any:  # noqa: N802  (reads as a type)
    """Route parameter default: the posted form validated into `schema`, or RuleBroken with a message beside
    each field (the handler shows the form page again with 422). Declare it after the case scope, so that a
    person out of scope is refused before anything they sent is looked at."""

    async def dependency(request: Request, form: PostedForm) -> T:
        result = validate_form(form, schema, lists=lists)
        request.state.submitted = Submitted(schema, result.values)
        if result.data is None:
            raise RuleBroken(result.errors)
        return result.data

    dependency.form_schema = schema  # type: ignore[attr-defined]  # a function attribute, read by the route-table tests
    return Depends(dependency)


def shown_on(path: str) -> Callable[[F], F]:
    """Declares the page whose form a POST route handles, when it is not the GET of the route's own path (an
    addendum posted from the visit page). `path` takes the route's path parameters: "/people/{reference}"."""

    def mark(endpoint: F) -> F:
        endpoint.form_page = path  # type: ignore[attr-defined]  # a function attribute, read by the error handlers
        return endpoint

    return mark


def form_page_path(endpoint: Callable[..., Any] | None, path: str, path_params: dict[str, Any]) -> str:
    """The path of the page that shows the form `endpoint` handles."""
    template = getattr(endpoint, "form_page", None)
    return template.format(**path_params) if template else path
