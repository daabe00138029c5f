"""The vectorised story step against the algorithm it replaced (kept here as the reference:
a Python loop over every neighbour, then one heap over every pair), on planted windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import faiss
import numpy as np
import pytest

from index.recluster import _agglomerate, components, dense
from index.vector_index import IndexPlan, plan_for, trained_ivf
from service.config import StoryRules
from service.stories import Link, days_apart, decayed, story_partition


def _reference(
    matrix: np.ndarray,
    spans: list[tuple[datetime, datetime] | None],
    rules: StoryRules,
    plan: IndexPlan,
) -> tuple[list[int], list[Link | None]]:
    n = len(matrix)
    # 32-bit vectors, as the join computes cosines (the served index keeps 16-bit ones)
    index: faiss.Index = faiss.IndexFlatIP(matrix.shape[1])
    if plan.kind == "ivf":
        index = faiss.clone_index(trained_ivf(matrix, plan, matrix.shape[1]))
    index.add(matrix)
    pairs: dict[tuple[int, int], tuple[float, float]] = {}
    sims, found = index.search(matrix, min(rules.neighbours + 1, n))
    for a, (cosines, others) in enumerate(zip(sims.tolist(), found.tolist(), strict=True)):
        for cosine, b in zip(cosines, others, strict=True):
            if b < 0 or b == a:
                continue
            first = spans[a]
            days = days_apart(first[0], spans[b]) if first else 0.0
            score = decayed(cosine, days, rules.half_life_days)
            if days <= rules.window_days and score >= rules.threshold:
                pair = (min(a, b), max(a, b))
                pairs[pair] = max(pairs.get(pair, (0.0, 0.0)), (score, cosine))
    # one heap over every pair (the old average_link: the heap alone, no components)
    labels = dense(_agglomerate(matrix, sorted(pairs), rules.threshold))
    best: list[Link | None] = [None] * n
    for (a, b), (score, cosine) in sorted(pairs.items()):
        if labels[a] == labels[b]:
            for x, y in ((a, b), (b, a)):
                held = best[x]
                if held is None or round(score, 4) > held.decayed:
                    best[x] = Link(y, round(score, 4), round(cosine, 4))
    return labels.tolist(), best


def _window(seed: int, n: int) -> tuple[np.ndarray, list[tuple[datetime, datetime] | None]]:
    """Stories around topics (so stories touch and bridges exist), groups around stories,
    spans over three weeks, a tenth undated."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(max(n // 60, 1), 48))
    stories = topics[rng.integers(0, len(topics), n // 4)] + 0.9 * rng.normal(size=(n // 4, 48))
    v = stories[rng.integers(0, len(stories), n)] + 0.55 * rng.normal(size=(n, 48))
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    spans: list[tuple[datetime, datetime] | None] = []
    for _ in range(n):
        if rng.random() < 0.1:
            spans.append(None)
            continue
        first = start + timedelta(minutes=int(rng.integers(0, 21 * 24 * 60)))
        spans.append((first, first + timedelta(minutes=int(rng.integers(0, 3 * 24 * 60)))))
    return v, spans


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_vectorised_story_step_gives_the_reference_partition(seed: int) -> None:
    matrix, spans = _window(seed, 1500)
    rules = StoryRules(threshold=0.6, neighbours=20, window_days=7.0, half_life_days=14.0)
    plan = plan_for(len(matrix), 10**9)
    expected, expected_best = _reference(matrix, spans, rules, plan)
    labels, best = story_partition(matrix, spans, rules, plan)
    assert labels.tolist() == expected
    assert best == expected_best
    sizes = np.bincount(labels)
    # the window is not trivial: stories of one, two and many groups, some links decayed
    assert (sizes == 1).any() and (sizes == 2).any() and sizes.max() >= 5
    assert any(b is not None and b.decayed < b.cosine for b in best)


@pytest.mark.parametrize("seed", [4, 5])
def test_past_flat_max_the_story_step_gives_what_ivf_search_gives(seed: int) -> None:
    """Past ``flat_max`` the neighbours come from a join over the IVF lists, not from the
    index's search: the same candidates, so the same partition as searching the index."""
    matrix, spans = _window(seed, 3000)
    rules = StoryRules(threshold=0.6, neighbours=20, window_days=7.0, half_life_days=14.0)
    plan = IndexPlan("ivf", nlist=30, nprobe=4)
    expected, expected_best = _reference(matrix, spans, rules, plan)
    labels, best = story_partition(matrix, spans, rules, plan)
    assert labels.tolist() == expected
    # the same links; a cosine may differ in its last float bit (a matrix product against
    # FAISS's own loop), so the 4th rounded place may too
    assert [b and b.other for b in best] == [b and b.other for b in expected_best]
    for got, want in zip(best, expected_best, strict=True):
        if got is not None and want is not None:
            assert abs(got.cosine - want.cosine) <= 1e-4 and abs(got.decayed - want.decayed) <= 1e-4
    # probing a part of the lists loses some neighbours: the plan matters
    exact, _ = _reference(matrix, spans, rules, plan_for(len(matrix), 10**9))
    assert exact != expected


def test_components_are_the_connected_parts() -> None:
    pairs = np.array([[0, 3], [3, 5], [1, 2], [6, 7], [7, 8], [8, 6]])
    assert components(10, pairs).tolist() == [0, 1, 1, 0, 4, 0, 6, 6, 6, 9]
    assert components(3, np.zeros((0, 2), np.int64)).tolist() == [0, 1, 2]
    chain = np.array([[i, i + 1] for i in range(98, -1, -1)])
    assert set(components(100, chain).tolist()) == {0}
