"""Batch re-clustering, independent of arrival order: the algorithms of the nightly reindex.

- Duplicate groups: connected components of "is a copy of" (same content hash, or an LSH
  band collision confirmed by shingle containment). Components do not depend on order,
  so a copy that bridges two groups which arrived apart now joins them.
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


def _mixers(rows: int) -> np.ndarray:
    """Odd 64-bit multipliers that fold a band's ``rows`` values into one bucket key."""
    return np.random.default_rng(20261129).integers(
        1, 2**63, size=rows, dtype=np.uint64
    ) | np.uint64(1)


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[i] != root:
            self.parent[i], i = root, int(self.parent[i])
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> np.ndarray:
        """Dense labels 0..k-1, numbered by each component's first item."""
        roots = np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)
        _, first = np.unique(roots, return_index=True)
        order = {int(roots[i]): n for n, i in enumerate(sorted(first))}
        return np.array([order[int(r)] for r in roots], dtype=np.int64)


def band_buckets(
    minhashes: np.ndarray, bands: int, rows: int, max_bucket: int
) -> Iterator[np.ndarray]:
    """Items whose signatures agree on a whole band (the LSH candidates), bucket by bucket.
    A bucket larger than ``max_bucket`` yields only its first ``max_bucket`` items."""
    mixers = _mixers(rows)
    for band in range(bands):
        block = minhashes[:, band * rows : (band + 1) * rows].astype(np.uint64)
        keys = (block * mixers[: block.shape[1]]).sum(axis=1, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        edges = np.flatnonzero(np.diff(sorted_keys)) + 1
        for bucket in np.split(order, edges):
            if len(bucket) > 1:
                yield np.sort(bucket)[:max_bucket]


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """Shared shingles over the smaller sorted set."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / min(len(a), len(b))


def duplicate_components(
    hashes: Sequence[str],
    shingles: Sequence[np.ndarray],
    minhashes: np.ndarray,
    *,
    bands: int,
    rows: int,
    threshold: float,
    min_shingles: int,
    max_bucket: int = 64,
) -> np.ndarray:
    """Duplicate-group label per text: components of exact and near copies."""
    n = len(hashes)
    uf = UnionFind(n)
    first: dict[str, int] = {}
    for i, digest in enumerate(hashes):
        if len(shingles[i]):
            uf.union(first.setdefault(digest, i), i)
    checked: set[tuple[int, int]] = set()
    for bucket in band_buckets(minhashes, bands, rows, max_bucket):
        items = bucket.tolist()
        for x in range(len(items)):
            for y in range(x + 1, len(items)):
                a, b = items[x], items[y]
                if (a, b) in checked or uf.find(a) == uf.find(b):
                    continue
                checked.add((a, b))
                if min(len(shingles[a]), len(shingles[b])) < min_shingles:
                    continue
                if containment(shingles[a], shingles[b]) >= threshold:
                    uf.union(a, b)
    return uf.labels()


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
