"""Copy components over a whole corpus, independent of its order.

Two texts are linked when one is a copy of the other: the same content hash, or an LSH band
collision that the caller's link test confirms (``CopyTest``: the smaller text lies mostly
in the larger, ``containment``, and the shared text is a real part of the larger too,
``overlap``, so a teaser quoting a short article inside a long page is no copy of it).

Components do not chain through a page that quotes several unrelated texts. Each page's
links are grouped into *regions*: links whose shared shingles overlap cover one stretch of
the page (a trimmed copy and the full text share their opening; two fragments of one story
overlap where they meet). A page whose links fall into several disjoint regions quotes
several texts: it keeps the links of its dominant region when that covers more of the
page than all the others together, and none otherwise. A link survives when both of its
ends keep it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.sorted_sets import common, in_sorted

REGION_OVERLAP = 0.1  # two links share a region when their shared shingles overlap this much


def _mixers(rows: int) -> np.ndarray:
    """Odd 64-bit multipliers that fold a band's ``rows`` values into one bucket key."""
    return np.random.default_rng(20261129).integers(
        1, 2**63, size=rows, dtype=np.uint64
    ) | np.uint64(1)


def band_keys(minhashes: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 bucket key per (text, band): texts agreeing on a whole band collide."""
    n = len(minhashes)
    keys = np.zeros((n, bands), dtype=np.uint64)
    mixers = _mixers(rows)
    salts = np.arange(bands, dtype=np.uint64) * np.array([0x9E3779B97F4A7C15], dtype=np.uint64)
    for band in range(bands):
        block = minhashes[:, band * rows : (band + 1) * rows].astype(np.uint64)
        keys[:, band] = (block * mixers[: block.shape[1]]).sum(axis=1, dtype=np.uint64)
    keys ^= salts[None, :]  # in place: at a million texts a copy is 200 MiB
    return keys


class BandKeys:
    """Texts' band keys (``band_keys``), read a band at a time: ``base``'s rows, those at
    ``at`` replaced by ``over``'s rows. A stored window's keys are one matrix read as it
    is, the pages fingerprinted anew laid over it a band at a time: a copy of the whole was
    224 MiB at a million pages."""

    def __init__(
        self, base: np.ndarray, at: np.ndarray | None = None, over: np.ndarray | None = None
    ) -> None:
        self.base = base
        self.at = np.zeros(0, dtype=np.int64) if at is None else at
        self.over = np.zeros((0, base.shape[1]), dtype=np.uint64) if over is None else over
        self.shape: tuple[int, int] = base.shape  # (texts, bands)

    def column(self, band: int) -> np.ndarray:
        column = self.base[:, band]
        if not len(self.at):
            return column
        column = column.copy()
        column[self.at] = self.over[:, band]
        return column


def candidate_pairs(keys: np.ndarray | BandKeys, max_bucket: int, rank: np.ndarray) -> np.ndarray:
    """The LSH candidates of texts with these band keys (``band_keys``): pairs (a < b) of
    items colliding on a band, in the order the buckets first meet them (band by band,
    buckets in key order, pairs in order inside a bucket), each once. A bucket larger than
    ``max_bucket`` keeps the ``max_bucket`` items of lowest ``rank`` (a key that does not
    depend on arrival order). In numpy, a step per bucket size, not per bucket; a band's
    pairs are told from earlier bands' as they come, so a million texts never hold every
    band's pairs at once."""
    by_band = keys if isinstance(keys, BandKeys) else BandKeys(keys)
    n, bands = by_band.shape
    found: list[np.ndarray] = []
    seen = np.zeros(0, dtype=np.int64)  # codes a * n + b of the pairs found, ascending
    for band in range(bands):
        column = by_band.column(band)
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        lengths = np.diff(np.r_[starts, n])
        parts: list[tuple[np.ndarray, np.ndarray]] = []  # (bucket number, pairs) per pair
        for size in np.unique(lengths[lengths > 1]).tolist():
            chosen = np.flatnonzero(lengths == size)
            members = order[starts[chosen][:, None] + np.arange(size)[None, :]]
            if size > max_bucket:
                members = np.stack(
                    [m[np.argsort(rank[m], kind="stable")[:max_bucket]] for m in members]
                )
            members = np.sort(members, axis=1)
            first, second = np.triu_indices(members.shape[1], 1)
            pairs = np.stack([members[:, first], members[:, second]], axis=2).reshape(-1, 2)
            parts.append((np.repeat(chosen, len(first)), pairs))
        if not parts:
            continue
        bucket = np.concatenate([b for b, _ in parts])
        pairs = np.concatenate([p for _, p in parts])[np.argsort(bucket, kind="stable")]
        pairs = pairs.astype(np.int64)
        codes, first_at = np.unique(pairs[:, 0] * n + pairs[:, 1], return_index=True)
        new = ~in_sorted(codes, seen)
        found.append(pairs[np.sort(first_at[new])])
        seen = np.sort(np.concatenate([seen, codes[new]]))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(found)


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
        _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first)] = np.arange(len(first))
        return rank[inverse]


