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
from typing import Any

import numpy as np

from index.neighbour_join import Lists, Neighbours, neighbours
from index.recluster import average_link
from index.runners import LOCAL, Runner
from index.vector_index import IndexPlan, VectorIndex
from service.config import StoryRules
from service.group_table import GroupTable, micros

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


@dataclass(frozen=True, slots=True)
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
        self._groups = GroupTable()

    @property
    def index(self) -> VectorIndex:
        return self._index

    def story(self, group: int) -> int | None:
        """The story of a live group (None: not held)."""
        return self._groups.story(group)

    def story_of(self, group: int) -> int:
        """The story of a group that must be held (KeyError otherwise)."""
        story = self._groups.story(group)
        if story is None:
            raise KeyError(group)
        return story

    def touch(self, group: int, when: datetime | None) -> None:
        """Widen a group's time span with a new member's publication time."""
        if when is not None:
            self._groups.widen(group, when)

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
                story = self._groups.story(other) if other >= 0 else None
                if story is None:
                    continue
                days = days_apart(when, self._groups.span(other))
                if days > self._window_days:
                    continue
                score = decayed(cosine, days, self._half_life_days)
                if score >= self._threshold and (best is None or score > (best.similarity or 0.0)):
                    link = Link(other, round(score, 4), round(cosine, 4))
                    best = StoryMatch(story, round(score, 4), link)
            self._index.add(np.array([group]), vector.reshape(1, -1))
        match = best or StoryMatch(new_story(), None)
        self._groups.set_story(group, match.story)
        return match

    def nearest(self, vector: np.ndarray, when: datetime | None, k: int) -> list[Near]:
        """The ``k`` nearest groups inside the time window, strongest decayed cosine first;
        nothing is added (a read-only match)."""
        sims, ids = self._index.search(vector.reshape(1, -1), k)
        out = []
        for cosine, other in zip(sims[0].tolist(), ids[0].tolist(), strict=True):
            story = self._groups.story(other) if other >= 0 else None
            if story is None:
                continue
            days = days_apart(when, self._groups.span(other))
            if days <= self._window_days:
                score = decayed(cosine, days, self._half_life_days)
                out.append(Near(story, Link(other, round(score, 4), round(cosine, 4))))
        return sorted(out, key=lambda n: -n.link.decayed)

    def restore(self, group: int, story: int, span: tuple[datetime, datetime] | None) -> None:
        """Put back a stored group as the store holds it now; its vector is in the index."""
        self._groups.put(group, story, span)

    def restore_all(
        self, groups: np.ndarray, stories: np.ndarray, first: np.ndarray, last: np.ndarray
    ) -> None:
        """Hold exactly these stored groups (at start): spans in micros, ``UNKNOWN`` where
        a group has none."""
        self._groups.load(groups, stories, first, last)

    def replace_vector(self, group: int, vector: np.ndarray | None) -> None:
        """A group's representative changed (its first member was taken down)."""
        self._index.remove(np.array([group]))
        if vector is not None:
            self._index.add(np.array([group]), vector.reshape(1, -1))

    def merge(self, old: int, survivor: int) -> None:
        """Group ``old`` joined ``survivor``: its time span widens the survivor's, and its
        vector leaves the index (the survivor's represents them both)."""
        span = self._groups.span(old)
        if span is not None:
            self.touch(survivor, span[0])
            self.touch(survivor, span[1])
        self.forget(old)

    def forget(self, group: int) -> None:
        """Remove a group that has no members left."""
        self._index.remove(np.array([group]))
        self._groups.remove(group)


Span = tuple[datetime, datetime]


def story_partition(
    matrix: np.ndarray,
    spans: Sequence[Span | None],
    rules: StoryRules,
    plan: IndexPlan,
    trained: Any = None,
    runner: Runner = LOCAL,
    lists: Lists | None = None,
) -> tuple[np.ndarray, list[Link | None]]:
    """Story label per row of ``matrix``, and each row's strongest link to another row of
    its story (None when alone).

    Neighbours (found as the index ``plan`` names would find them) inside the time window
    whose decayed cosine reaches the threshold propose pairs; average-link agglomeration
    decides, stopping at the same threshold. The pairs are filtered in numpy. ``lists``:
    ``lists_of`` the rows under ``trained``, when the caller has them."""
    n = len(matrix)
    if n == 0:
        return np.zeros(0, np.int64), []
    k = min(rules.neighbours + 1, n)
    found = neighbours(matrix, plan, k, rules.threshold, trained, runner, lists)
    pairs, scores, cosines = candidate_pairs(found, spans, rules)
    del found  # n * k neighbours: what the agglomeration allocates can use their room
    labels = average_link(matrix, pairs, rules.threshold)
    return labels, _best_links(labels, pairs, scores, cosines, n)


