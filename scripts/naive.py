"""The naive baseline: embed every article's title and first words, join the best earlier
article at cosine >= t. No flags, no fingerprints: what the engine must beat."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from metrics import PRF, pairwise

from service.article import Article


def naive_text(article: Article, words: int) -> str:
    """Title and the first ``words`` words of the raw text, captions and furniture included."""
    body = " ".join((article.text or "").split()[:words])
    return ((article.title or "") + "\n" + body).strip()


def nearest_earlier(vectors: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the most similar earlier row and the cosine (-1 and -inf for the first).
    Exact inner products in chunks: flat search, as the baseline is defined."""
    n = len(vectors)
    best = np.full(n, -1, dtype=np.int64)
    sims = np.full(n, -np.inf, dtype=np.float32)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        block = vectors[lo:hi] @ vectors[:hi].T
        rows, cols = np.indices(block.shape)
        block[cols >= rows + lo] = -np.inf
        if lo == 0 and hi > 0:
            block[0, :] = -np.inf
        best[lo:hi] = block.argmax(axis=1)
        sims[lo:hi] = block.max(axis=1)
    best[sims == -np.inf] = -1
    return best, sims


def greedy_groups(best: np.ndarray, sims: np.ndarray, threshold: float) -> list[int]:
    """Group of each row: its best earlier row's group when close enough, else a new one."""
    groups: list[int] = []
    for i, (j, sim) in enumerate(zip(best.tolist(), sims.tolist(), strict=True)):
        groups.append(groups[j] if j >= 0 and sim >= threshold else i)
    return groups


def thresholds(lo: float, hi: float, step: float) -> list[float]:
    return [round(t, 4) for t in np.arange(lo, hi + step / 2, step).tolist()]


def sweep(
    best: np.ndarray, sims: np.ndarray, truth: Sequence[str], candidates: Sequence[float]
) -> list[tuple[float, PRF]]:
    """Pairwise scores of the baseline's groups at each threshold."""
    return [(t, pairwise(greedy_groups(best, sims, t), truth)) for t in candidates]


def fairest(scores: Sequence[tuple[float, PRF]]) -> float:
    """The threshold with the baseline's best pairwise F1 (ties to the lower threshold)."""
    return max(scores, key=lambda item: (item[1].f1, -item[0]))[0]
