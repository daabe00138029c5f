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
