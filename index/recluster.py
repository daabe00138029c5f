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


def average_link(
    vectors: np.ndarray, pairs: Sequence[tuple[int, int]], threshold: float
) -> np.ndarray:
    """Story label per vector: merge the closest pair of neighbouring clusters while their
    average cosine is at least ``threshold``."""
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
    return uf.labels()


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
