"""LSH candidate pairs in numpy against the bucket-by-bucket loop they replaced (kept here
as the reference), in the order links are checked (so copy groups cannot move)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from index.copy_graph import band_keys, candidate_pairs


def band_buckets(
    minhashes: np.ndarray, bands: int, rows: int, max_bucket: int, rank: np.ndarray
) -> Iterator[np.ndarray]:
    """Items colliding on a band (the LSH candidates), bucket by bucket. A bucket larger
    than ``max_bucket`` yields the ``max_bucket`` items of lowest ``rank`` (a key that does
    not depend on arrival order)."""
    keys = band_keys(minhashes, bands, rows)
    for band in range(bands):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")
        edges = np.flatnonzero(np.diff(column[order])) + 1
        for bucket in np.split(order, edges):
            if len(bucket) > 1:
                if len(bucket) > max_bucket:
                    bucket = bucket[np.argsort(rank[bucket], kind="stable")[:max_bucket]]
                yield np.sort(bucket)


def _reference(
    minhashes: np.ndarray, bands: int, rows: int, max_bucket: int, rank: np.ndarray
) -> list[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    out = []
    for bucket in band_buckets(minhashes, bands, rows, max_bucket, rank):
        items = bucket.tolist()
        for x in range(len(items)):
            for y in range(x + 1, len(items)):
                pair = (items[x], items[y])
                if pair not in seen:
                    seen.add(pair)
                    out.append(pair)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_candidate_pairs_are_the_buckets_pairs_in_the_same_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, bands, rows = 3000, 16, 4
    minhashes = rng.integers(0, 2**32, size=(n, bands * rows), dtype=np.uint64).astype(np.uint32)
    # planted collisions: copies sharing some bands, families of every size, one oversized
    for start, size in [(0, 2), (10, 3), (20, 5), (40, 9), (100, 90), (300, 2), (400, 12)]:
        keep = rng.random(bands * rows) < (1.0 if size > 64 else 0.6)
        for i in range(start + 1, start + size):
            minhashes[i, keep] = minhashes[start, keep]
    rank = rng.integers(0, 2**40, size=n)
    got = candidate_pairs(band_keys(minhashes, bands, rows), 64, rank)
    want = _reference(minhashes, bands, rows, 64, rank)
    assert [tuple(p) for p in got.tolist()] == want
    assert len(want) > 100
    sizes = np.unique(band_keys(minhashes, bands, rows)[:, 0], return_counts=True)[1]
    assert sizes.max() > 64  # the oversized bucket was cut to max_bucket


def test_no_collisions_no_pairs() -> None:
    minhashes = np.arange(40, dtype=np.uint32).reshape(5, 8)
    assert candidate_pairs(band_keys(minhashes, 2, 4), 64, np.arange(5)).shape == (0, 2)
    nothing = band_keys(np.zeros((0, 8), np.uint32), 2, 4)
    assert candidate_pairs(nothing, 64, np.arange(0)).shape == (0, 2)
