"""People fixtures come from tests/case_fixtures.py (shared with the alerts tests) and tests/erasure_fixtures.py."""

from tests.case_fixtures import make_person, today  # noqa: F401
from tests.erasure_fixtures import full_record  # noqa: F401
