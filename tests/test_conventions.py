"""The written rules of CONTRIBUTING.md that a linter does not check, checked on the source itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
MODULES = sorted(APP.rglob("*.py"))
VIEWS = [p for p in MODULES if p.name == "views.py"]

pytestmark = pytest.mark.no_database


def _relative(path: Path) -> str:
    return str(path.relative_to(APP.parent))


def test_every_module_says_what_it_is_responsible_for():
    missing = [_relative(p) for p in MODULES if not ast.get_docstring(ast.parse(p.read_text()))]
    assert missing == []


def test_only_the_session_dependency_and_the_command_line_commit():
    """One transaction per request: services flush, views neither commit nor roll back (app/db.py get_db)."""
    # An import runs after its request has answered, so it owns its transaction as a command does.
    allowed = {"app/db.py", "app/cli.py", "app/demo/generator.py", "app/imports/background.py"}
    committing = [_relative(p) for p in MODULES
                  if ".commit()" in p.read_text() and _relative(p) not in allowed]
    assert committing == []
    rolling_back = [_relative(p) for p in VIEWS if ".rollback()" in p.read_text()]
    assert rolling_back == []


def test_views_audit_through_the_audit_dependency_and_raise_the_vocabulary():
    """No view writes an audit row by hand, reads the client address itself or answers an error of its own."""
    banned = {
        "from app.audit import service": "audit rows go through `audit: Audit`",
        "client_ip(": "the Audit dependency knows the address",
        "HTTPException": "raise NotFound / Refused from app.errors",
        "person_or_refuse": "declare `person: CaseInScope`",
    }
    found = [f"{_relative(p)}: {text} ({why})" for p in VIEWS for text, why in banned.items()
             if text in p.read_text()]
    assert found == []


def test_rule_errors_are_the_one_vocabulary():
    classes = [f"{_relative(p)}: {node.name}" for p in MODULES for node in ast.walk(ast.parse(p.read_text()))
               if isinstance(node, ast.ClassDef) and re.search(r"(Rule|Field)Errors?$", node.name)]
    assert classes == []


def test_every_type_ignore_names_its_code_and_says_why():
    unexplained = [f"{_relative(p)}:{number}" for p in MODULES
                   for number, line in enumerate(p.read_text().splitlines(), 1)
                   if "type: ignore" in line and not re.search(r"type: ignore\[[\w,-]+\]\s+#\s*\S", line)]
    assert unexplained == []
