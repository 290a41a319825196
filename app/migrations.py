"""Alembic for the application's own database: where the migrations live, and bringing the schema to the head."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.config import PROJECT_ROOT

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return cfg


def run_migrations() -> None:
    from alembic import command

    command.upgrade(alembic_config(), "head")
