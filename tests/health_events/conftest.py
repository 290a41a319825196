"""Health event tests use the shared fixtures: tests/conftest.py and tests/case_fixtures.py (make_person, today)."""
