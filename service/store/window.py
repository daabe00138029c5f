"""The reindex's reads and its one writing transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Text, bindparam, cast, delete, func, select, update

from service.sketch import Sketch
from service.store.core import (
    CHUNK,
    LIVE_SPANS,
    Store,
    executemany,
    insert_ignore,
    table_of,
    update_articles,
)
from service.store.pages import PageTerms, index_pages, with_sketch
from service.store.schema import (
    ArticleRow,
    ArticleSketchRow,
    BlockGroupRow,
    BlockSiteRow,
    GroupRow,
    MetaRow,
    ReindexRow,
    StoryRow,
    now,
    utc,
)


class WindowRow(NamedTuple):
    """One stored article of the window: where it is, and what the pipeline reads of it. A
    named tuple, not a frozen dataclass: as immutable, and made in 0.4 us, not 2.9 (a frozen
    dataclass sets each of its fields through ``object.__setattr__``: 2.5 s a million)."""

    member: int
    id: str
    group: int
    story: int
    site: str | None
    title: str | None
    published_at: datetime | None
    furniture: bytes | None
    painted: bytes | None  # the furniture its flags were made with
    lead_block: int | None
    prepared_with: int
    content_hash: str
    is_duplicate: bool
    similarity: float | None
    credit: str | None = None
    repost: bool = False
    evidence: int | None = None  # a digest of the stored evidence (``digest``)
    words: int = 0  # of the stored fingerprint (its minhash is in ``Window.minhashes``)
    shingle_count: int = 0  # of the stored fingerprint: the set is made from the sketch


class Window(NamedTuple):
    """The window's rows, and beside them each row's stored sketch (None where it is to be
    made again) and minhash (uint32 views of one array per chunk read): the reindex makes
    its items of the sketches and band keys of the minhashes, and lets both lists go (an
    item's sketch is outlined once the copies are known, a row's would stay). A chunk's
    minhashes are one array, mapped on its own and given back whole, where a blob a row
    left holes between the sketches kept, which the process held on to (a 200k night's
    peak: 1,734 MiB, not 1,515). A stored shingle set is not read (its size is): it is the sketch's shingles
    over the blocks it was made from, made again when a link is tested."""

    rows: list[WindowRow]
    sketches: list[Sketch | None]  # read into their own bytes (the rows' go)
    minhashes: list[np.ndarray]


def json_text(value: Any) -> str:
    """A JSON value serialised as the store's JSON columns serialise it: the reindex hashes
    this text and writes it as it is (``core.update_articles``), serialising each value once."""
    return json.dumps(value)


def digest(text: str) -> int:
    """64 bits standing for a JSON value's text (``json_text``), so that a stored value is
    compared by its text, never parsed (a value written otherwise hashes otherwise and is
    written again: no change is missed). The window keeps this."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _reference() -> Any:
    return func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)


