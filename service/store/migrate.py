"""The schema, created and migrated by the service's own migrations at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


MIGRATE_KEY = 0x6E657773 + 3  # PostgreSQL advisory lock: one process migrates at a time


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (a no-op when it is there). Processes that
    start together on one PostgreSQL store take turns: the first migrates, the others then
    find the schema there."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
