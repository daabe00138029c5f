"""The live service's writes and the counts its furniture rule reads.

A batch is written in one transaction (stored whole or not at all); a takedown likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    TextClause,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from service.store.core import Store, insert_articles, insert_ignore, table_of, update_articles
from service.store.feed import Change, record
from service.store.pages import PageTerms, index_pages
from service.store.schema import (
    ArticleRow,
    ArticleSketchRow,
    BlockGroupRow,
    BlockSiteRow,
    GroupRow,
    StoryRow,
    now,
    utc,
    vector_bytes,
)

Tally = tuple[int, frozenset[int]]


def _tallies(rows: Sequence[tuple[Any, int]], limit: int) -> dict[Any, Tally]:
    """(key, group) rows -> per key: distinct groups, and which when fewer than ``limit``."""
    groups: dict[Any, set[int]] = {}
    for key, group in rows:
        groups.setdefault(key, set()).add(int(group))
    return {
        key: (len(found), frozenset(found) if len(found) < limit else frozenset())
        for key, found in groups.items()
    }


COUNT_CAP = 1000
"""A block's groups are counted up to this many: a site's template or the web's "Read more"
sits in hundreds of thousands of groups, and counting them all on every ingest that shows
it would read that many index entries (60 ms at 500k). The furniture rule needs 3 at most;
a boilerplate flag's ``pages`` says at most this (the reindex writes the exact count)."""

UNION = 200  # capped counts per statement: under SQLite's 500 terms of one compound SELECT


@dataclass(frozen=True)
class _Spread:
    """Where a block's distinct groups are counted: a table, its key and group columns, and
    a condition on the rest of the row (``:site``)."""

    table: str
    key: str
    group: str
    where: str = ""

    def statement(self, keys: int) -> TextClause:
        """Each of ``keys`` keys (``:k0``...) with its groups counted up to ``:cap``, one
        bounded index range each, in one statement (plain SQL: building it as expressions
        cost more than running it)."""
        parts = [
            f"SELECT CAST(:k{i} AS BIGINT), (SELECT count(*) FROM (SELECT DISTINCT {self.group}"
            f" FROM {self.table} WHERE {self.key} = :k{i}{self.where} LIMIT :cap) AS c{i})"
            for i in range(keys)
        ]
        return text(" UNION ALL ".join(parts))

    def groups(self, keys: int) -> TextClause:
        """The groups of ``keys`` keys (``:k0``...), each key with few of them."""
        listed = ", ".join(f":k{i}" for i in range(keys))
        return text(
            f"SELECT DISTINCT {self.key}, {self.group} FROM {self.table}"
            f" WHERE {self.key} IN ({listed}){self.where}"
        )


OVERALL = _Spread(BlockGroupRow.__tablename__, "key_hash", "group_id")
ON_SITE = _Spread(BlockSiteRow.__tablename__, "key_hash", "group_id", " AND site_hash = :site")
LEADS = _Spread(ArticleRow.__tablename__, "lead_block", "group_id")


class StoreCounts:
    """Distinct groups per block, overall, per site and as groups' lead blocks (the
    ``pipeline.Counts`` the live service's furniture rule reads), each counted up to
    ``cap`` (``COUNT_CAP``); a lead is counted up to ``limit`` only: the rule asks whether
    one other group leads with it."""

    def __init__(self, store: Store, cap: int = COUNT_CAP) -> None:
        self._store = store
        self._cap = cap

    def overall(self, keys: Sequence[int], limit: int) -> dict[int, Tally]:
        return self._count(OVERALL, keys, limit, self._cap, {})

    def leads(self, keys: Sequence[int], limit: int) -> dict[int, Tally]:
        return self._count(LEADS, keys, limit, limit, {})

    def on_site(self, pairs: Sequence[tuple[int, int]], limit: int) -> dict[tuple[int, int], Tally]:
        by_site: dict[int, list[int]] = {}
        for site, key in pairs:
            by_site.setdefault(site, []).append(key)
        out: dict[tuple[int, int], Tally] = {}
        for site, keys in by_site.items():
            found = self._count(ON_SITE, keys, limit, self._cap, {"site": site})
            out.update({(site, key): tally for key, tally in found.items()})
        return out

    def _count(
        self, spread: _Spread, keys: Sequence[int], limit: int, cap: int, fixed: dict[str, int]
    ) -> dict[Any, Tally]:
        """Counts (up to ``cap``) for every key seen; the groups themselves only for keys
        with fewer than ``limit``. Each key's count reads at most ``cap`` index entries."""
        out: dict[Any, Tally] = {}
        keys = sorted(set(keys))
        with self._store.reading() as conn:
            for start in range(0, len(keys), UNION):
                chunk = keys[start : start + UNION]
                named = {f"k{i}": key for i, key in enumerate(chunk)}
                rows = conn.execute(
                    spread.statement(len(chunk)), {**named, **fixed, "cap": cap}
                ).all()
                counts = {int(k): int(n) for k, n in rows if n}
                few = [k for k, n in counts.items() if n < limit]
                pairs: list[tuple[Any, int]] = []
                if few:
                    asked = {f"k{i}": key for i, key in enumerate(few)}
                    found = conn.execute(spread.groups(len(few)), {**asked, **fixed}).all()
                    pairs = [(int(k), int(g)) for k, g in found]
                tallies = _tallies(pairs, limit)
                out.update({k: tallies.get(k, (n, frozenset())) for k, n in counts.items()})
        return out


