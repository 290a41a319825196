"""Settings: defaults, the development secret file, and what production refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings

pytestmark = pytest.mark.no_database


def test_development_defaults_to_sqlite_under_var_and_generates_a_secret_once(tmp_path):
    first = Settings(environment="development", var_dir=tmp_path, database_url="", secret_key="")
    assert first.database_url == f"sqlite:///{tmp_path / 'casework.sqlite3'}"
    assert len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    second = Settings(environment="development", var_dir=tmp_path, database_url="", secret_key="")
    assert second.secret_key == first.secret_key
    assert first.time_zone == "Europe/London"
    assert first.upload_limit_bytes == 20 * 1024 * 1024


def test_production_refuses_to_start_without_a_secret(tmp_path):
    with pytest.raises(ValidationError, match="CASEWORK_SECRET_KEY must be set"):
        Settings(environment="production", var_dir=tmp_path, database_url="postgresql+psycopg://x/y",
                 secret_key="")
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_to_start_without_a_database_url(tmp_path):
    with pytest.raises(ValidationError, match="CASEWORK_DATABASE_URL must be set"):
        Settings(environment="production", var_dir=tmp_path, database_url="", secret_key="s" * 40)


def test_short_secret_and_unknown_time_zone_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(var_dir=tmp_path, secret_key="short")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(var_dir=tmp_path, secret_key="s" * 40, time_zone="Mars/Olympus_Mons")


def test_settings_come_from_casework_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEWORK_TIME_ZONE", "America/New_York")
    monkeypatch.setenv("CASEWORK_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("CASEWORK_UPLOAD_LIMIT_MB", "5")
    settings = Settings(var_dir=tmp_path)
    assert settings.time_zone == "America/New_York"
    assert settings.session_idle_minutes == 15
    assert settings.upload_limit_bytes == 5 * 1024 * 1024
