"""Clustering a whole corpus in one run: the job behind ``newsdedup cluster``.

Two passes: the first groups copies on in-page-clean text and counts, per block, the
distinct duplicate groups it appears in (so a wire paragraph shared by 30 copies counts
once, and a disclaimer on 30 different stories counts 30 times); the second flags those
recurring blocks as boilerplate and assigns both levels on the final clean text.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from service.article import Article
from service.clustering import (
    Assignment,
    Clusterer,
    canonical_order,
    copy_components,
    duplicate_index,
    group_copies,
    page_fingerprint,
)
from service.embedder import Embedder
from service.flags import Flag
from service.prepare import Page, prepare, with_boilerplate
from service.settings import Settings

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]


@dataclass(frozen=True)
class ArticleResult:
    """The output contract for one article."""

    page: Page
    assignment: Assignment
    canonical_id: str

    @property
    def id(self) -> str:
        return self.page.article.id

    @property
    def flags(self) -> tuple[Flag, ...]:
        return self.page.flags

    def to_json(self) -> dict[str, object]:
        a = self.assignment
        return {
            "id": self.id,
            "duplicate_group": a.group,
            "canonical_id": self.canonical_id,
            "story": a.story,
            "is_duplicate": a.is_duplicate,
            "similarity": a.similarity,
            "flags": [flag.to_json() for flag in self.flags],
        }


def block_group_counts(pages: Sequence[Page], settings: Settings) -> dict[str, int]:
    """For each block key, in how many distinct duplicate groups of the corpus it appears."""
    groups = group_copies(
        [page_fingerprint(page, settings) for page in pages],
        duplicate_index(settings),
        itertools.count(),
        itertools.count(),
    )
    seen: dict[str, set[int]] = {}
    for page, (_, group, _) in zip(pages, groups, strict=True):
        for block in page.blocks:
            seen.setdefault(block.key, set()).add(group)
    return {
        key: len(found)
        for key, found in seen.items()
        if len(found) >= settings.boilerplate_min_groups
    }


def _no_progress(items: Iterable[Any], _label: str, _total: int) -> Iterable[Any]:
    return items


@dataclass(frozen=True)
class CorpusRun:
    """Results in input order, and how many texts the model had to read."""

    results: list[ArticleResult]
    embedded: int


def cluster_corpus(
    articles: Sequence[Article],
    settings: Settings,
    embedder: Embedder,
    progress: Progress = _no_progress,
    chunk: int = 256,
) -> CorpusRun:
    """Both levels and all flags for every article, in input order."""
    pages = [
        prepare(article, settings) for article in progress(articles, "preparing", len(articles))
    ]
    counts = block_group_counts(pages, settings)
    pages = [with_boilerplate(page, counts, settings) for page in pages]
    fps = [page_fingerprint(page, settings) for page in pages]
    labels = copy_components(fps, settings).tolist()
    clusterer = Clusterer(settings, embedder)
    assignments: list[Assignment] = []
    batches = range(0, len(pages), chunk)
    for start in progress(batches, f"clustering ({chunk} a batch)", len(batches)):
        end = start + chunk
        assignments.extend(clusterer.assign(pages[start:end], fps[start:end], labels[start:end]))
    canonical: dict[int, tuple[tuple[float, int, int], str]] = {}
    for page, a in zip(pages, assignments, strict=True):
        key = canonical_order(page.article.published_at, len(page.clean_words), a.member)
        if a.group not in canonical or key < canonical[a.group][0]:
            canonical[a.group] = (key, page.article.id)
    results = [
        ArticleResult(page, a, canonical[a.group][1])
        for page, a in zip(pages, assignments, strict=True)
    ]
    return CorpusRun(results, clusterer.embedded)
