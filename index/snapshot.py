"""Snapshots of the vector index on disk: written to a new file, switched by atomic rename.

A snapshot carries the ids it holds; it is used only when those are exactly the store's
vectors up to its highest id (vectors added after it are replayed from the store), so a
stale or damaged file is never trusted: the index is rebuilt from the store instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from index.vector_index import FaissIndex

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.faiss"
IDS_FILE = "vectors.ids"
META_FILE = "vectors.json"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class SnapshotMeta:
    dim: int
    count: int
    max_id: int
    version: str


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes | np.ndarray) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        if isinstance(data, np.ndarray):
            data.tofile(out)  # no copy of a serialised index (hundreds of MB) as bytes
        else:
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


@contextlib.contextmanager
def _locked(directory: Path, how: int) -> Iterator[None]:
    """A file lock on the snapshot directory: the processes serving one store share it,
    and one's three files must never be read, or renamed over, beside another's."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, how)
        yield


def save_snapshot(index: FaissIndex, directory: Path, version: str) -> SnapshotMeta:
    """Write the index and its ids, then its description; a crash between leaves a mismatch
    that ``load_snapshot`` detects."""
    ids = index.ids()
    meta = SnapshotMeta(index.dim, len(ids), int(ids.max()) if len(ids) else 0, version)
    data = faiss.serialize_index(index.faiss_index)  # written as it is: no second copy
    with _locked(directory, fcntl.LOCK_EX):
        _write_atomic(directory / INDEX_FILE, data)
        _write_atomic(directory / IDS_FILE, ids.astype("<i8").tobytes())
        _write_atomic(directory / META_FILE, json.dumps(asdict(meta)).encode())
        _fsync_dir(directory)
    return meta


def load_snapshot(directory: Path, dim: int, version: str) -> FaissIndex | None:
    """The saved index, or None when it is missing, damaged or made for another vector version."""
    if not (directory / META_FILE).exists():
        return None
    try:
        with _locked(directory, fcntl.LOCK_SH):
            meta = SnapshotMeta(**json.loads((directory / META_FILE).read_text()))
            raw = np.frombuffer((directory / INDEX_FILE).read_bytes(), dtype=np.uint8)
            ids = np.frombuffer((directory / IDS_FILE).read_bytes(), dtype="<i8")
        loaded = faiss.deserialize_index(raw)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        log.warning(
            "index snapshot in %s is damaged (%s); rebuilding from the store", directory, exc
        )
        return None
    if (
        not isinstance(loaded, faiss.IndexIDMap2 | faiss.IndexIVF)
        or meta.dim != dim
        or meta.version != version
        or loaded.ntotal != meta.count
        or len(ids) != meta.count
        or loaded.d != dim
    ):
        log.warning("index snapshot in %s does not match the configuration; rebuilding", directory)
        return None
    index = FaissIndex(dim, loaded)
    if not np.array_equal(index.ids(), ids):
        log.warning("index snapshot in %s holds other ids than it lists; rebuilding", directory)
        return None
    return index
