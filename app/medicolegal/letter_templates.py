"""Letter template files: reading them from the templates folder, checking each against the fixed list of fields,
and filling a usable one in Jinja's sandbox.

A template is a plain-text file (`<key>.txt`) that starts with a header between two `---` lines giving its title
and kind, then the letter, with `{{ field }}` where a value from the record goes:

    ---
    title: Concern letter to the centre's healthcare team
    kind: healthcare_concern
    ---
    Dear Healthcare Manager,
    ...

A template may use only the fields in FIELDS, and only as plain values: `{{ field }}`, `{% if field %}` and the
filters in FILTERS. Anything else (an unknown field, an attribute, a call, an include) is a problem reported with
its file and line on the admin page, and a template with a problem cannot be used. The sandbox is kept as a second
line of defence should a check ever miss something.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from app.config import get_settings

SHIPPED_DIR = Path(__file__).resolve().parent / "letter_templates"
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
# A template file larger than this is not a letter.
MAX_BYTES = 64 * 1024
TITLE_LIMIT = 200

KINDS = {
    "healthcare_concern": "Concern to a centre's healthcare team",
    "rule35_follow_up": "Rule 35 follow-up",
    "fitness_to_fly": "Fitness to fly",
    "other": "Other letter",
}

# The fields a template may use, in the order the admin page lists them, with what each holds. Every value is
# plain text; a value the record does not hold is "not recorded".
FIELDS: dict[str, str] = {
    "person_name": "The person's full name, given names first.",
    "given_names": "The person's given names.",
    "family_name": "The person's family name.",
    "case_reference": "The case reference, for example K7Q2-M9XD.",
    "date_of_birth": "Date of birth, or the year of birth when only the year is known (\"1994 (age "
                     "disputed)\").",
    "home_office_reference": "The Home Office reference.",
    "centre": "The centre where the person is held now.",
    "detention_start_date": "The day the current detention began.",
    "days_detained": "Days detained so far in the current detention, counting the first day.",
    "latest_visit_date": "The date of the latest signed visit.",
    "latest_visit_clinician": "The clinician who made the latest signed visit.",
    "rule35_limb": "The kind of the latest Rule 35 report, for example \"Rule 35(3): torture concern\".",
    "rule35_written_date": "The date the latest Rule 35 report was written.",
    "rule35_sent_date": "The date the latest Rule 35 report was sent to the Home Office.",
    "rule35_response_date": "The date the Home Office responded to the latest Rule 35 report.",
    "legal_representative": "The person's legal representative: firm, and caseworker when known.",
    "today": "Today's date.",
    "signer_name": "The name of the person who fills in the letter (the draft can be changed if someone "
                   "else signs it).",
    "signer_role": "Their role in the organisation: Clinician, Coordinator or Administrator.",
}
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "default", "trim"})
# The only parts of Jinja a template may use: text, plain field values, conditions on them and the filters above.
ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.If, nodes.Not,
                 nodes.And, nodes.Or, nodes.CondExpr, nodes.Filter)


@dataclass(frozen=True)
class LetterTemplate:
    """One template file as read and checked. `problems` are plain sentences naming the file and line."""

    key: str
    filename: str
    title: str
    kind: str
    body: str
    fields: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    # The file line on which the body starts, so that Jinja's line numbers can be given as the file's.
    body_line: int = 1

    @property
    def usable(self) -> bool:
        return not self.problems

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass
class _Header:
    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    body: str = ""
    body_line: int = 1


def environment() -> SandboxedEnvironment:
    """The sandbox every template is checked and filled in: an unknown value is an error, never an empty string,
    and a value is escaped so that it can never become markup."""
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none")}
    env.globals = {}
    return env


def templates_dir() -> Path:
    configured = get_settings().letter_templates_dir
    return configured if configured is not None else SHIPPED_DIR


def _header(filename: str, text: str) -> _Header:
    header = _Header()
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        header.problems.append(f"{filename}, line 1: the file must start with a header: a line \"---\", then "
                               "\"title: ...\" and \"kind: ...\", then another line \"---\".")
        header.body = text
        return header
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            header.body = "\n".join(lines[number:])
            header.body_line = number + 1
            break
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or name not in ("title", "kind"):
            header.problems.append(f"{filename}, line {number}: the header may hold only \"title: ...\" and "
                                   "\"kind: ...\".")
            continue
        header.values[name] = value.strip()
    else:
        header.problems.append(f"{filename}: the header has no closing line \"---\".")
    title, kind = header.values.get("title", ""), header.values.get("kind", "")
    if not title:
        header.problems.append(f"{filename}: the header gives no title (\"title: ...\").")
    elif len(title) > TITLE_LIMIT:
        header.problems.append(f"{filename}: the title must be {TITLE_LIMIT} characters or fewer.")
    if kind not in KINDS:
        header.problems.append(f"{filename}: the kind must be one of {', '.join(KINDS)}"
                               f"{f' (it is {kind!r})' if kind else ''}.")
    return header


def _check_body(env: SandboxedEnvironment, filename: str, body: str, offset: int) -> tuple[tuple[str, ...],
                                                                                           list[str]]:
    """The fields the body uses, and its problems, each with its line in the file."""
    try:
        tree = env.parse(body)
    except TemplateSyntaxError as exc:
        line = (exc.lineno or 1) + offset
        return (), [f"{filename}, line {line}: the template cannot be read ({exc.message}). Check the "
                    "{{ and }} around each field."]
    problems: list[str] = []
    used: set[str] = set()
    for node in tree.find_all(nodes.Node):
        line = getattr(node, "lineno", 1) + offset
        if not isinstance(node, ALLOWED_NODES):
            problems.append(f"{filename}, line {line}: only plain fields such as {{{{ person_name }}}} can be "
                            f"used; this template uses {type(node).__name__.lower()}, which is not allowed.")
        elif isinstance(node, nodes.Name):
            if node.name not in FIELDS:
                problems.append(f"{filename}, line {line}: \"{node.name}\" is not a field letters can use. "
                                "Use one of the fields listed on this page.")
            else:
                used.add(node.name)
        elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
            problems.append(f"{filename}, line {line}: the filter \"{node.name}\" is not allowed (only "
                            f"{', '.join(sorted(FILTERS))}).")
    if not problems:
        # A trial fill with every field set catches what only shows when filling (a filter given a wrong argument).
        try:
            env.from_string(body).render({name: "x" for name in FIELDS})
        except TemplateError as exc:
            problems.append(f"{filename}: the template cannot be filled ({exc}).")
    return tuple(name for name in FIELDS if name in used), problems


def read(path: Path) -> LetterTemplate:
    """One template file, checked."""
    filename, key = path.name, path.stem
    problems: list[str] = []
    if not KEY.match(key):
        problems.append(f"{filename}: a template's file name may hold only small letters, digits, - and _.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return LetterTemplate(key, filename, key, "", "", problems=(f"{filename}: the file cannot be read "
                                                                     f"({exc.strerror}).",))
    if len(raw) > MAX_BYTES:
        return LetterTemplate(key, filename, key, "", "", problems=(f"{filename}: the file is larger than "
                                                                     f"{MAX_BYTES // 1024} KB.",))
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return LetterTemplate(key, filename, key, "", "", problems=(f"{filename}: the file is not UTF-8 text.",))
    header = _header(filename, text)
    problems += header.problems
    fields, body_problems = _check_body(environment(), filename, header.body, header.body_line - 1)
    return LetterTemplate(key, filename, header.values.get("title") or key, header.values.get("kind", ""),
                          header.body, fields, tuple(problems + body_problems), header.body_line)


def load_all(directory: Path | None = None) -> list[LetterTemplate]:
    """Every template in the folder, by title; a missing folder holds none."""
    folder = directory or templates_dir()
    if not folder.is_dir():
        return []
    found = [read(path) for path in sorted(folder.glob("*.txt")) if path.is_file()]
    return sorted(found, key=lambda t: (t.title.lower(), t.key))


def get(key: str, directory: Path | None = None) -> LetterTemplate | None:
    if not KEY.match(key):
        return None
    path = (directory or templates_dir()) / f"{key}.txt"
    return read(path) if path.is_file() else None


def fill(template: LetterTemplate, values: dict[str, str]) -> str:
    """The letter's text from a usable template. Values are escaped as they go in (autoescape); the letter is kept
    as plain text, so the result is unescaped once here, and every page and the PDF escape it again where they
    show it."""
    if not template.usable:
        raise ValueError(f"template {template.key} has problems")
    rendered = environment().from_string(template.body).render({name: values.get(name, "") for name in FIELDS})
    return html.unescape(rendered).strip() + "\n"