@dataclass(frozen=True)
class NewGroup:
    """A duplicate group an ingested batch opens."""

    id: int
    story: int
    published_at: datetime | None
    vector: bytes | None
    vector_version: str | None
    vector_key: str | None


@dataclass
class IngestBatch:
    """Everything one ingest writes: stories and groups it opens, the articles (column
    values), and the blocks each was seen with."""

    stories: list[int] = field(default_factory=list)
    groups: list[NewGroup] = field(default_factory=list)
    merged: dict[int, int] = field(default_factory=dict)  # stored groups joined: old -> survivor
    refreshed: list[dict[str, Any]] = field(default_factory=list)  # member + changed columns
    articles: list[dict[str, Any]] = field(default_factory=list)
    blocks: set[tuple[int, int]] = field(default_factory=set)
    site_blocks: set[tuple[int, int, int]] = field(default_factory=set)
    change: Change | None = None  # the change feed's row for it
    pages: list[PageTerms] = field(default_factory=list)  # new and refreshed pages' terms


def write_batch(store: Store, batch: IngestBatch) -> None:
    """One ingest, in one transaction."""
    stamp = now()
    with store.session() as s:
        if batch.change is not None:  # first: a write that missed another fails here, whole
            record(s, batch.change)
        # new rows as plain inserts, one statement per table (no unit of work to flush)
        if batch.stories:
            rows = [{"id": story, "created_at": stamp} for story in batch.stories]
            s.execute(insert(table_of(StoryRow)), rows)
        opened = {g.id for g in batch.groups}
        if batch.groups:
            s.execute(
                insert(table_of(GroupRow)),
                [
                    {
                        "id": g.id,
                        "story_id": g.story,
                        "created_at": stamp,
                        "first_published": g.published_at,
                        "last_published": g.published_at,
                        "vector": g.vector,
                        "vector_version": g.vector_version,
                        "vector_key": g.vector_key,
                    }
                    for g in batch.groups
                ],
            )
        for values in batch.articles:
            when = values["published_at"]
            group = values["group_id"]
            if when is not None and group not in opened:
                row = s.get(GroupRow, group)
                if row is not None:
                    first, last = utc(row.first_published), utc(row.last_published)
                    row.first_published = min(first, when) if first else when
                    row.last_published = max(last, when) if last else when
        if batch.articles:
            insert_articles(s, [{**values, "ingested_at": stamp} for values in batch.articles])
        s.flush()
        for old, survivor in sorted(batch.merged.items()):
            _merge_group(s, old, survivor)
        update_articles(s, batch.refreshed)
        refreshed = {r["member"] for r in batch.refreshed}
        index_pages(s, [p for p in batch.pages if p.member not in refreshed], new=True)
        index_pages(s, [p for p in batch.pages if p.member in refreshed])
        insert_ignore(
            s, BlockGroupRow, [{"key_hash": k, "group_id": g} for k, g in sorted(batch.blocks)]
        )
        insert_ignore(
            s,
            BlockSiteRow,
            [
                {"site_hash": site, "key_hash": k, "group_id": g}
                for site, k, g in sorted(batch.site_blocks)
            ],
        )


