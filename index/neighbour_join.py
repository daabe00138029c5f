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

import itertools
import os
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from index.runners import LOCAL, Runner
from index.vector_index import IndexPlan, trained_ivf

_CORES = max(1, os.cpu_count() or 1)
_SEARCH_BLOCK = 4096
_PRODUCT = 1 << 22  # products of a list's vectors with a block of rows at once (16 MiB)

Neighbours = tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, their neighbours, cosines


def _empty() -> Neighbours:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)


def _concat(parts: list[Neighbours]) -> Neighbours:
    if not parts:
        return _empty()
    if len(parts) == 1:  # one process's join: no copy of its n * k neighbours
        return parts[0]
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
    vectors: np.ndarray,
    plan: IndexPlan,
    k: int,
    floor: float,
    trained: Any = None,
    runner: Runner = LOCAL,
    lists: Lists | None = None,
) -> Neighbours:
    """Each row's ``k`` nearest rows (itself included) with a cosine of at least ``floor``,
    as the index ``plan`` names would find them: exact when flat, the IVF probes otherwise
    (``trained``: that IVF, already trained on these vectors; ``lists``: ``lists_of`` the
    vectors under it, when the caller has them). Rows ascending, cosines descending within
    a row."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) == 0 or k <= 0:
        return _empty()
    if plan.kind == "flat":
        return _flat(vectors, k, floor)
    ivf = trained if trained is not None else trained_ivf(vectors, plan, vectors.shape[1])
    return ivf_join(vectors, ivf, k, floor, runner, lists)


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
    """Each row's ``nprobe`` nearest lists, nearest first (the first is the list it is in);
    16-bit when the lists' numbers fit (n * nprobe of them: 88 MiB at 500,000 groups)."""
    fits = quantizer.ntotal <= np.iinfo(np.int16).max
    out = np.empty((len(vectors), nprobe), np.int16 if fits else np.int32)
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


@dataclass(frozen=True)
class Lists:
    """The IVF partition of a set of vectors: each list's members, and each list's askers
    (every row that probes it, ascending), each as one array cut by ``nlist + 1`` bounds."""

    members: np.ndarray
    member_bounds: np.ndarray
    askers: np.ndarray
    asker_bounds: np.ndarray

    @property
    def nlist(self) -> int:
        return len(self.member_bounds) - 1

    def assigned(self) -> np.ndarray:
        """The list each row lies in (int64 per row, FAISS's ids for lists)."""
        out = np.empty(len(self.members), np.int64)
        out[self.members] = np.repeat(np.arange(self.nlist), np.diff(self.member_bounds))
        return out


