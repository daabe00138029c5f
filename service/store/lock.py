"""Locks that die with their holder, so a crash never leaves one stuck (a file lock for
SQLite, a session advisory lock on PostgreSQL): one reindex at a time, one serving process
per SQLite store, and one live write at a time across the processes that share a
PostgreSQL store."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from service.store.core import Store
from service.store.window import mark_interrupted

LOCK_KEY = 0x6E657773  # the advisory lock that keeps reindexes apart on PostgreSQL
WRITE_KEY = LOCK_KEY + 2  # the one live writers of every process take in turn


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
    """Another process serves this SQLite store."""


@contextlib.contextmanager
def serve_lock(store: Store, data_dir: Path) -> Iterator[None]:
    """Held while a process serves a SQLite store: a second one is refused, because SQLite
    takes one writer and its file is this machine's alone; several processes share a store
    through PostgreSQL, where they take turns with ``WriteLock`` and replay each other's
    writes from the change feed (nothing to hold here). A file lock beside the database
    file, so it dies with its holder."""
    if store.engine.dialect.name == "postgresql":
        yield
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
                "process (the embedded store, one writer). Stop it, or give this process its "
                "own NEWSDEDUP_DATA_DIR; to run several API processes on one store, use "
                "PostgreSQL (NEWSDEDUP_DATABASE_URL=postgresql+psycopg://...), where they "
                "take turns to write and replay each other's writes"
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


class WriteBusy(RuntimeError):
    """Another process held the store's write lock for longer than a write may wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"another process has held the store's write lock for {seconds:g} s; retry shortly"
        )
        self.seconds = seconds


class WriteLock:
    """One live write at a time across every process serving a PostgreSQL store: a session
    advisory lock, taken on a connection kept for it, so a killed holder's lock goes with
    its connection. Copy detection, furniture counts, merges and story placement all read
    what the writes before them left, so a write sees everything committed before it (the
    change feed) and nothing commits beside it. SQLite serves one process: there the
    process's own lock is enough and this holds nothing."""

    def __init__(self, store: Store, wait_seconds: float = 30.0) -> None:
        self._store = store
        self._wait = wait_seconds
        self._shared = store.engine.dialect.name == "postgresql"
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            conn = self._store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f"SET lock_timeout = '{int(self._wait * 1000)}ms'"))
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        """Close the connection for good (not back to the pool: it may hold the lock)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
        self._conn = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block (waiting up to ``wait_seconds``, then WriteBusy)."""
        if not self._shared:
            yield
            return
        try:
            self._connection().execute(text("SELECT pg_advisory_lock(:k)"), {"k": WRITE_KEY})
        except DBAPIError as exc:
            self._drop()
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise WriteBusy(self._wait) from None
            raise
        try:
            yield
        finally:
            try:
                if self._conn is not None:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITE_KEY})
            except DBAPIError:
                self._drop()  # the connection, and with it the lock, is gone

    def close(self) -> None:
        self._drop()