@dataclass(frozen=True)
class CopyTest:
    """When two shingle sets are copies of one text."""

    containment: float
    overlap: float
    min_shingles: int

    def scores(self, a: np.ndarray, b: np.ndarray) -> tuple[int, float, float]:
        """(shared shingles, share of the smaller set, share of the larger set)."""
        small, large = (a, b) if len(a) <= len(b) else (b, a)
        if len(small) == 0:
            return 0, 0.0, 0.0
        both = common(small, large)
        return both, both / len(small), both / len(large)

    def linked(self, a: np.ndarray, b: np.ndarray) -> tuple[bool, float]:
        """Whether ``a`` and ``b`` are copies, and the containment that decided."""
        if min(len(a), len(b)) < self.min_shingles:
            return False, 0.0
        _, small, large = self.scores(a, b)
        return small >= self.containment and large >= self.overlap, small


def _regions(
    own: np.ndarray, others: Sequence[np.ndarray], ranks: Sequence[int]
) -> list[tuple[list[int], int]]:
    """Links of one page grouped by the stretch of the page they share: (links, shingles of
    the page the region covers), largest region first."""
    masks = [in_sorted(own, other) for other in others]
    sizes = [np.count_nonzero(m) for m in masks]  # not ``.sum()``: a call less each
    regions: list[tuple[list[int], np.ndarray]] = []
    for n in sorted(range(len(masks)), key=lambda i: (-sizes[i], ranks[i])):
        mask = masks[n]
        size = sizes[n]
        home = None
        for r, (_links, cover) in enumerate(regions):
            shared = np.count_nonzero(cover & mask)
            if shared >= REGION_OVERLAP * min(size, np.count_nonzero(cover)):
                home = r
                break
        if home is None:
            regions.append(([n], mask.copy()))
        else:
            links, cover = regions[home]
            links.append(n)
            cover |= mask
    out = [(links, int(np.count_nonzero(cover))) for links, cover in regions]
    return sorted(out, key=lambda item: -item[1])


def kept_links(own: np.ndarray, others: Sequence[np.ndarray], ranks: Sequence[int]) -> list[int]:
    """Which of one page's links it keeps: all when they cover one region; the dominant
    region's when it covers more than the other regions together; none otherwise."""
    if len(others) < 2:
        return list(range(len(others)))
    regions = _regions(own, others, ranks)
    if len(regions) == 1:
        return regions[0][0]
    top, rest = regions[0][1], sum(size for _, size in regions[1:])
    return regions[0][0] if top > rest else []


Link = Callable[[int, int], "tuple[bool, float]"]


def copy_links(
    keys: np.ndarray | BandKeys,
    rank: np.ndarray,
    link: Link,
    *,
    max_bucket: int,
    hashes: Sequence[str],
) -> dict[tuple[int, int], float]:
    """LSH candidates confirmed by ``link`` (a < b), with the containment of each; pairs
    with equal ``hashes`` are not asked (exact copies are joined without a link)."""
    links: dict[tuple[int, int], float] = {}
    pairs = candidate_pairs(keys, max_bucket, rank)
    # made Python pairs a chunk at a time: all at once were 0.1 KiB a candidate
    for start in range(0, len(pairs), 65_536):
        for a, b in pairs[start : start + 65_536].tolist():
            if hashes[a] == hashes[b]:
                continue
            ok, score = link(a, b)
            if ok:
                links[(a, b)] = score
    return links


