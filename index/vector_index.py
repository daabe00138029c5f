"""FAISS with our own int64 ids, behind the small interface that clustering needs.

Exact inner-product search for now; approximate indexes and snapshots extend this
interface for the reindex.
"""

from __future__ import annotations

from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    """Unit vectors under int64 ids; search answers inner products (cosines)."""

    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def remove(self, ids: np.ndarray) -> int: ...


def _as_ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)


def _as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"vectors must have shape (n, {dim}), got {array.shape}")
    return array


class FlatIPIndex:
    """Exact search: every query compares with every vector (right up to ~10^5 vectors)."""

    def __init__(self, dim: int, index: faiss.IndexIDMap2 | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def faiss_index(self) -> faiss.IndexIDMap2:
        return self._index

    def ids(self) -> np.ndarray:
        """Every id in the index."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under ids that the index does not hold yet."""
        ids = _as_ids(ids)
        vectors = _as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        self._index.add_with_ids(vectors, ids)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosines and ids of the ``k`` nearest vectors per query; missing ones have id -1."""
        vectors = _as_vectors(vectors, self.dim)
        if len(self) == 0 or len(vectors) == 0:
            shape = (len(vectors), k)
            return np.full(shape, -np.inf, dtype=np.float32), np.full(shape, -1, dtype=np.int64)
        sims, ids = self._index.search(vectors, k)
        return sims, ids

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; answers how many were there."""
        return int(self._index.remove_ids(faiss.IDSelectorBatch(_as_ids(ids))))
