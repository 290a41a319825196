"""Consent tests: the case fixtures."""

from tests.case_fixtures import make_person, today  # noqa: F401
