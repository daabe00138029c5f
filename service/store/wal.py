"""SQLite's write-ahead log copied back into the database off the request path.

By default the connection whose commit brings the log to 1,000 pages copies it back, inside
that request. At a million stored articles one ingest writes some 60 pages (its LSH band
keys land on random index pages), so every 17th single-article ingest paid 15-20 ms for
the copy: p95 51 ms against a p50 of 35 (FIGURES.md, "A million stored articles"). A
serving process's connections never checkpoint (``wal_autocheckpoint=0``); a thread of its
own does, every ``every`` seconds, PASSIVE (it waits for no writer or reader, and copies
what it can). The log holds at most what is written between two ticks, plus what a long
reader pins. Other processes (the reindex, the CLI) keep SQLite's default.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def _checkpoint_every(engine: Engine, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # a busy or broken store: the next tick tries again
            log.warning("WAL checkpoint failed; retrying", exc_info=True)


@contextlib.contextmanager
def background_checkpoints(engine: Engine, every: float = 1.0) -> Iterator[None]:
    """Checkpoint a SQLite store from a thread while the block runs (nothing on other
    stores); a last TRUNCATE checkpoint at the end leaves an empty log behind."""
    if engine.dialect.name != "sqlite":
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_checkpoint_every, args=(engine, every, stop), name="wal-checkpoint", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(Exception), engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