def _joined(blobs: list[bytes | None]) -> list[np.ndarray]:
    """These blobs of uint32 values as views of one array, in order (empty for None)."""
    whole = np.frombuffer(b"".join([b for b in blobs if b]), np.uint32)
    sizes = [len(b) // 4 if b else 0 for b in blobs]
    return [whole[end - size : end] for size, end in zip(sizes, accumulate(sizes), strict=True)]


def read_window(store: Store, since: datetime, preparation: int, batch: int = 20_000) -> Window:
    """The articles published (else ingested) since ``since``, in arrival order. A sketch
    made by another ``preparation`` is not read (None): its page is prepared
    again, and an older preparation's sketch need not be in this one's layout."""
    columns = (
        ArticleRow.member,
        ArticleRow.id,
        ArticleRow.group_id,
        GroupRow.story_id,
        ArticleRow.site,
        ArticleRow.title,
        ArticleRow.published_at,
        ArticleSketchRow.sketch,
        ArticleRow.furniture,
        ArticleRow.painted,
        ArticleRow.lead_block,
        ArticleRow.prepared_with,
        ArticleRow.content_hash,
        ArticleRow.is_duplicate,
        ArticleRow.similarity,
        ArticleRow.credit,
        ArticleRow.repost,
        cast(ArticleRow.evidence, Text),  # its text as stored: hashed, not parsed
        ArticleRow.words,
        func.length(ArticleSketchRow.shingles),
        ArticleSketchRow.minhash,
    )
    window = Window([], [], [])
    # a window's sites, credits, titles and furniture masks repeat (a site's pages share
    # its blocks, a story's copies its title): each value is held once, not once a row
    few: dict[str | bytes, str | bytes] = {}

    def once(value: Any) -> Any:
        return value if value is None else few.setdefault(value, value)

    last = 0
    while True:
        with store.reading() as conn:  # no ORM: its row loading was a sixth of the read
            query = (
                with_sketch(select(*columns).join(GroupRow, GroupRow.id == ArticleRow.group_id))
                .where(ArticleRow.member > last, _reference() >= since)
                .order_by(ArticleRow.member)
                .limit(batch)
            )
            chunk = conn.execute(query).all()
        if not chunk:
            return window
        window.minhashes.extend(_joined([r[20] for r in chunk]))
        window.sketches.extend(
            Sketch.from_bytes(r[7]) if r[7] is not None and int(r[11] or 0) == preparation else None
            for r in chunk
        )
        for r in chunk:
            window.rows.append(
                WindowRow(
                    int(r[0]),
                    r[1],
                    int(r[2]),
                    int(r[3]),
                    once(r[4]),
                    once(r[5]),
                    utc(r[6]),
                    once(r[8]),
                    once(r[9]),
                    r[10],
                    int(r[11] or 0),
                    r[12],
                    bool(r[13]),
                    r[14],
                    once(r[15]),
                    bool(r[16]),
                    digest(r[17]) if r[17] not in (None, "null") else None,
                    int(r[18] or 0),
                    int(r[19] or 0) // 4,
                )
            )
        last = int(chunk[-1][0])


@dataclass
class GroupWrite:
    """A duplicate group as the reindex leaves it."""

    id: int
    story: int
    first: datetime | None
    last: datetime | None
    created: bool
    vector: bytes | None = None  # set when the vector was made anew
    vector_key: str | None = None


@dataclass
class ReindexWrite:
    """Everything a reindex changes, written in one transaction."""

    stories_created: list[int] = field(default_factory=list)
    stories_merged: dict[int, int] = field(default_factory=dict)
    groups: list[GroupWrite] = field(default_factory=list)
    groups_merged: dict[int, int] = field(default_factory=dict)
    vector_version: str = ""
    moved: dict[int, int] = field(default_factory=dict)  # member -> group
    # member + changed columns; a JSON column's value as its text (``json_text``)
    articles: list[dict[str, Any]] = field(default_factory=list)
    rebuilt_groups: set[int] = field(default_factory=set)  # groups whose block rows are rebuilt
    blocks: set[tuple[int, int]] = field(default_factory=set)
    site_blocks: set[tuple[int, int, int]] = field(default_factory=set)
    meta: dict[str, str] = field(default_factory=dict)
    pages: list[PageTerms] = field(default_factory=list)  # pages whose terms changed


def _redirect(s: Any, column: Any, values: dict[str, Any], pairs: list[dict[str, int]]) -> None:
    """Rows whose ``column`` holds a pair's ``old`` id take ``values`` (the survivor bound as
    ``new``): one statement over every pair."""
    statement = update(column.table).where(column == bindparam("old")).values(**values)
    executemany(s, statement, pairs)


def _changed_groups(s: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of these group updates, those that change the stored row (story, span, or a merge to
    undo): on most nights few groups change, and rewriting every row (its vector with it)
    was half the write."""
    if not rows:
        return rows
    ids = [r["b_id"] for r in rows]
    live = LIVE_SPANS.where(GroupRow.id >= min(ids), GroupRow.id <= max(ids))
    stored = {int(g): (story, utc(first), utc(last)) for g, story, first, last in s.execute(live)}
    return [
        r
        for r in rows
        if stored.get(r["b_id"]) != (r["b_story"], utc(r["b_first"]), utc(r["b_last"]))
    ]


def write_reindex(store: Store, w: ReindexWrite, since: datetime, purge: bool) -> tuple[int, int]:
    """The whole switch: stories, groups, moves, merges, article updates, block rows and the
    version pointer commit together or not at all. Returns (articles older than the window,
    of them deleted)."""
    stamp = now()
    with store.session() as s:
        for story in sorted(w.stories_created):
            s.add(StoryRow(id=story, created_at=stamp))
        s.flush()
        # merges as one statement each, run over every pair (a first night after seeding
        # merges tens of thousands of stories: a statement per pair was most of its write)
        table, stories = table_of(GroupRow), table_of(StoryRow)
        story_merges = [{"old": o, "new": n} for o, n in w.stories_merged.items()]
        survivor: Any = bindparam("new")
        _redirect(s, table.c.story_id, {"story_id": survivor}, story_merges)
        _redirect(s, stories.c.id, {"merged_into": survivor}, story_merges)
        plain, fresh = [], []
        for g in w.groups:
            values = {"b_id": g.id, "b_story": g.story, "b_first": g.first, "b_last": g.last}
            if g.created:
                s.add(
                    GroupRow(
                        id=g.id,
                        story_id=g.story,
                        created_at=stamp,
                        first_published=g.first,
                        last_published=g.last,
                        vector=g.vector,
                        vector_version=w.vector_version if g.vector is not None else None,
                        vector_key=g.vector_key if g.vector is not None else None,
                    )
                )
            elif g.vector is not None:
                fresh.append({**values, "b_vector": g.vector, "b_key": g.vector_key})
            else:
                plain.append(values)
        s.flush()
        common: dict[str, Any] = {
            "story_id": bindparam("b_story"),
            "first_published": bindparam("b_first"),
            "last_published": bindparam("b_last"),
            "merged_into": None,
        }
        by_id = update(table).where(table.c.id == bindparam("b_id"))
        executemany(s, by_id.values(**common), _changed_groups(s, plain))
        executemany(
            s,
            by_id.values(
                **common,
                vector=bindparam("b_vector"),
                vector_version=w.vector_version,
                vector_key=bindparam("b_key"),
            ),
            fresh,
        )
        s.flush()
        articles = table_of(ArticleRow)
        moves = [{"m": m, "g": g} for m, g in w.moved.items()]
        executemany(
            s,
            update(articles)
            .where(articles.c.member == bindparam("m"))
            .values(group_id=bindparam("g")),
            moves,
        )
        update_articles(s, w.articles)
        index_pages(s, w.pages)
        group_merges = [{"old": o, "new": n} for o, n in w.groups_merged.items()]
        _redirect(s, articles.c.group_id, {"group_id": survivor}, group_merges)
        _redirect(s, table.c.id, {"merged_into": survivor, "vector": None}, group_merges)
        rebuilt = sorted(w.rebuilt_groups)
        for start in range(0, len(rebuilt), CHUNK):
            chunk = rebuilt[start : start + CHUNK]
            s.execute(delete(BlockGroupRow).where(BlockGroupRow.group_id.in_(chunk)))
            s.execute(delete(BlockSiteRow).where(BlockSiteRow.group_id.in_(chunk)))
        insert_ignore(
            s, BlockGroupRow, [{"key_hash": k, "group_id": g} for k, g in sorted(w.blocks)]
        )
        insert_ignore(
            s,
            BlockSiteRow,
            [{"site_hash": a, "key_hash": k, "group_id": g} for a, k, g in sorted(w.site_blocks)],
        )
        edge = _window_edge(s, since, purge)
        for key, value in w.meta.items():
            s.merge(MetaRow(key=key, value=value))
        return edge


def _window_edge(s: Any, since: datetime, purge: bool) -> tuple[int, int]:
    """Articles older than the window: counted, and deleted when purging is configured."""
    reference = _reference()
    old = s.scalar(select(func.count()).select_from(ArticleRow).where(reference < since)) or 0
    if not purge or not old:
        return int(old), 0
    s.execute(delete(ArticleRow).where(reference < since))
    empty = select(GroupRow.id).where(
        ~select(ArticleRow.member).where(ArticleRow.group_id == GroupRow.id).exists()
    )
    empty_ids = [int(g) for g in s.scalars(empty.where(GroupRow.merged_into.is_(None))).all()]
    for start in range(0, len(empty_ids), CHUNK):
        chunk = empty_ids[start : start + CHUNK]
        s.execute(delete(BlockGroupRow).where(BlockGroupRow.group_id.in_(chunk)))
        s.execute(delete(BlockSiteRow).where(BlockSiteRow.group_id.in_(chunk)))
        s.execute(delete(GroupRow).where(GroupRow.id.in_(chunk)))
    return int(old), int(old)


def mark_interrupted(store: Store) -> int:
    """Runs marked running, whose holder died (the caller holds the lock): interrupted."""
    with store.session() as s:
        result = s.execute(
            update(ReindexRow)
            .where(ReindexRow.status == "running")
            .values(status="interrupted", finished_at=now())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_run(store: Store) -> int:
    with store.session() as s:
        row = ReindexRow(started_at=now(), status="running", report={})
        s.add(row)
        s.flush()
        return int(row.id)


def close_run(store: Store, run_id: int, status: str, report: dict[str, Any]) -> None:
    with store.session() as s:
        row = s.get(ReindexRow, run_id)
        if row is not None:
            row.finished_at, row.status, row.report = now(), status, report
