"""FAISS with our own int64 ids, behind the small interface that clustering needs.

Exact inner-product search while the index is small; an inverted-file index (IVF) past
``flat_max`` vectors, as the FAISS guidelines advise below ~10^6 vectors (HNSW answers
faster but cannot remove ids, which takedowns need). The ids are read back from FAISS's
own id lists, so a snapshot can be checked against the store with no copy of them held.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any, Protocol

import faiss
import numpy as np

log = logging.getLogger(__name__)
_CORES = max(1, os.cpu_count() or 1)


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


@dataclass(frozen=True)
class IndexPlan:
    """Which index to build for a count, and its parameters (logged and reported)."""

    kind: str
    nlist: int = 0
    nprobe: int = 0

    def describe(self) -> str:
        return "flat" if self.kind == "flat" else f"ivf nlist={self.nlist} nprobe={self.nprobe}"


SERVED_PROBES = 1 / 16  # recall@10 0.953 on real paragraph vectors (1/32: 0.908)
STORY_PROBES = 1 / 32  # finds 0.996 of the neighbours at cosine >= 0.6 the story step keeps


def plan_for(count: int, flat_max: int, nprobe_fraction: float = SERVED_PROBES) -> IndexPlan:
    """Flat up to ``flat_max`` vectors; then IVF with 4*sqrt(n) lists (the FAISS guideline)
    probing ``nprobe_fraction`` of them: 1/16 for the served index, where recall@10 against
    exact search on real news vectors is 0.95 (``scripts/ivf_recall.py``)."""
    if count <= flat_max:
        return IndexPlan("flat")
    nlist = max(16, int(4 * math.sqrt(count)))
    return IndexPlan("ivf", nlist, max(8, int(nlist * nprobe_fraction)))


FP16 = faiss.ScalarQuantizer.QT_fp16


def _fp16_flat(dim: int) -> Any:
    """Exact search over vectors kept as 16-bit floats: half the memory of 32-bit ones (768
    bytes a vector at 384 dimensions), cosines within 5e-4 of them (2^-11 relative) and, the scan being
    memory-bound, faster (``scripts/vector_codec.py``)."""
    return faiss.IndexScalarQuantizer(dim, FP16, faiss.METRIC_INNER_PRODUCT)


def _fp16_lists(trained: Any, plan: IndexPlan) -> Any:
    """An empty IVF over ``trained``'s lists (its quantizer's centroids, copied) keeping
    its vectors as 16-bit floats, not as residuals (``_fp16_flat`` says why)."""
    dim = trained.d
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(trained.quantizer.reconstruct_n(0, trained.nlist))
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, trained.nlist, FP16, faiss.METRIC_INNER_PRODUCT, False
    )
    ivf.is_trained = True  # the lists are trained; 16-bit floats need no training
    ivf.nprobe = plan.nprobe
    return ivf


class FaissIndex:
    """A FAISS index that answers with our ids; exact (flat) or IVF."""

    def __init__(self, dim: int, index: Any = None) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(_fp16_flat(dim))

    @property
    def faiss_index(self) -> Any:
        return self._index

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "flat"

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """Every id in the index, ascending: read from FAISS's own id lists (no copy of
        them is held beside the index)."""
        index = self._index
        if isinstance(index, faiss.IndexIVF):
            lists = index.invlists
            assert lists is not None
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(i), size).copy()
                for i in range(index.nlist)
                if (size := lists.list_size(i))
            ]
        else:
            parts = [faiss.vector_to_array(index.id_map)]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

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
        # A few queries run faster on one thread: FAISS's thread team only adds overhead there,
        # and its spinning threads fight the model's (20 ms -> 3 ms at 50k vectors). The
        # setting is per calling thread, so it is made on every call.
        faiss.omp_set_num_threads(1 if len(vectors) < 16 else _CORES)
        sims, ids = self._index.search(vectors, k)
        return sims, ids

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; answers how many were there."""
        ids = _as_ids(ids)
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))


FlatIPIndex = FaissIndex


def training_rows(count: int, plan: IndexPlan, seed: int = 0) -> np.ndarray:
    """Which of ``count`` vectors train the IVF's lists: 64 per list, drawn with ``seed``,
    ascending (a caller reading vectors from the store reads only these)."""
    size = min(count, plan.nlist * 64)
    return np.sort(np.random.default_rng(seed).choice(count, size=size, replace=False))


def trained_ivf(vectors: np.ndarray, plan: IndexPlan, dim: int, seed: int = 0) -> Any:
    """An empty IVF index of the planned shape, its quantizer trained on ``training_rows``
    of ``vectors``."""
    vectors = _as_vectors(vectors, dim)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, plan.nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors[training_rows(len(vectors), plan, seed)])
    ivf.nprobe = plan.nprobe
    return ivf


def build_index(
    ids: np.ndarray,
    vectors: np.ndarray,
    plan: IndexPlan,
    dim: int,
    seed: int = 0,
    trained: Any = None,
    assigned: np.ndarray | None = None,
) -> FaissIndex:
    """A new index over these vectors, of the planned kind (IVF is trained on a sample, or
    copied from ``trained``: an empty IVF with the plan's lists, already trained on them;
    ``assigned``: the list of ``trained`` each vector lies in, when known, so that adding
    them does not search the lists' centroids again: 6-7 s at half a million vectors)."""
    ids = _as_ids(ids)
    if plan.kind == "flat":
        index = FaissIndex(dim)
        if len(ids):
            index.add(ids, vectors)
        return index
    if trained is None or trained.nlist != plan.nlist:
        trained, assigned = trained_ivf(vectors, plan, dim, seed), None
    ivf = _fp16_lists(trained, plan)
    built = FaissIndex(dim, ivf)
    if assigned is not None:
        assigned = np.ascontiguousarray(assigned, dtype=np.int64)
        if not len(ids) == len(vectors) == len(assigned):
            raise ValueError(f"{len(assigned)} lists for {len(ids)} ids, {len(vectors)} vectors")
        if len(assigned) and not 0 <= assigned.min() <= assigned.max() < ivf.nlist:
            raise ValueError(f"a list outside 0..{ivf.nlist - 1}")
    for start in range(0, len(ids), 50_000):
        chunk = slice(start, start + 50_000)
        if assigned is None:
            built.add(ids[chunk], vectors[chunk])
        else:
            x, at, lists = _as_vectors(vectors[chunk], dim), ids[chunk], assigned[chunk]
            ivf.add_core(len(x), faiss.swig_ptr(x), faiss.swig_ptr(at), faiss.swig_ptr(lists))
    log.info("built index", extra={"index": plan.describe(), "vectors": len(ids)})
    return built
