"""Story clusters: duplicate groups and independent write-ups of one event.

Each duplicate group is one vector in the index: the title and lead of its first page
online, of its voices once a reindex has heard them (``service.voices``).
Online, a new group joins the story of its most similar neighbour inside the time window,
its cosine decayed by the days between them, when that reaches the threshold (``StoryIndex``).
Over a whole corpus (``cluster`` and the reindex), stories are average-link clusters of the
neighbour graph (``story_partition``): one strong bridge cannot chain two stories.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from index.recluster import average_link
from index.vector_index import VectorIndex
from service.config import StoryRules

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
class Link:
    """The strongest tie of a group to another group of its story."""

    other: int
    decayed: float
    cosine: float


@dataclass(frozen=True)
class Near:
    """A story in reach of a vector, through one of its groups."""

    story: int
    link: Link


@dataclass(frozen=True)
class StoryMatch:
    story: int
    similarity: float | None
    link: Link | None = None


class StoryIndex:
    """The story of every duplicate group, and the vectors to find a new group's story."""

    def __init__(self, index: VectorIndex, rules: StoryRules) -> None:
        self._index = index
        self._threshold = rules.threshold
        self._neighbours = rules.neighbours
        self._window_days = rules.window_days
        self._half_life_days = rules.half_life_days
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
                    link = Link(other, round(score, 4), round(cosine, 4))
                    best = StoryMatch(self.story_of[other], round(score, 4), link)
            self._index.add(np.array([group]), vector.reshape(1, -1))
        match = best or StoryMatch(new_story(), None)
        self.story_of[group] = match.story
        return match

    def nearest(self, vector: np.ndarray, when: datetime | None, k: int) -> list[Near]:
        """The ``k`` nearest groups inside the time window, strongest decayed cosine first;
        nothing is added (a read-only match)."""
        sims, ids = self._index.search(vector.reshape(1, -1), k)
        out = []
        for cosine, other in zip(sims[0].tolist(), ids[0].tolist(), strict=True):
            story = self.story_of.get(other)
            if other < 0 or story is None:
                continue
            days = days_apart(when, self._span.get(other))
            if days <= self._window_days:
                score = decayed(cosine, days, self._half_life_days)
                out.append(Near(story, Link(other, round(score, 4), round(cosine, 4))))
        return sorted(out, key=lambda n: -n.link.decayed)

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

    def merge(self, old: int, survivor: int) -> None:
        """Group ``old`` joined ``survivor``: its time span widens the survivor's, and its
        vector leaves the index (the survivor's represents them both)."""
        span = self._span.get(old)
        if span is not None:
            self.touch(survivor, span[0])
            self.touch(survivor, span[1])
        self.forget(old)

    def forget(self, group: int) -> None:
        """Remove a group that has no members left."""
        self._index.remove(np.array([group]))
        self.story_of.pop(group, None)
        self._span.pop(group, None)


Span = tuple[datetime, datetime]


def story_partition(
    index: VectorIndex, matrix: np.ndarray, spans: Sequence[Span | None], rules: StoryRules
) -> tuple[np.ndarray, list[Link | None]]:
    """Story label per row of ``matrix`` (the vectors ``index`` holds, with ids 0..n-1), and
    each row's strongest link to another row of its story (None when alone).

    Neighbours inside the time window whose decayed cosine reaches the threshold propose
    pairs; average-link agglomeration decides, stopping at the same threshold."""
    n = len(matrix)
    pairs: dict[tuple[int, int], tuple[float, float]] = {}
    k = min(rules.neighbours + 1, max(n, 1))
    for start in range(0, n, 4096):
        sims, found = index.search(matrix[start : start + 4096], k)
        for row, (cosines, others) in enumerate(zip(sims.tolist(), found.tolist(), strict=True)):
            a = start + row
            for cosine, b in zip(cosines, others, strict=True):
                if b < 0 or b == a:
                    continue
                first = spans[a]
                days = days_apart(first[0], spans[b]) if first else 0.0
                score = decayed(cosine, days, rules.half_life_days)
                if days <= rules.window_days and score >= rules.threshold:
                    pair = (min(a, b), max(a, b))
                    pairs[pair] = max(pairs.get(pair, (0.0, 0.0)), (score, cosine))
    labels = average_link(matrix, sorted(pairs), rules.threshold) if n else np.zeros(0, np.int64)
    best: list[Link | None] = [None] * n
    for (a, b), (score, cosine) in sorted(pairs.items()):
        if labels[a] == labels[b]:
            for x, y in ((a, b), (b, a)):
                held = best[x]
                if held is None or round(score, 4) > held.decayed:
                    best[x] = Link(y, round(score, 4), round(cosine, 4))
    return labels, best


def label_all(labels: dict[int, int], everyone: Sequence[int]) -> dict[int, int]:
    """Give each of ``everyone`` missing from ``labels`` a story of its own."""
    out = dict(labels)
    fresh = itertools.count(max(out.values(), default=-1) + 1)
    for key in everyone:
        if key not in out:
            out[key] = next(fresh)
    return out
