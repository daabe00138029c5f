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


def compact(engine: Engine) -> int | None:
    """Pack a SQLite store's tables and return its free pages to the file system (VACUUM):
    a migration that moves columns out of a table leaves its rows' pages part empty, so an
    update rewrites as many pages as before it (the 1M reindex's article updates: 30 s on a
    moved store, 16 s once compacted; ``FIGURES.md``). Answers the bytes the file shrank
    by; None on PostgreSQL, whose own vacuum keeps its tables. It writes a copy of the
    store and blocks writers until done: run it with the service stopped."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        size = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        before = int(conn.exec_driver_sql(size).scalar_one())
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return before - int(conn.exec_driver_sql(size).scalar_one())
