"""The LSH banding without scipy picks what datasketch's optimiser picks."""

from __future__ import annotations

import pytest
from datasketch.lsh import _optimal_param

from index.lsh_bands import optimal_bands


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
def test_the_bands_are_datasketchs_optimum(num_perm: int) -> None:
    for threshold in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
        assert optimal_bands(threshold, num_perm) == tuple(
            _optimal_param(threshold, num_perm, 0.5, 0.5)
        ), threshold
