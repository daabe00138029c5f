"""Story clusters: duplicate groups and independent write-ups of one event.

Each duplicate group is one vector in the index (its first member's title and lead). A
new group joins the story of its most similar neighbour inside the time window, its
cosine decayed by the days between them, when that reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from index.vector_index import VectorIndex

SECONDS_PER_DAY = 86_400.0


def days_apart(when: datetime | None, span: tuple[datetime, datetime] | None) -> float:
    """Days between a time and a group's time span; 0 when either is unknown (contemporaneous)."""
    if when is None or span is None:
        return 0.0
    first, last = span
    gap = max((first - when).total_seconds(), (when - last).total_seconds(), 0.0)
    return gap / SECONDS_PER_DAY


def decayed(cosine: float, days: float, half_life_days: float) -> float:
    """Cosine discounted by age: halves every ``half_life_days``."""
    return cosine * 0.5 ** (days / half_life_days)


@dataclass(frozen=True)
class StoryMatch:
    story: int
    similarity: float | None


class StoryIndex:
    """The story of every duplicate group, and the vectors to find a new group's story."""

    def __init__(
        self,
        index: VectorIndex,
        *,
        threshold: float,
        neighbours: int,
        window_days: float,
        half_life_days: float,
    ) -> None:
        self._index = index
        self._threshold = threshold
        self._neighbours = neighbours
        self._window_days = window_days
        self._half_life_days = half_life_days
        self.story_of: dict[int, int] = {}
        self._span: dict[int, tuple[datetime, datetime]] = {}

    @property
    def index(self) -> VectorIndex:
        return self._index

    def touch(self, group: int, when: datetime | None) -> None:
        """Widen a group's time span with a new member's publication time."""
        if when is None:
            return
        span = self._span.get(group)
        self._span[group] = (min(span[0], when), max(span[1], when)) if span else (when, when)

    def assign(
        self,
        group: int,
        vector: np.ndarray | None,
        when: datetime | None,
        new_story: Callable[[], int],
    ) -> StoryMatch:
        """Put a new duplicate group into the best story in reach, or a new one."""
        self.touch(group, when)
        best: StoryMatch | None = None
        if vector is not None:
            sims, ids = self._index.search(vector.reshape(1, -1), self._neighbours)
            for cosine, other in zip(sims[0].tolist(), ids[0].tolist(), strict=True):
                if other < 0:
                    continue
                days = days_apart(when, self._span.get(other))
                if days > self._window_days:
                    continue
                score = decayed(cosine, days, self._half_life_days)
                if score >= self._threshold and (best is None or score > (best.similarity or 0.0)):
                    best = StoryMatch(self.story_of[other], round(score, 4))
            self._index.add(np.array([group]), vector.reshape(1, -1))
        match = best or StoryMatch(new_story(), None)
        self.story_of[group] = match.story
        return match

    def restore(self, group: int, story: int, span: tuple[datetime, datetime] | None) -> None:
        """Put back a stored group (after a restart); its vector is already in the index."""
        self.story_of[group] = story
        if span is not None:
            self._span[group] = span

    def replace_vector(self, group: int, vector: np.ndarray | None) -> None:
        """A group's representative changed (its first member was taken down)."""
        self._index.remove(np.array([group]))
        if vector is not None:
            self._index.add(np.array([group]), vector.reshape(1, -1))

    def forget(self, group: int) -> None:
        """Remove a group that has no members left."""
        self._index.remove(np.array([group]))
        self.story_of.pop(group, None)
        self._span.pop(group, None)
