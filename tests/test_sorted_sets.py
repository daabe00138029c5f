"""The sorted-set routines give numpy's set routines' answers."""

from __future__ import annotations

import numpy as np
import pytest

from index.sorted_sets import common, in_sorted, unique_sorted


@pytest.mark.parametrize("seed", range(40))
def test_sorted_sets_agree_with_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    span = int(rng.choice([4, 300, 2**32]))  # many repeats, some, almost none
    a = rng.integers(0, span, int(rng.integers(0, 400)), dtype=np.int64).astype(np.uint32)
    b = rng.integers(0, span, int(rng.integers(0, 400)), dtype=np.int64).astype(np.uint32)
    ua, ub = unique_sorted(a), unique_sorted(b)
    assert np.array_equal(ua, np.unique(a)) and ua.dtype == a.dtype
    assert np.array_equal(in_sorted(a, ub), np.isin(a, b))
    assert common(ua, ub) == len(np.intersect1d(a, b))
    keys = rng.integers(-(2**62), 2**62, 50)
    assert np.array_equal(in_sorted(keys, np.sort(keys[::3])), np.isin(keys, keys[::3]))


def test_edges() -> None:
    empty = np.zeros(0, dtype=np.uint32)
    assert len(unique_sorted(empty)) == 0
    assert in_sorted(empty, np.array([1], dtype=np.uint32)).shape == (0,)
    assert not in_sorted(np.array([5], dtype=np.uint32), empty).any()
    top = np.array([0xFFFFFFFF], dtype=np.uint32)  # past the last value of the set
    assert not in_sorted(top, np.array([1, 2], dtype=np.uint32)).any()
    assert common(empty, top) == 0