def _merge_group(s: Session, old: int, survivor: int) -> None:
    """A stored group joins another (an article was a copy of both): its members, its span
    and its block rows move, it is recorded as merged, and an emptied story follows."""
    row, into = s.get(GroupRow, old), s.get(GroupRow, survivor)
    if row is None or into is None:
        return
    s.execute(update(ArticleRow).where(ArticleRow.group_id == old).values(group_id=survivor))
    spans = [
        utc(t)
        for t in (
            row.first_published,
            row.last_published,
            into.first_published,
            into.last_published,
        )
    ]
    known = [t for t in spans if t is not None]
    into.first_published = min(known) if known else None
    into.last_published = max(known) if known else None
    for table in (BlockGroupRow, BlockSiteRow):
        columns = [c for c in ("site_hash", "key_hash") if hasattr(table, c)]
        moved = [
            {**dict(zip(columns, values, strict=True)), "group_id": survivor}
            for values in s.execute(
                select(*(getattr(table, c) for c in columns)).where(table.group_id == old)
            ).all()
        ]
        insert_ignore(s, table, moved)
        s.execute(delete(table).where(table.group_id == old))
    row.merged_into, row.vector = survivor, None
    s.flush()
    if row.story_id != into.story_id and not s.scalar(
        select(GroupRow.id)
        .where(GroupRow.story_id == row.story_id, GroupRow.merged_into.is_(None))
        .limit(1)
    ):
        s.execute(
            update(StoryRow).where(StoryRow.id == row.story_id).values(merged_into=into.story_id)
        )


@dataclass(frozen=True)
class TakenDown:
    """What a takedown removed: the article's member and group, whether the group (and its
    story) went with it, and the group's new vector when its old one may have heard it."""

    member: int
    group: int
    emptied: bool
    vector: Any | None


# each is given a member's row and its stored sketch (``_sketch``)
NextVector = Callable[[ArticleRow, "bytes | None"], "tuple[Any, str | None, str | None]"]
OwnKey = Callable[[ArticleRow, "bytes | None"], "str | None"]


def _sketch(s: Session, member: int) -> bytes | None:
    row = s.get(ArticleSketchRow, member)
    return row.sketch if row is not None else None


def take_down(
    store: Store,
    article_id: str,
    next_vector: NextVector,
    own_key: OwnKey,
    seq: int | None = None,
) -> TakenDown | None:
    """Remove an article in one transaction; an emptied group (and story) goes with it. When
    the group's vector may have heard the article (it was the group's first member, or the
    vector was not made from the first member alone: a reindex made it from the group's
    voices), ``next_vector(next first member)`` gives the group's new (vector, version,
    key). None when there is no such article. ``seq``: its number in the change feed."""
    with store.session() as s:
        row = s.get(ArticleRow, article_id)
        if row is None:
            return None
        if seq is not None:
            record(s, Change(seq, (row.member,), (row.group_id,)))
        query = (
            select(ArticleRow)
            .where(ArticleRow.group_id == row.group_id)
            .order_by(ArticleRow.member)
        )
        members = list(s.scalars(query).all())
        rest = [m for m in members if m.id != article_id]
        group = s.get(GroupRow, row.group_id)
        member, group_id = row.member, row.group_id
        s.delete(row)
        replaced = None
        if group is not None and not rest:
            s.execute(delete(BlockGroupRow).where(BlockGroupRow.group_id == group.id))
            s.execute(delete(BlockSiteRow).where(BlockSiteRow.group_id == group.id))
            s.delete(group)
            s.flush()
            if not store.story_has_groups(s, group.story_id):
                s.execute(delete(StoryRow).where(StoryRow.id == group.story_id))
        elif (
            group is not None
            and group.vector is not None
            and (
                members[0].id == article_id
                or group.vector_key != own_key(members[0], _sketch(s, members[0].member))
            )
        ):
            replaced, version, key = next_vector(rest[0], _sketch(s, rest[0].member))
            group.vector = vector_bytes(replaced)
            group.vector_version = version if replaced is not None else None
            group.vector_key = key if replaced is not None else None
        return TakenDown(member, group_id, not rest, replaced)
