"""Health event tests share the visit tests' fixtures (case fixtures, and a client serving both routers)."""

from tests.case_fixtures import make_person, today  # noqa: F401
from tests.visits.conftest import client  # noqa: F401
