"""Batch re-clustering, independent of arrival order: stories and stable ids.

(Duplicate groups, the copy components, are in ``index.copy_graph``.)

- Stories: average-link agglomeration over the neighbour graph of group vectors. The
  average cosine between two clusters of unit vectors is exact from their vector sums
  (mean of a.b over pairs = S_A.S_B / (|A||B|)), so no pairwise matrix is ever held;
  neighbours inside the time window only propose which clusters may merge. Average-link
  was chosen over single-link (what online assignment does) because one strong bridge
  cannot chain two stories together, and over Leiden because it needs no extra
  dependency and its threshold means the same cosine as the online one.
- Stable ids: each old id follows the new cluster holding most of its members; a cluster
  claimed by several old ids keeps the oldest (smallest) and records the others as merged
  into it; a cluster claimed by none (a split-off part) gets a new id.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from index.copy_graph import UnionFind


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """The smallest item of each item's connected component under ``pairs`` (an (m, 2)
    array): min-label propagation with pointer jumping, in numpy."""
    root = np.arange(n, dtype=np.int64)
    if len(pairs) == 0:
        return root
    a, b = pairs[:, 0], pairs[:, 1]
    while True:
        before = root.copy()
        low = np.minimum(root[a], root[b])
        np.minimum.at(root, a, low)
        np.minimum.at(root, b, low)
        root = root[root]
        while True:
            jumped = root[root]
            if np.array_equal(jumped, root):
                break
            root = jumped
        if np.array_equal(root, before):
            return root


def dense(root: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 from each item's cluster root (its smallest item), numbered by each
    cluster's first item."""
    return np.unique(root, return_inverse=True)[1].astype(np.int64)


def average_link(
    vectors: np.ndarray, pairs: np.ndarray | Sequence[tuple[int, int]], threshold: float
) -> np.ndarray:
    """Story label per vector: merge the closest pair of neighbouring clusters while their
    average cosine is at least ``threshold``.

    Merges never cross a connected component of the candidate graph, so each component is
    agglomerated alone: a lone vector stays, two decide on their cosine, and only larger
    components run the heap (``_agglomerate``); the partition is the one a single heap
    over every pair gives."""
    n = len(vectors)
    edges = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    root = components(n, edges)
    sizes = np.bincount(root, minlength=n)
    out = np.arange(n, dtype=np.int64)
    if len(edges):
        owner = root[edges[:, 0]]
        order = np.argsort(owner, kind="stable")
        edges, owner = edges[order], owner[order]
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        ends = np.r_[starts[1:], len(owner)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            mine = edges[start:end]
            if sizes[owner[start]] == 2:
                a, b = int(mine[0, 0]), int(mine[0, 1])
                cosine = float(vectors[a].astype(np.float64) @ vectors[b].astype(np.float64))
                if cosine >= threshold:
                    out[max(a, b)] = min(a, b)
                continue
            members = np.unique(mine)
            local = np.searchsorted(members, mine)
            roots = _agglomerate(vectors[members], local.tolist(), threshold)
            out[members] = members[roots]
    return dense(out)


def _agglomerate(
    vectors: np.ndarray, pairs: Sequence[Sequence[int]], threshold: float
) -> np.ndarray:
    """The heap: the smallest item of each cluster, per vector."""
    n = len(vectors)
    sums = {i: vectors[i].astype(np.float64) for i in range(n)}
    sizes = dict.fromkeys(range(n), 1)
    neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in pairs:
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)

    def score(a: int, b: int) -> float:
        return float(sums[a] @ sums[b]) / (sizes[a] * sizes[b])

    heap = [(-score(a, b), a, b) for a in range(n) for b in neighbours[a] if a < b]
    heapq.heapify(heap)
    alive = set(range(n))
    uf = UnionFind(n)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if -negative < threshold:
            break
        if a not in alive or b not in alive or abs(score(a, b) + negative) > 1e-9:
            continue
        keep, gone = (a, b) if sizes[a] >= sizes[b] else (b, a)
        uf.union(keep, gone)
        sums[keep] = sums[keep] + sums.pop(gone)
        sizes[keep] += sizes.pop(gone)
        alive.discard(gone)
        around = neighbours.pop(gone)
        for other in around - {keep}:
            neighbours[other].discard(gone)
        merged = (neighbours[keep] | around) - {keep, gone}
        neighbours[keep] = merged
        for other in merged:
            neighbours[other].add(keep)
            heapq.heappush(heap, (-score(keep, other), min(keep, other), max(keep, other)))
    return np.array([uf.find(i) for i in range(n)], dtype=np.int64)


@dataclass(frozen=True)
class IdMapping:
    """Ids for new clusters, old ids merged into survivors, and old ids that were split."""

    ids: dict[int, int]
    merged: dict[int, int]
    split: set[int]
    created: set[int]

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Clusters, old ids merged away, old ids split."""
        return len(self.ids), len(self.merged), len(self.split)


def map_ids(old: np.ndarray, new: np.ndarray, fresh_ids: Iterator[int]) -> IdMapping:
    """Give each new cluster (labels ``new``) an id from the old ids of its items (``old``)."""
    counts: dict[int, dict[int, int]] = {}
    for o, n in zip(old.tolist(), new.tolist(), strict=True):
        counts.setdefault(o, {}).setdefault(n, 0)
        counts[o][n] += 1
    claims: dict[int, list[int]] = {}
    split = set()
    for o, parts in counts.items():
        heir = min(parts, key=lambda label: (-parts[label], label))
        claims.setdefault(heir, []).append(o)
        if len(parts) > 1:
            split.add(o)
    ids: dict[int, int] = {}
    merged: dict[int, int] = {}
    created: set[int] = set()
    for label in sorted(set(new.tolist())):
        claimants = sorted(claims.get(label, []))
        if claimants:
            ids[label] = claimants[0]
            merged.update(dict.fromkeys(claimants[1:], claimants[0]))
        else:
            ids[label] = next(fresh_ids)
            created.add(ids[label])
    return IdMapping(ids, merged, split, created)
