"""Locks that die with their holder, so a crash never leaves one stuck (a file lock for
SQLite, a session advisory lock on PostgreSQL): one reindex at a time, and one serving
process per store."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from service.store.core import Store
from service.store.window import mark_interrupted

LOCK_KEY = 0x6E657773  # the advisory lock that keeps reindexes apart on PostgreSQL
SERVE_KEY = LOCK_KEY + 1  # the one that keeps a second serving process off a store


class ReindexBusy(RuntimeError):
    """Another reindex holds the lock."""


@contextlib.contextmanager
def reindex_lock(data_dir: Path, store: Store) -> Iterator[None]:
    """One reindex at a time. The lock dies with its holder: a file lock on the data dir
    (SQLite), a session advisory lock (PostgreSQL), so a crashed run never leaves it stuck."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                raise ReindexBusy("another reindex is running")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "reindex.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ReindexBusy("another reindex is running") from exc
        yield


class StoreBusy(RuntimeError):
    """Another process serves this store."""


@contextlib.contextmanager
def serve_lock(store: Store, data_dir: Path) -> Iterator[None]:
    """Held while a process serves the store: a second one is refused, because the copy
    state and the story index live in each process's memory, so two processes would each
    open a group for one text. SQLite: a file lock beside the database file; PostgreSQL: a
    session advisory lock on a connection held for the process's life."""
    if store.engine.dialect.name == "postgresql":
        conn = store.engine.connect()
        try:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SERVE_KEY}).scalar():
                raise StoreBusy(
                    "another newsdedup process is serving this PostgreSQL database; run one "
                    "API process per store (each holds copy detection and the story index "
                    "in memory, so a second would open its own groups for the same texts)"
                )
            conn.commit()
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SERVE_KEY})
        finally:
            conn.close()
        return
    database = store.engine.url.database
    path = Path(database) if database and database != ":memory:" else data_dir / "memory.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".serve.lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreBusy(
                f"the SQLite store {path} is already served by {holder}; SQLite serves one "
                "process (copy detection and the story index live in its memory). Stop it, "
                "or give this process its own NEWSDEDUP_DATA_DIR; for a store several "
                "programs share, use PostgreSQL (NEWSDEDUP_DATABASE_URL=postgresql+psycopg://...)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        yield


def settle_interrupted_runs(data_dir: Path, store: Store) -> int:
    """Runs still marked running whose holder died are marked interrupted, if no run holds
    the lock now (a live run is left alone). Returns how many were marked."""
    try:
        with reindex_lock(data_dir, store):
            return mark_interrupted(store)
    except ReindexBusy:
        return 0