def candidate_pairs(
    found: Neighbours, spans: Sequence[Span | None], rules: StoryRules, chunk: int = 1 << 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair (low, high) of rows among the ``found`` neighbours, inside the time window
    at a decayed cosine of at least the threshold, sorted, with its best (decayed cosine,
    cosine) over both directions: ``days_apart`` and ``decayed`` computed in numpy. (The
    decay never raises a cosine, so neighbours under the threshold were not needed.) The
    neighbours are filtered ``chunk`` at a time and the pairs kept as one 64-bit code each:
    a million groups' ten million neighbours, filtered at once, took 1 GiB of temporaries."""
    known = np.array([s is not None for s in spans], dtype=bool)
    first = np.array([micros(s[0]) if s else 0 for s in spans], dtype=np.int64)
    last = np.array([micros(s[1]) if s else 0 for s in spans], dtype=np.int64)
    n = np.int64(len(spans))
    codes, scores, cosines = [], [], []
    for start in range(0, len(found[0]), chunk):
        a, b = found[0][start : start + chunk], found[1][start : start + chunk]
        cosine = found[2][start : start + chunk].astype(np.float64)
        keep = b != a
        a, b, cosine = a[keep], b[keep], cosine[keep]
        when = first[a]
        gap = np.maximum(np.maximum(first[b] - when, when - last[b]), 0)
        days = np.where(known[a] & known[b], gap / 1e6 / SECONDS_PER_DAY, 0.0)
        score = cosine * np.power(0.5, days / rules.half_life_days)
        ok = (days <= rules.window_days) & (score >= rules.threshold)
        a, b = a[ok], b[ok]
        codes.append(np.minimum(a, b) * n + np.maximum(a, b))
        scores.append(score[ok])
        cosines.append(found[2][start : start + chunk][keep][ok])  # float32: it was
    if not codes:
        return np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0)
    code, score, cosine = np.concatenate(codes), np.concatenate(scores), np.concatenate(cosines)
    del codes, scores, cosines
    # per pair, the largest (score, cosine): the last of its run sorted by (code, score,
    # cosine); equal ones are equal values, whichever is taken. Only the codes are
    # reordered, the chosen rows then taken once, in ascending order of their codes.
    order = np.lexsort((cosine, score, code))
    ordered = code[order]
    last_of = np.r_[ordered[1:] != ordered[:-1], True] if len(code) else np.zeros(0, bool)
    del ordered
    chosen = order[last_of]
    del order, last_of
    code = code[chosen]
    pairs = np.stack([code // n, code % n], axis=1)
    return pairs, score[chosen], cosine[chosen].astype(np.float64)


def _best_links(
    labels: np.ndarray, pairs: np.ndarray, scores: np.ndarray, cosines: np.ndarray, n: int
) -> list[Link | None]:
    """Each row's strongest pair inside its story (rounded to 4 places; a tie goes to the
    first pair in order, the lower row's direction first). The pairs are made Python
    values a slice at a time: all at once were 0.2 KiB a pair, and the links kept among
    them held the freed room in the process."""
    best: list[Link | None] = [None] * n
    inside = labels[pairs[:, 0]] == labels[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    at = np.flatnonzero(inside)
    for start in range(0, len(at), 65_536):
        chunk = at[start : start + 65_536]
        for (a, b), score, cosine in zip(
            pairs[chunk].tolist(), scores[chunk].tolist(), cosines[chunk].tolist(), strict=True
        ):
            rounded = round(score, 4)
            for x, y in ((a, b), (b, a)):
                held = best[x]
                if held is None or rounded > held.decayed:
                    best[x] = Link(y, rounded, round(cosine, 4))
    return best


def label_all(labels: dict[int, int], everyone: Sequence[int]) -> dict[int, int]:
    """Give each of ``everyone`` missing from ``labels`` a story of its own."""
    out = dict(labels)
    fresh = itertools.count(max(out.values(), default=-1) + 1)
    for key in everyone:
        if key not in out:
            out[key] = next(fresh)
    return out
