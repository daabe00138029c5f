"""Read views over the store: duplicate groups, stories and the stories page.

Everything is read from the store at the request, so every process answers alike; the one
cache is the window's term frequencies for keywords (``KeywordBackground``), at most
``max_age`` seconds old.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, TypeVar

import numpy as np

from service.api.schemas import (
    GroupOut,
    MemberOut,
    ReporterOut,
    SourceCount,
    SourcesOut,
    StoriesOut,
    StoryFields,
    StoryOut,
    StorySummary,
)
from service.canonical import CanonicalRules
from service.keywords import Background, analyzer, keywords
from service.store import Store, StoryArticle, vector_of
from service.timeline import Rising, timeline

Sort = Literal["size", "recent", "rising"]


class Missing(LookupError):
    """No such group or story."""


class KeywordBackground:
    """The window's term frequencies per story, from the leads of the latest ``sample``
    groups; rebuilt when older than ``max_age`` seconds (keywords lag the window by at
    most that)."""

    def __init__(self, store: Store, sample: int = 5000, max_age: float = 600.0) -> None:
        self._store, self._sample, self._max_age = store, sample, max_age
        self._lock = threading.Lock()
        self._words: Callable[[str], list[str]] | None = None
        self._built: tuple[float, Background] | None = None

    def get(self) -> tuple[Background, Callable[[str], list[str]]]:
        with self._lock:
            if self._words is None:
                self._words = analyzer()
            if self._built is None or time.monotonic() - self._built[0] > self._max_age:
                texts = self._store.recent_leads(self._sample)
                self._built = (time.monotonic(), Background.of(texts, self._words))
            return self._built[1], self._words


@dataclass(frozen=True)
class Reader:
    """What the read views need: the store, the canonical policy and the keyword cache."""

    store: Store
    canonical: CanonicalRules
    background: KeywordBackground
    rising: Rising = field(default_factory=Rising)


def _member(a: StoryArticle) -> MemberOut:
    return MemberOut(
        id=a.id,
        title=a.title,
        source=a.source,
        url=a.url,
        published_at=a.candidate.published_at,
        is_duplicate=a.is_duplicate,
        similarity=a.similarity,
    )


def _by_group(articles: Sequence[StoryArticle]) -> dict[int, list[StoryArticle]]:
    out: dict[int, list[StoryArticle]] = {}
    for a in articles:
        out.setdefault(a.group, []).append(a)
    return out


def _groups(reader: Reader, articles: Sequence[StoryArticle]) -> list[GroupOut]:
    out = []
    for group, mine in sorted(_by_group(articles).items()):
        head = reader.canonical.choose(a.candidate for a in mine)
        out.append(
            GroupOut(
                id=group,
                story=mine[0].story,
                canonical_id=head.id,
                canonical_reason=reader.canonical.reason(head),
                size=len(mine),
                sources=sorted({m.source for m in mine if m.source}),
                members=[_member(m) for m in mine],
            )
        )
    return out


@dataclass(frozen=True)
class _Stored:
    """What the story fields read of the store for a page of stories, read once: each
    group's vector and each canonical copy's lead."""

    vectors: dict[int, tuple[bytes | None, str | None]]
    leads: dict[str, str]

    @classmethod
    def read(cls, store: Store, groups: Sequence[GroupOut]) -> _Stored:
        return cls(
            store.group_vectors([g.id for g in groups]),
            store.group_leads([g.canonical_id for g in groups]),
        )


def _central(
    stored: dict[int, tuple[bytes | None, str | None]], groups: Sequence[GroupOut]
) -> GroupOut:
    """The group whose vector is closest to the mean of the story's group vectors (the
    largest group when none has a vector)."""
    held = [(g, vector_of(stored[g.id][0] or b"")) for g in groups if stored.get(g.id, (None,))[0]]
    if held:  # vectors of one model only (a model change leaves others until the reindex)
        size = Counter(len(v) for _, v in held).most_common(1)[0][0]
        held = [(g, v) for g, v in held if len(v) == size]
    if not held:
        return max(groups, key=lambda g: (g.size, -g.id))
    matrix = np.stack([v for _, v in held])
    centre = matrix.mean(axis=0)
    return held[int(np.argmax(matrix @ centre))][0]


def _fields(
    reader: Reader,
    story: int,
    articles: Sequence[StoryArticle],
    groups: Sequence[GroupOut],
    stored: _Stored,
) -> StoryFields:
    central = _central(stored.vectors, groups)
    titles = {a.id: a.title for a in articles}
    per_source = Counter(a.source or a.candidate.origin.site for a in articles)
    per_source.pop(None, None)
    first = min(
        articles,
        key=lambda a: (a.candidate.published_at is None, a.when, a.ingested_at, a.id),
    )
    leads = [stored.leads[g.canonical_id] for g in groups if g.canonical_id in stored.leads]
    background, words = reader.background.get()
    times = [a.candidate.published_at for a in articles if a.candidate.published_at]
    return StoryFields(
        title=titles.get(central.canonical_id),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        sources=SourcesOut(
            count=len(per_source),
            items=[
                SourceCount(source=str(s), articles=n)
                for s, n in sorted(per_source.items(), key=lambda x: (-x[1], str(x[0])))
            ],
        ),
        first_reporter=ReporterOut(
            id=first.id,
            source=first.source or first.candidate.origin.site,
            title=first.title,
            published_at=first.candidate.published_at,
        ),
        timeline=timeline([a.when for a in articles]),
        keywords=keywords(story, "\n".join(leads), background, words),
    )


class _Mergeable(Protocol):
    id: int
    merged_into: int | None


M = TypeVar("M", bound=_Mergeable)


def _follow(get: Callable[[int], M | None], start: int, what: str) -> M:
    """The row for ``start``, or the row it was merged into (following merges to the end)."""
    seen: set[int] = set()
    row = get(start)
    while row is not None and row.merged_into is not None and row.id not in seen:
        seen.add(row.id)
        row = get(row.merged_into)
    if row is None:
        raise Missing(f"no {what} {start}")
    return row


def duplicate_group(reader: Reader, group_id: int) -> GroupOut:
    row = _follow(reader.store.group, group_id, "duplicate group")
    groups = _groups(reader, reader.store.story_articles(groups=[row.id]))
    if not groups:
        raise Missing(f"no duplicate group {group_id}")
    answer = groups[0]
    if row.id != group_id:
        answer.merged_from = group_id
    return answer


def story(reader: Reader, story_id: int) -> StoryOut:
    row = _follow(reader.store.story, story_id, "story")
    articles = reader.store.story_articles([row.id])
    groups = _groups(reader, articles)
    if not groups:
        raise Missing(f"no story {story_id}")
    stored = _Stored.read(reader.store, groups)
    return StoryOut(
        id=row.id,
        size=len(articles),
        groups=groups,
        merged_from=story_id if row.id != story_id else None,
        **_fields(reader, row.id, articles, groups, stored).model_dump(),
    )


def recent_stories(
    reader: Reader, since: datetime | None, limit: int, offset: int, sort: Sort = "size"
) -> StoriesOut:
    """Stories with articles ingested since ``since``, a page at a time: largest, most
    recent or most risen first."""
    sizes = reader.store.story_sizes(since, limit + 1, offset, sort, reader.rising)
    page = sizes[:limit]
    everything = reader.store.story_articles([s for s, _ in page])
    per_story: dict[int, list[StoryArticle]] = {}
    for a in everything:
        per_story.setdefault(a.story, []).append(a)
    groups = {s: _groups(reader, articles) for s, articles in per_story.items()}
    stored = _Stored.read(reader.store, [g for found in groups.values() for g in found])
    out = []
    for story_id, size in page:
        articles = per_story.get(story_id, [])
        if not articles:
            continue
        fields = _fields(reader, story_id, articles, groups[story_id], stored)
        out.append(
            StorySummary(
                id=story_id, articles=size, headline=articles[0].title, **fields.model_dump()
            )
        )
    return StoriesOut(stories=out, next_offset=offset + limit if len(sizes) > limit else None)
