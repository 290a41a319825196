"""Web fixtures: people from tests/case_fixtures.py."""

from tests.case_fixtures import make_person, today  # noqa: F401
