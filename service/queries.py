"""Read views over the store: duplicate groups, stories and the recent-stories page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from service.api.schemas import GroupOut, MemberOut, StoriesOut, StoryOut, StorySummary
from service.store import ArticleRow, GroupRow, Store, utc

Canonical = Callable[[set[int]], dict[int, str]]


class Missing(LookupError):
    """No such group or story."""


def _member(row: ArticleRow) -> MemberOut:
    return MemberOut(
        id=row.id,
        title=row.title,
        source=row.source,
        url=row.url,
        published_at=utc(row.published_at),
        is_duplicate=row.is_duplicate,
        similarity=row.similarity,
    )


def _groups(store: Store, rows: list[GroupRow], canonical: Canonical) -> list[GroupOut]:
    members = store.members([g.id for g in rows])
    heads = canonical({g.id for g in rows})
    out = []
    for group in rows:
        mine = [m for m in members if m.group_id == group.id]
        if not mine:
            continue
        out.append(
            GroupOut(
                id=group.id,
                story=group.story_id,
                canonical_id=heads[group.id],
                size=len(mine),
                sources=sorted({m.source for m in mine if m.source}),
                members=[_member(m) for m in mine],
            )
        )
    return out


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


def duplicate_group(store: Store, group_id: int, canonical: Canonical) -> GroupOut:
    row = _follow(store.group, group_id, "duplicate group")
    groups = _groups(store, [row], canonical)
    if not groups:
        raise Missing(f"no duplicate group {group_id}")
    answer = groups[0]
    if row.id != group_id:
        answer.merged_from = group_id
    return answer


def story(store: Store, story_id: int, canonical: Canonical) -> StoryOut:
    row = _follow(store.story, story_id, "story")
    groups = _groups(store, store.groups_of_story(row.id), canonical)
    if not groups:
        raise Missing(f"no story {story_id}")
    times = [m.published_at for g in groups for m in g.members if m.published_at is not None]
    return StoryOut(
        id=row.id,
        size=sum(g.size for g in groups),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        groups=groups,
        merged_from=story_id if row.id != story_id else None,
    )


def recent_stories(store: Store, since: datetime | None, limit: int, offset: int) -> StoriesOut:
    """Stories with articles ingested since ``since``, largest first, a page at a time."""
    sizes = store.story_sizes(since, limit + 1, offset)
    page = sizes[:limit]
    headlines = store.story_headlines([s for s, _ in page])
    return StoriesOut(
        stories=[StorySummary(id=s, articles=n, headline=headlines.get(s)) for s, n in page],
        next_offset=offset + limit if len(sizes) > limit else None,
    )
