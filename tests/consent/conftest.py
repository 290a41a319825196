"""Consent tests share the referrals fixtures: the app with both sets of pages, and the people fixtures."""

from tests.case_fixtures import make_person, today  # noqa: F401
from tests.referrals.conftest import client  # noqa: F401
