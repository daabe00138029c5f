"""assign: both levels of grouping for a stream of prepared pages.

Copies are found from fingerprints alone and never reach the model; only the first text
of each new duplicate group is embedded, in batches, and placed into a story.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from datasketch import MinHashLSH

from index.recluster import duplicate_components
from index.vector_index import FaissIndex, VectorIndex
from service.duplicates import DuplicateIndex
from service.embedder import Embedder
from service.fingerprint import Fingerprint, containment, fingerprint
from service.prepare import Page
from service.settings import Settings
from service.stories import StoryIndex


@dataclass(frozen=True)
class Assignment:
    """Where one page went: its duplicate group and story, and how it got there."""

    member: int
    group: int
    story: int
    is_duplicate: bool
    similarity: float | None
    fingerprint: Fingerprint = field(repr=False, compare=False)
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)


def page_fingerprint(page: Page, settings: Settings) -> Fingerprint:
    return fingerprint(page.clean_words, settings.shingle_words, settings.num_perm)


def lsh_bands(settings: Settings) -> tuple[int, int]:
    """The LSH bands and rows datasketch chooses for the configured candidate threshold."""
    lsh = MinHashLSH(threshold=settings.lsh_jaccard, num_perm=settings.num_perm)
    return int(lsh.b), int(lsh.r)


def copy_components(fps: Sequence[Fingerprint], settings: Settings) -> np.ndarray:
    """Duplicate-group labels for a whole corpus, independent of its order: the components
    of confirmed copies (the reindex's algorithm)."""
    if not fps:
        return np.zeros(0, dtype=np.int64)
    bands, rows = lsh_bands(settings)
    return duplicate_components(
        [fp.content_hash for fp in fps],
        [np.array(sorted(fp.shingles), dtype=np.uint32) for fp in fps],
        np.stack([np.asarray(fp.minhash.hashvalues, dtype=np.uint32) for fp in fps]),
        bands=bands,
        rows=rows,
        threshold=settings.duplicate_containment,
        min_shingles=settings.min_shingles,
    )


def duplicate_index(settings: Settings) -> DuplicateIndex:
    return DuplicateIndex(
        num_perm=settings.num_perm,
        lsh_jaccard=settings.lsh_jaccard,
        containment=settings.duplicate_containment,
        min_shingles=settings.min_shingles,
    )


def group_copies(
    fingerprints: Sequence[Fingerprint],
    index: DuplicateIndex,
    members: Iterator[int],
    groups: Iterator[int],
) -> list[tuple[int, int, float | None]]:
    """(member, group, similarity) per text, in order; similarity is None for a new group."""
    placed: list[tuple[int, int, float | None]] = []
    for fp in fingerprints:
        member = next(members)
        match = index.match(fp)
        group = match.group if match else next(groups)
        index.add(member, group, fp)
        placed.append((member, group, match.similarity if match else None))
    return placed


@dataclass(frozen=True)
class IdSource:
    """Where new member, group and story ids come from: counters in memory for a one-off
    run, blocks reserved in the store for the service (so a reindex never reuses one)."""

    member: Iterator[int]
    group: Iterator[int]
    story: Iterator[int]


class Clusterer:
    """The online state of both levels: greedy, in arrival order."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        index: VectorIndex | None = None,
        ids: IdSource | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.duplicates = duplicate_index(settings)
        self.stories = StoryIndex(
            index if index is not None else FaissIndex(embedder.dim),
            threshold=settings.story_similarity,
            neighbours=settings.story_neighbours,
            window_days=settings.story_window_days,
            half_life_days=settings.story_half_life_days,
        )
        self.ids = ids or IdSource(itertools.count(1), itertools.count(1), itertools.count(1))
        self.embedded = 0
        self._components: dict[int, tuple[int, list[frozenset[int]]]] = {}

    def assign(
        self,
        pages: Sequence[Page],
        fingerprints: Sequence[Fingerprint] | None = None,
        labels: Sequence[int] | None = None,
    ) -> list[Assignment]:
        """Assign a batch in order; later pages may join groups opened earlier in it.
        With ``labels`` (copy components of a whole corpus, see ``copy_components``) the
        duplicate groups follow them instead of the greedy online match."""
        fps = (
            list(fingerprints)
            if fingerprints is not None
            else [page_fingerprint(p, self.settings) for p in pages]
        )
        if labels is None:
            placed = group_copies(fps, self.duplicates, self.ids.member, self.ids.group)
        else:
            placed = self._place_labelled(fps, labels)
        fresh = [i for i, (_, _, sim) in enumerate(placed) if sim is None]
        leads = {i: pages[i].lead(self.settings.lead_words) for i in fresh}
        with_words = [i for i in fresh if leads[i].strip()]
        embedded = self.embedder.embed([leads[i] for i in with_words])
        vectors = dict(zip(with_words, embedded, strict=True))
        self.embedded += len(with_words)
        similarity: dict[int, float | None] = {}
        for i in fresh:
            match = self.stories.assign(
                placed[i][1], vectors.get(i), pages[i].article.published_at, self.ids.story.__next__
            )
            similarity[i] = match.similarity
        assignments = []
        for i, (member, group, sim) in enumerate(placed):
            if sim is not None:
                self.stories.touch(group, pages[i].article.published_at)
            assignments.append(
                Assignment(
                    member=member,
                    group=group,
                    story=self.stories.story_of[group],
                    is_duplicate=sim is not None,
                    similarity=round(sim, 4) if sim is not None else similarity[i],
                    fingerprint=fps[i],
                    vector=vectors.get(i),
                )
            )
        return assignments

    def _place_labelled(
        self, fps: Sequence[Fingerprint], labels: Sequence[int]
    ) -> list[tuple[int, int, float | None]]:
        """(member, group, similarity) per text from precomputed copy components; a copy's
        similarity is its best containment in the members of its group seen before it."""
        placed: list[tuple[int, int, float | None]] = []
        for fp, label in zip(fps, labels, strict=True):
            member = next(self.ids.member)
            seen = self._components.get(label)
            if seen is None:
                group, similarity = next(self.ids.group), None
                self._components[label] = (group, [fp.shingles])
            else:
                group = seen[0]
                similarity = max(containment(fp.shingles, other) for other in seen[1])
                seen[1].append(fp.shingles)
            self.duplicates.add(member, group, fp)
            placed.append((member, group, similarity))
        return placed

    def restore_member(self, member: int, group: int, fp: Fingerprint) -> None:
        """Put back a stored member (after a restart), without assigning anything."""
        self.duplicates.add(member, group, fp)

    def forget_member(self, member: int) -> None:
        """Take a member out of copy detection (a takedown)."""
        self.duplicates.remove(member)


def canonical_order(
    published_at: datetime | None, words: int, member: int
) -> tuple[float, int, int]:
    """Sort key of a group's members: earliest published first, ties to the longest text,
    then to the first seen; an undated member ranks after the dated ones."""
    when = published_at.timestamp() if published_at else float("inf")
    return when, -words, member
