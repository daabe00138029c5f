from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np

from index.vector_index import FaissIndex
from service.config import StoryRules
from service.stories import StoryIndex, days_apart, decayed

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _index(**kw: float) -> StoryIndex:
    args = {"threshold": 0.6, "neighbours": 5, "window_days": 7.0, "half_life_days": 14.0, **kw}
    return StoryIndex(FaissIndex(2), StoryRules(**args))  # type: ignore[arg-type]


def _vec(angle_deg: float) -> np.ndarray:
    a = np.radians(angle_deg)
    return np.array([np.cos(a), np.sin(a)], dtype=np.float32)


def test_decay_and_days_apart() -> None:
    assert decayed(0.8, 14.0, 14.0) == 0.4
    assert days_apart(None, (T0, T0)) == 0.0
    assert days_apart(T0 + timedelta(days=3), (T0, T0 + timedelta(days=1))) == 2.0
    assert days_apart(T0 + timedelta(hours=12), (T0, T0 + timedelta(days=1))) == 0.0


def test_close_vectors_share_a_story_far_ones_do_not() -> None:
    stories = _index()
    new = itertools.count(1).__next__
    assert stories.assign(1, _vec(0), T0, new).story == 1
    joined = stories.assign(2, _vec(20), T0, new)
    assert joined.story == 1 and joined.similarity is not None and joined.similarity > 0.9
    assert stories.assign(3, _vec(80), T0, new).story == 2


def test_time_window_and_decay_keep_old_stories_apart() -> None:
    for when, angle, joins in [
        (T0 + timedelta(days=8), 10, False),  # outside the 7-day window
        (T0 + timedelta(days=6), 40, False),  # cosine 0.77 decays to 0.58
        (T0 + timedelta(days=1), 40, True),  # 0.74 after one day
        (None, 40, True),  # undated: contemporaneous
    ]:
        stories = _index()
        new = itertools.count(1).__next__
        stories.assign(1, _vec(0), T0, new)
        assert (stories.assign(2, _vec(angle), when, new).story == 1) is joins


def test_group_without_vector_gets_its_own_story() -> None:
    stories = _index()
    new = itertools.count(1).__next__
    stories.assign(1, _vec(0), T0, new)
    assert stories.assign(2, None, T0, new).story == 2


def test_story_candidate_pairs_keep_each_pair_once_at_its_best_direction() -> None:
    """The story step's pairs from the neighbours: each unordered pair once, ascending, at
    the best (decayed cosine, cosine) of its two directions, inside the window and at the
    threshold, as a pair-by-pair reading of ``days_apart`` and ``decayed`` gives; the
    same whether the neighbours are filtered in one piece or a few at a time."""
    from service.stories import candidate_pairs

    rules = StoryRules()
    rng = np.random.default_rng(8)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    spans: list[tuple[datetime, datetime] | None] = []
    for g in range(60):
        if g % 7 == 0:
            spans.append(None)
            continue
        first = start + timedelta(hours=float(rng.uniform(0, 24 * 10)))
        spans.append((first, first + timedelta(hours=float(rng.uniform(0, 48)))))
    rows = np.repeat(np.arange(60), 6)
    others = rng.integers(0, 60, len(rows))
    cosines = rng.uniform(rules.threshold, 1.0, len(rows)).astype(np.float32)
    found = (rows.astype(np.int64), others.astype(np.int64), cosines)
    want: dict[tuple[int, int], tuple[float, float]] = {}
    for a, b, cosine in zip(rows.tolist(), others.tolist(), cosines.tolist(), strict=True):
        span_a, span_b = spans[a], spans[b]
        days = days_apart(span_a[0], span_b) if span_a and span_b else 0.0
        score = decayed(cosine, days, rules.half_life_days)
        if a == b or days > rules.window_days or score < rules.threshold:
            continue
        pair = (min(a, b), max(a, b))
        want[pair] = max(want.get(pair, (-1.0, -1.0)), (score, cosine))
    for chunk in (1 << 20, 7, 1):
        pairs, scores, got_cosines = candidate_pairs(found, spans, rules, chunk)
        assert [tuple(p) for p in pairs.tolist()] == sorted(want)
        got = zip(scores.tolist(), got_cosines.tolist(), strict=True)
        for pair, (score, cosine) in zip(sorted(want), got, strict=True):
            assert abs(score - want[pair][0]) < 1e-9 and abs(cosine - want[pair][1]) < 1e-9
    assert len(want) > 20  # the window, the threshold and the dedup all had work
