"""Quality figures: pure functions over labels and texts, no I/O.

Clustering is scored the ways DESIGN.md names (pairwise and B-cubed precision / recall /
F1, ARI); extracted text the way the public article-extraction benchmark does it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and their harmonic mean."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def _ratio(part: float, whole: float, empty: float = 1.0) -> float:
    """A share, with ``empty`` when nothing was asked of it (no pairs, no positives)."""
    return part / whole if whole else empty


def _contingency(
    predicted: Sequence[Hashable], truth: Sequence[Hashable]
) -> tuple[Counter[tuple[Hashable, Hashable]], Counter[Hashable], Counter[Hashable]]:
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predicted labels for {len(truth)} true ones")
    cells = Counter(zip(predicted, truth, strict=True))
    return cells, Counter(predicted), Counter(truth)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> PRF:
    """Over all pairs of items: are they together in the prediction, and in the truth?"""
    cells, pred_sizes, true_sizes = _contingency(predicted, truth)
    together = sum(_pairs(n) for n in cells.values())
    return PRF(
        _ratio(together, sum(_pairs(n) for n in pred_sizes.values())),
        _ratio(together, sum(_pairs(n) for n in true_sizes.values())),
    )


def pairwise_scored(
    predicted: Sequence[Hashable],
    truth: Sequence[Hashable],
    scored: Callable[[Hashable, Hashable], bool] = lambda a, b: True,
) -> PRF:
    """``pairwise``, leaving out the pairs of items whose two (different) true labels the
    truth does not settle: ``scored(a, b)`` is False for them."""
    cells, pred_sizes, true_sizes = _contingency(predicted, truth)
    together = sum(_pairs(n) for n in cells.values())
    by_cluster: dict[Hashable, list[tuple[Hashable, int]]] = {}
    for (p, t), n in cells.items():
        by_cluster.setdefault(p, []).append((t, n))
    left_out = 0
    for labels in by_cluster.values():
        for i, (a, n) in enumerate(labels):
            for b, m in labels[i + 1 :]:
                if not scored(a, b):
                    left_out += n * m
    return PRF(
        _ratio(together, sum(_pairs(n) for n in pred_sizes.values()) - left_out),
        _ratio(together, sum(_pairs(n) for n in true_sizes.values())),
    )


def bcubed(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> PRF:
    """Per item, the share of its predicted cluster that is truly its own (precision) and
    of its true cluster that was predicted with it (recall), averaged over items."""
    cells, pred_sizes, true_sizes = _contingency(predicted, truth)
    n = len(predicted)
    if n == 0:
        return PRF(1.0, 1.0)
    precision = sum(c * c / pred_sizes[p] for (p, _), c in cells.items()) / n
    recall = sum(c * c / true_sizes[t] for (_, t), c in cells.items()) / n
    return PRF(precision, recall)


def ari(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """Adjusted Rand index, for comparison with published results."""
    return float(adjusted_rand_score([str(t) for t in truth], [str(p) for p in predicted]))


def binary(decided: Sequence[bool], actual: Sequence[bool]) -> PRF:
    """Precision and recall of yes/no decisions against the true answers."""
    if len(decided) != len(actual):
        raise ValueError(f"{len(decided)} decisions for {len(actual)} answers")
    hits = sum(d and a for d, a in zip(decided, actual, strict=True))
    return PRF(_ratio(hits, sum(decided)), _ratio(hits, sum(actual)))


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r; NaN when either side is constant."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) != len(b) or len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def tokens(text: str, *, lower: bool) -> list[str]:
    """Runs of word characters, as the extraction benchmark tokenises."""
    found = _TOKEN.findall(text or "")
    return [t.lower() for t in found] if lower else found


def _shingles(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    """Word n-grams with their counts; a text shorter than n is one shingle."""
    found = Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))
    found.pop((), None)
    return found


@dataclass(frozen=True)
class Overlap:
    """One page's true positive, false positive and false negative share (summing to 1,
    so that long pages weigh no more than short ones)."""

    tp: float
    fp: float
    fn: float


def text_overlap(gold: str, extracted: str, *, n: int = 4, lower: bool = False) -> Overlap:
    """Multiset overlap of word n-grams of the extracted text with the gold text.
    n=4, case kept: the article-extraction benchmark's figure; n=1, lower: a bag of words."""
    want = _shingles(tokens(gold, lower=lower), n)
    got = _shingles(tokens(extracted, lower=lower), n)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return Overlap(tp / total, fp / total, fn / total) if total else Overlap(0.0, 0.0, 0.0)


def _page_precision(o: Overlap) -> float:
    if o.fp == o.fn == 0:
        return 1.0
    return o.tp / (o.tp + o.fp) if o.tp + o.fp else 0.0


def _page_recall(o: Overlap) -> float:
    if o.fp == o.fn == 0:
        return 1.0
    return o.tp / (o.tp + o.fn) if o.tp + o.fn else 0.0


def mean_overlap(pages: Sequence[Overlap]) -> PRF:
    """Precision averaged over pages that extracted something, recall over pages with gold
    text; F1 of the two means (the benchmark's aggregation)."""
    precisions = [_page_precision(o) for o in pages if o.tp + o.fp > 0]
    recalls = [_page_recall(o) for o in pages if o.tp + o.fn > 0]
    return PRF(
        float(np.mean(precisions)) if precisions else 0.0,
        float(np.mean(recalls)) if recalls else 0.0,
    )
