"""One reindex at a time: a lock that dies with its holder, so a crashed run never leaves
it stuck (a file lock on the data dir for SQLite, a session advisory lock on PostgreSQL)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from service.store.core import Store
from service.store.window import mark_interrupted

LOCK_KEY = 0x6E657773  # the advisory lock that keeps reindexes apart on PostgreSQL


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


def settle_interrupted_runs(data_dir: Path, store: Store) -> int:
    """Runs still marked running whose holder died are marked interrupted, if no run holds
    the lock now (a live run is left alone). Returns how many were marked."""
    try:
        with reindex_lock(data_dir, store):
            return mark_interrupted(store)
    except ReindexBusy:
        return 0
