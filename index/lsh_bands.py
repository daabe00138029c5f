"""LSH banding for a Jaccard threshold: the bands and rows that minimise the equally weighted
false positive and false negative areas under the banding curve (datasketch's optimum).

The areas are integrals of polynomials in s of degree at most b*r <= num_perm, so
Gauss-Legendre quadrature with num_perm // 2 + 1 nodes computes them exactly; that spares
importing scipy (a quarter of a second of every start) for two small integers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def _area(
    lower: float, upper: float, nodes: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights of the quadrature over [lower, upper]."""
    half = (upper - lower) / 2
    return lower + half * (nodes + 1), half * weights


@lru_cache(maxsize=16)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising false positive + false
    negative area at ``threshold``; the first minimum in (bands, rows) order on ties.
    Remembered per arguments: a search costs about 12 ms, and each new config object (one
    per ``Settings.pipeline`` read) would otherwise pay it again."""
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    below, w_below = _area(0.0, threshold, nodes, weights)
    above, w_above = _area(threshold, 1.0, nodes, weights)
    best, chosen = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            hit_below = 1 - (1 - below**r) ** b
            miss_above = (1 - above**r) ** b
            error = 0.5 * float(hit_below @ w_below) + 0.5 * float(miss_above @ w_above)
            if error < best:
                best, chosen = error, (b, r)
    return chosen