def askers_of(probes: np.ndarray, nlist: int, rows: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Every row that probes each list, ascending, as one int32 array cut by ``nlist + 1``
    bounds: a counting sort, ``rows`` rows of ``probes`` at a time. One stable sort of all
    n * nprobe entries gave the same in 64-bit positions: 350 MiB, beside the probes, at
    500,000 groups, the story step's largest allocation."""
    n, nprobe = probes.shape
    cuts = range(0, n, rows)
    counts = [
        np.bincount(probes[start : start + rows].reshape(-1), minlength=nlist) for start in cuts
    ]
    bounds = np.r_[0, np.cumsum(np.sum(counts, axis=0) if counts else np.zeros(nlist, np.int64))]
    out = np.empty(int(bounds[-1]), np.int32)
    cursor = bounds[:-1].copy()  # where each list's next asker goes
    for start, per in zip(cuts, counts, strict=True):
        keys = probes[start : start + rows].reshape(-1)
        order = np.argsort(keys, kind="stable")  # a row probes a list once: rows ascending
        ranked = keys[order]
        rank = np.arange(len(keys)) - (np.cumsum(per) - per)[ranked]
        out[cursor[ranked] + rank] = start + order // nprobe
        cursor += per
    return out, bounds


def lists_of(vectors: np.ndarray, ivf: faiss.IndexIVF) -> Lists:
    """Where each row lies and which lists it probes, under ``ivf``'s trained quantizer."""
    nlist = int(ivf.nlist)
    nprobe = min(int(ivf.nprobe), nlist)
    probes = _probes(vectors, ivf.quantizer, nprobe)
    members, member_bounds = _by_list(probes[:, 0], nlist)
    askers, asker_bounds = askers_of(probes, nlist)
    return Lists(members, member_bounds, askers, asker_bounds)


def join_rows(
    vectors: np.ndarray, lists: Lists, k: int, floor: float, first: int, last: int
) -> Neighbours:
    """The neighbours of rows ``first``..``last`` - 1: list by list, the list's vectors
    against the rows of the range that probe it, in one matrix product. Each row's ``k``
    best so far are kept in a dense table, as a search's heaps would be, and a list's
    products are merged only for rows where one beats that row's ``k``-th best. A list
    meets its askers a block of rows at a time, the block the smaller the longer the list
    (``_PRODUCT`` products): a crowded list's products with 16,384 rows at once, and their
    merge, were over a GiB at half a million groups."""
    size = last - first
    best = np.full((size, k), -np.inf, np.float32)
    best_ids = np.full((size, k), -1, np.int64)
    bar = np.full(size, floor, np.float32)  # what a newcomer must reach: floor, or the k-th best
    for j in range(lists.nlist):
        mine = lists.members[lists.member_bounds[j] : lists.member_bounds[j + 1]]
        run = lists.askers[lists.asker_bounds[j] : lists.asker_bounds[j + 1]]
        low, high = np.searchsorted(run, [first, last])
        if len(mine) == 0 or low == high:
            continue
        listed = vectors[mine]
        block = max(64, min(_SEARCH_BLOCK * 4, _PRODUCT // len(mine)))
        for start in range(low, high, block):
            asking = run[start : min(start + block, high)]
            sims = vectors[asking] @ listed.T
            local = asking - first
            beats = sims >= bar[local, None]
            rows = np.flatnonzero(beats.any(axis=1))
            if len(rows) == 0:
                continue
            who = local[rows]
            found = np.where(beats[rows], sims[rows], -np.inf)
            pool = np.concatenate([best[who], found], axis=1)
            pool_ids = np.concatenate([best_ids[who], np.broadcast_to(mine, found.shape)], axis=1)
            top = np.argpartition(-pool, k - 1, axis=1)[:, :k]
            best[who] = np.take_along_axis(pool, top, axis=1)
            best_ids[who] = np.take_along_axis(pool_ids, top, axis=1)
            bar[who] = np.maximum(best[who].min(axis=1), floor)
    return _ranked(best, best_ids, first, floor)


def _ranked(
    best: np.ndarray, best_ids: np.ndarray, first: int, floor: float, step: int = 65_536
) -> Neighbours:
    """The rows' neighbours (``best``: cosines, ``best_ids``: their rows, ``k`` a row) at
    ``floor`` or above, each row's by cosine, descending (ties to the smaller id), written
    into the answer ``step`` rows at a time: sorting all at once made four more n * k
    arrays (0.3 GiB at half a million rows) beside the answer."""
    size, k = best.shape
    total = int(np.count_nonzero(best >= floor))  # a row with fewer than k keeps -inf places
    rows, others = np.empty(total, np.int64), np.empty(total, np.int64)
    cosines = np.empty(total, np.float32)
    at = 0
    for low in range(0, size, step):
        cut, ids = best[low : low + step], best_ids[low : low + step]
        order = np.lexsort((ids, -cut), axis=1)
        cosine = np.take_along_axis(cut, order, axis=1).reshape(-1)
        keep = cosine >= floor
        end = at + int(np.count_nonzero(keep))
        cosines[at:end] = cosine[keep]
        others[at:end] = np.take_along_axis(ids, order, axis=1).reshape(-1)[keep]
        rows[at:end] = np.repeat(np.arange(first + low, first + low + len(cut)), k)[keep]
        at = end
    return rows, others, cosines


def ivf_join(
    vectors: np.ndarray,
    ivf: faiss.IndexIVF,
    k: int,
    floor: float,
    runner: Runner = LOCAL,
    lists: Lists | None = None,
) -> Neighbours:
    """What ``ivf`` (trained; its vectors ``vectors`` under ids 0..n-1) would answer to a
    search of every row for ``k`` neighbours, cut at ``floor``. The rows are cut into
    ``runner.parts`` ranges, each joined as one piece (a task on a cluster)."""
    if lists is None:
        lists = lists_of(vectors, ivf)
    cuts = np.linspace(0, len(vectors), runner.parts + 1).astype(int).tolist()
    pieces = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    return _concat(runner.map(join_rows, (vectors, lists, k, floor), pieces))
