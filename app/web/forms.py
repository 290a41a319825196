"""Reading an HTML form into an XForm schema and turning validation errors into messages beside each field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from app.auth.deps import CurrentSession
from app.web.body import read_form

T = TypeVar("T", bound=BaseModel)

IGNORED_FIELDS = frozenset({"csrf_token"})
FORM_ERROR = "__form__"


class FieldErrors(ValueError):
    """Raised from a schema's model validator for cross-field problems, each shown beside its own field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


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


def message_for(schema: type[BaseModel], error: dict) -> tuple[str, str]:  # type: ignore[type-arg]
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
    if kind.startswith("int") or kind.startswith("float"):
        return name, f"Enter {lower} as a number."
    if kind.startswith("bool"):
        return name, f"Choose yes or no for {lower}."
    msg = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return name, msg


def validate_form(form: FormData, schema: type[T], *, lists: frozenset[str] = frozenset()) -> FormResult[T]:
    """Validate posted fields; empty inputs count as absent, and fields named in `lists` keep every value."""
    values: dict[str, object] = {}
    for key in form:
        if key in IGNORED_FIELDS:
            continue
        if key in lists:
            values[key] = [v for v in form.getlist(key) if isinstance(v, str) and v != ""]
        else:
            raw = form.get(key)
            values[key] = raw.strip() if isinstance(raw, str) else raw
    payload = {k: v for k, v in values.items() if v != ""}
    try:
        data = schema.model_validate(payload)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, FieldErrors):
                for name, message in cause.errors.items():
                    errors.setdefault(name, message)
                continue
            name, message = message_for(schema, error)  # type: ignore[arg-type]
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

