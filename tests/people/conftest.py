"""People fixtures come from tests/case_fixtures.py (shared with the alerts tests)."""

from tests.case_fixtures import make_person, today  # noqa: F401