class Texts(Protocol):
    """The texts' shingle sets by position: a list, or sets made when asked."""

    def __getitem__(self, i: int, /) -> np.ndarray: ...


def copy_components(
    hashes: Sequence[str],
    shingles: Texts,
    keys: np.ndarray | BandKeys,
    link: Link,
    *,
    max_bucket: int = 64,
    sizes: Sequence[int] | None = None,
) -> np.ndarray:
    """Duplicate-group label per text: components of exact copies and of near-copy links
    (LSH candidates that ``link`` confirms, from the texts' ``band_keys``) that both ends
    keep. ``sizes``: each text's shingle count, where ``shingles`` makes its sets when
    asked (only the linked texts' are)."""
    n = len(hashes)
    uf = UnionFind(n)
    rank = np.array(
        [int(h[:15], 16) if h else 0 for h in hashes], dtype=np.int64
    )  # order-free tie-break for oversized buckets
    counted = np.array(
        [bool(sizes[i] if sizes is not None else len(shingles[i])) for i in range(n)], dtype=bool
    )
    for same in exact_copies(hashes, rank, counted):
        for i in same[1:]:
            uf.union(same[0], i)
    links = copy_links(keys, rank, link, max_bucket=max_bucket, hashes=hashes)
    del keys  # the caller holds none: 0.2 GiB at a million texts, not needed past here
    ends = np.array(list(links), dtype=np.int64).reshape(-1, 2)
    del links
    for a, b in ends[both_keep(ends, shingles, rank)].tolist():
        uf.union(a, b)
    return uf.labels()


def exact_copies(hashes: Sequence[str], rank: np.ndarray, counted: np.ndarray) -> list[list[int]]:
    """The sets of two or more ``counted`` texts with the same hash, found by sorting their
    hashes' leading digits (``rank``) and telling equal runs apart by the whole hash: a
    dictionary over every text's hash stood at the copy step's peak (a million stored
    pages: 3,996 MiB with it, 3,961 without)."""
    at = np.flatnonzero(counted)
    at = at[np.argsort(rank[at], kind="stable")]
    ranks = rank[at]
    starts = np.flatnonzero(np.r_[True, ranks[1:] != ranks[:-1]]) if len(at) else at
    ends = np.r_[starts[1:], len(at)]
    out: list[list[int]] = []
    for low, high in zip(
        starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(), strict=True
    ):
        by_hash: dict[str, list[int]] = {}
        for i in at[low:high].tolist():
            by_hash.setdefault(hashes[i], []).append(i)
        out.extend(same for same in by_hash.values() if len(same) > 1)
    return out


def both_keep(ends: np.ndarray, shingles: Texts, rank: np.ndarray) -> np.ndarray:
    """Which links (rows of ``ends``) both of their pages keep (``kept_links``, each page's
    links in their order in ``ends``). The links are held as arrays, each page's a run of
    one sorted array: a set of kept others per page was 0.2 KiB a page."""
    # each link's two directions, a -> b then b -> a, in the links' order
    source, target = ends.reshape(-1), ends[:, ::-1].reshape(-1)
    order = np.argsort(source, kind="stable")  # a page's run keeps the links' order
    nodes, starts = np.unique(source[order], return_index=True)
    kept = np.zeros(len(order), dtype=bool)  # per direction, in ``order``
    bounds = np.r_[starts, len(order)].tolist()
    for node, low, high in zip(nodes.tolist(), bounds, bounds[1:], strict=False):
        if high - low < 2:  # a page with one link keeps it: no set is asked for
            kept[low:high] = True
            continue
        others = target[order[low:high]].tolist()
        chosen = kept_links(
            shingles[node], [shingles[o] for o in others], [int(rank[o]) for o in others]
        )
        kept[[low + i for i in chosen]] = True
    by_direction = np.empty(len(order), dtype=bool)
    by_direction[order] = kept
    return by_direction[0::2] & by_direction[1::2]
