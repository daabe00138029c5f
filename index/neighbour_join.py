"""Every vector's nearest neighbours among all the others, at a cosine floor.

The story step asks each group vector for its ``k`` nearest others. Past ``flat_max``
vectors an IVF index answers that one query at a time: each query scans the lists its
``nprobe`` nearest centroids name, vector by vector, so the n queries read n * n/32
vectors from memory with little reuse (about 1,000 queries/s at 500,000 vectors here).
Turned around, it is a join: for each list, every query that probes it against the
list's vectors at once, one dense matrix product per list, which BLAS runs at full
speed. Same quantizer, same probes, so the same candidates as IVF search; only pairs at
or above ``floor`` are kept (the story step drops the others anyway), and each query keeps
its ``k`` best, as the search would.
"""

from __future__ import annotations

import os
from typing import Any

import faiss
import numpy as np

from index.vector_index import IndexPlan, trained_ivf

_CORES = max(1, os.cpu_count() or 1)
_SEARCH_BLOCK = 4096
_COMPACT_AT = 4_000_000  # buffered hits before each query's k best are kept (bounds memory)

Neighbours = tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, their neighbours, cosines


def _empty() -> Neighbours:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)


def _concat(parts: list[Neighbours]) -> Neighbours:
    if not parts:
        return _empty()
    a, b, c = zip(*parts, strict=True)
    return np.concatenate(a), np.concatenate(b), np.concatenate(c)


def _best(found: Neighbours, k: int) -> Neighbours:
    """Each row's ``k`` highest cosines, rows ascending, cosines descending."""
    a, b, cosine = found
    order = np.lexsort((b, -cosine, a))
    a, b, cosine = a[order], b[order], cosine[order]
    if len(a) == 0:
        return a, b, cosine
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    rank = np.arange(len(a)) - np.repeat(starts, np.diff(np.r_[starts, len(a)]))
    keep = rank < k
    return a[keep], b[keep], cosine[keep]


def neighbours(
    vectors: np.ndarray, plan: IndexPlan, k: int, floor: float, trained: Any = None
) -> Neighbours:
    """Each row's ``k`` nearest rows (itself included) with a cosine of at least ``floor``,
    as the index ``plan`` names would find them: exact when flat, the IVF probes otherwise
    (``trained``: that IVF, already trained on these vectors). Rows ascending, cosines
    descending within a row."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) == 0 or k <= 0:
        return _empty()
    if plan.kind == "flat":
        return _flat(vectors, k, floor)
    ivf = trained if trained is not None else trained_ivf(vectors, plan, vectors.shape[1])
    return ivf_join(vectors, ivf, k, floor)


def _flat(vectors: np.ndarray, k: int, floor: float) -> Neighbours:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.omp_set_num_threads(_CORES)
    parts = []
    for start in range(0, len(vectors), _SEARCH_BLOCK):
        sims, found = index.search(vectors[start : start + _SEARCH_BLOCK], min(k, len(vectors)))
        rows = np.repeat(np.arange(start, start + len(found), dtype=np.int64), found.shape[1])
        b, cosine = found.reshape(-1), sims.reshape(-1)
        keep = (b >= 0) & (cosine >= floor)
        parts.append((rows[keep], b[keep].astype(np.int64), cosine[keep]))
    return _best(_concat(parts), k)


def _probes(vectors: np.ndarray, quantizer: faiss.Index, nprobe: int) -> np.ndarray:
    """Each row's ``nprobe`` nearest lists, nearest first (the first is the list it is in)."""
    out = np.empty((len(vectors), nprobe), np.int32)
    faiss.omp_set_num_threads(_CORES)
    for start in range(0, len(vectors), _SEARCH_BLOCK):
        _, lists = quantizer.search(vectors[start : start + _SEARCH_BLOCK], nprobe)
        out[start : start + len(lists)] = lists
    return out


def _by_list(lists: np.ndarray, nlist: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ordered by list, and where each list's run starts (``nlist + 1`` bounds)."""
    if nlist <= np.iinfo(np.int16).max:
        lists = lists.astype(np.int16)  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(lists, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(lists, minlength=nlist))]
    return order, bounds


def ivf_join(vectors: np.ndarray, ivf: faiss.IndexIVF, k: int, floor: float) -> Neighbours:
    """What ``ivf`` (trained, its vectors ``vectors`` under ids 0..n-1) would answer to a
    search of every row for ``k`` neighbours, cut at ``floor``: list by list, each list's
    vectors against every row that probes it, in one matrix product. Each row's ``k`` best
    so far are kept in a dense table, as the search's heaps would be, and a list's products
    are merged only for rows where one beats that row's ``k``-th best."""
    n, nlist = len(vectors), int(ivf.nlist)
    nprobe = min(int(ivf.nprobe), nlist)
    probes = _probes(vectors, ivf.quantizer, nprobe)
    members, member_bounds = _by_list(probes[:, 0], nlist)
    asked, ask_bounds = _by_list(probes.reshape(-1), nlist)
    del probes
    queries = (asked // nprobe).astype(np.int32)
    del asked
    best = np.full((n, k), -np.inf, np.float32)
    best_ids = np.full((n, k), -1, np.int64)
    bar = np.full(n, floor, np.float32)  # what a newcomer must reach: floor, or the k-th best
    for j in range(nlist):
        mine = members[member_bounds[j] : member_bounds[j + 1]]
        if len(mine) == 0:
            continue
        listed = vectors[mine]
        for start in range(ask_bounds[j], ask_bounds[j + 1], _SEARCH_BLOCK * 4):
            asking = queries[start : min(start + _SEARCH_BLOCK * 4, ask_bounds[j + 1])]
            sims = vectors[asking] @ listed.T
            beats = sims >= bar[asking, None]
            rows = np.flatnonzero(beats.any(axis=1))
            if len(rows) == 0:
                continue
            who = asking[rows]
            found = np.where(beats[rows], sims[rows], -np.inf)
            pool = np.concatenate([best[who], found], axis=1)
            pool_ids = np.concatenate([best_ids[who], np.broadcast_to(mine, found.shape)], axis=1)
            top = np.argpartition(-pool, k - 1, axis=1)[:, :k]
            best[who] = np.take_along_axis(pool, top, axis=1)
            best_ids[who] = np.take_along_axis(pool_ids, top, axis=1)
            bar[who] = np.maximum(best[who].min(axis=1), floor)
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    keep = best.reshape(-1) >= floor  # a row with fewer than k neighbours keeps -inf places
    return _best((rows[keep], best_ids.reshape(-1)[keep], best.reshape(-1)[keep]), k)
