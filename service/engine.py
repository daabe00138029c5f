"""The live engine: the online clusterer kept in step with the store.

Writes are serialised by one lock, so two clients can never open two groups for one
story; a batch is acknowledged only after its transaction commits. The in-memory state
(copy detection, stories, the vector index) is a cache of the store: it is rebuilt from the
store at start, and again if a write fails half-way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from index.snapshot import load_snapshot, save_snapshot
from index.vector_index import FaissIndex, build_index, plan_for
from service.article import Article
from service.clustering import Assignment, Clusterer, IdSource, canonical_order
from service.corpus import cluster_corpus
from service.embedder import Embedder
from service.fingerprint import minhash_bytes, restored
from service.prepare import Page, prepare, with_boilerplate
from service.settings import Settings
from service.store import (
    ArticleRow,
    BlockGroupRow,
    GroupRow,
    Store,
    StoryRow,
    now,
    shingle_bytes,
    shingles_of,
    utc,
    vector_bytes,
    vector_of,
)
from service.text import key_hash

log = logging.getLogger(__name__)


class NotFound(LookupError):
    """No such article, group or story (any more)."""


@dataclass(frozen=True)
class ArticleOut:
    """The output contract for one article."""

    id: str
    duplicate_group: int
    canonical_id: str
    story: int
    is_duplicate: bool
    similarity: float | None
    flags: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _State:
    """In-memory state built from the store, before it goes live."""

    clusterer: Clusterer
    index: FaissIndex
    version: int
    mark: tuple[int, int]


@dataclass
class Stats:
    """Counters the metrics endpoint reads."""

    articles: int = 0
    copies: int = 0
    model_seconds: float = 0.0
    embedded: int = 0


def _span(first: datetime | None, last: datetime | None) -> tuple[datetime, datetime] | None:
    a, b = utc(first), utc(last)
    return (a, b) if a is not None and b is not None else None


def _insert_ignore(session: Session, rows: list[dict[str, int]]) -> None:
    """Add (block, group) pairs that are not there yet, in either dialect."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(BlockGroupRow).values(rows).on_conflict_do_nothing())


class Engine:
    """Ingest, takedown and snapshots over one store and one model."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.stats = Stats()
        self._lock = threading.Lock()
        self._since_snapshot = 0
        self._journaling = False  # while a refresh builds, writes are noted for _install
        self._generation = 0  # how many states have gone live
        self._written_members: list[int] = []
        self._written_groups: list[int] = []
        self._ids = IdSource(
            store.id_blocks("member"), store.id_blocks("group"), store.id_blocks("story")
        )
        self.load()

    # -- state -----------------------------------------------------------------------

    def _snapshot_dir(self, version: int) -> Path:
        return self.settings.index_dir / f"v{version}"

    def load(self) -> None:
        """Rebuild the in-memory state from the store (at start, and after a failed write)."""
        self._install(self._build())

    def refresh(self) -> bool:
        """Pick up a new index version written by a reindex: build the new state while
        requests go on, then replay what this process wrote meanwhile and swap, under the lock."""
        if self.store.index_version() == self._version:
            return False
        with self._lock:
            self._journaling, generation = True, self._generation
        try:
            state = self._build()
        except BaseException:
            with self._lock:
                self._journaling = False
            raise
        with self._lock:
            if generation != self._generation:  # a reload went live meanwhile: it is newer
                return False
            self._install(state)
        log.info("switched to index version", extra={"version": state.version})
        return True

    def _build(self) -> _State:
        started = time.perf_counter()
        mark = (len(self._written_members), len(self._written_groups))  # before any read
        version = self.store.index_version()
        index = self._load_index(version)
        clusterer = Clusterer(self.settings, self.embedder, index, self._ids)
        for group, story, first, last in self.store.group_spans():
            clusterer.stories.restore(group, story, _span(first, last))
        for row in self.store.iter_fingerprints():
            fp = restored(row.content_hash, shingles_of(row.shingles), row.minhash, row.words)
            clusterer.restore_member(row.member, row.group_id, fp)
        log.info(
            "engine loaded",
            extra={
                "vectors": len(index),
                "version": version,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        return _State(clusterer, index, version, mark)

    def _install(self, state: _State) -> None:
        """Make ``state`` live, after replaying the members and groups this process wrote
        or took down since the build began (read back from the store as they are now)."""
        clusterer, index = state.clusterer, state.index
        members = sorted(set(self._written_members[state.mark[0] :]))
        found = {row.member: row for row in self.store.fingerprints_of(members)}
        for member in members:
            row = found.get(member)
            if row is None:
                clusterer.forget_member(member)
            elif member not in clusterer.duplicates:
                fp = restored(row.content_hash, shingles_of(row.shingles), row.minhash, row.words)
                clusterer.restore_member(row.member, row.group_id, fp)
        groups = sorted(set(self._written_groups[state.mark[1] :]))
        spans = {g: (t, _span(a, b)) for g, t, a, b in self.store.group_spans(only=groups)}
        vectors = self.store.group_vectors(groups)
        for group in groups:
            if group not in spans:
                clusterer.stories.forget(group)
                continue
            story, span = spans[group]
            clusterer.stories.restore(group, story, span)
            blob, made_with = vectors.get(group, (None, None))
            if blob is not None and made_with == self.settings.vector_version:
                clusterer.stories.replace_vector(group, vector_of(blob))
        self._written_members.clear()
        self._written_groups.clear()
        self._journaling = False
        self._generation += 1
        self._clusterer, self._index, self._version = clusterer, index, state.version

    def _load_index(self, version: int) -> FaissIndex:
        """The snapshot of this version when it is exactly the store's vectors up to its
        last id (newer vectors are added); otherwise a rebuild from the store."""
        ids = self.store.vector_ids(self.settings.vector_version)
        directory = self._snapshot_dir(version)
        snapshot = load_snapshot(directory, self.embedder.dim, self.settings.vector_version)
        if snapshot is not None:
            held = snapshot.ids()
            top = int(held[-1]) if len(held) else 0
            if np.array_equal(held, ids[ids <= top]):
                newer = ids[ids > top]
                if len(newer):
                    snapshot.add(newer, self.store.vectors(newer.tolist()))
                return snapshot
            log.warning("index snapshot is stale; rebuilding from the store")
        dim = self.embedder.dim
        vectors = self.store.vectors(ids.tolist()) if len(ids) else np.zeros((0, dim), np.float32)
        index = build_index(ids, vectors, plan_for(len(ids), self.settings.flat_max), dim)
        save_snapshot(index, directory, self.settings.vector_version)
        return index

    def snapshot(self) -> None:
        """Write the vector index to disk (at shutdown, and every so many new groups)."""
        with self._lock:
            save_snapshot(
                self._index, self._snapshot_dir(self._version), self.settings.vector_version
            )
            self._since_snapshot = 0

    @property
    def version(self) -> int:
        return self._version

    @property
    def vectors(self) -> int:
        return len(self._index)

    # -- writes ----------------------------------------------------------------------

    def ingest(self, articles: Sequence[Article]) -> list[ArticleOut]:
        """Assign and store a batch; an id already stored answers as before and stores nothing."""
        unique: dict[str, Article] = {}
        for article in articles:
            unique.setdefault(article.id, article)
        pages = {article_id: prepare(a, self.settings) for article_id, a in unique.items()}
        with self._lock:
            stored = self.store.articles(list(pages))
            fresh = [page for article_id, page in pages.items() if article_id not in stored]
            if fresh:
                self._assign_and_store(fresh)
        return self.answers([a.id for a in articles])

    def _assign_and_store(self, pages: list[Page]) -> None:
        keys = {block.key: key_hash(block.key) for page in pages for block in page.blocks}
        counts = self.store.block_counts(set(keys.values()))
        seen: Mapping[str, int] = {key: counts.get(h, 0) for key, h in keys.items()}
        pages = [with_boilerplate(page, seen, self.settings) for page in pages]
        started, embedded = time.perf_counter(), self._clusterer.embedded
        try:
            assignments = self._clusterer.assign(pages)
            self.stats.model_seconds += time.perf_counter() - started
            self.stats.embedded += self._clusterer.embedded - embedded
            with self.store.session() as session:
                self._write(session, pages, assignments, keys)
        except BaseException:
            log.exception("ingest failed; reloading the engine from the store")
            self.load()
            raise
        if self._journaling:
            self._written_members.extend(a.member for a in assignments)
            self._written_groups.extend(a.group for a in assignments)
        self.stats.articles += len(pages)
        self.stats.copies += sum(a.is_duplicate for a in assignments)
        self._since_snapshot += sum(not a.is_duplicate for a in assignments)
        if self._since_snapshot >= self.settings.snapshot_every:
            save_snapshot(
                self._index, self._snapshot_dir(self._version), self.settings.vector_version
            )
            self._since_snapshot = 0

    def _write(
        self,
        session: Session,
        pages: list[Page],
        assignments: list[Assignment],
        keys: Mapping[str, int],
    ) -> None:
        stamp = now()
        for story in sorted(
            {a.story for a in assignments if not a.is_duplicate and a.similarity is None}
        ):
            session.add(StoryRow(id=story, created_at=stamp))
        session.flush()
        groups: dict[int, GroupRow] = {}
        for page, a in zip(pages, assignments, strict=True):
            when = page.article.published_at
            if not a.is_duplicate:
                groups[a.group] = GroupRow(
                    id=a.group,
                    story_id=a.story,
                    created_at=stamp,
                    first_published=when,
                    last_published=when,
                    vector=vector_bytes(a.vector),
                    vector_version=self.settings.vector_version if a.vector is not None else None,
                )
                session.add(groups[a.group])
            elif when is not None:
                row = groups.get(a.group) or session.get(GroupRow, a.group)
                if row is not None:
                    first, last = utc(row.first_published), utc(row.last_published)
                    row.first_published = min(first, when) if first else when
                    row.last_published = max(last, when) if last else when
        session.flush()
        session.add_all(
            [self._article_row(p, a, stamp) for p, a in zip(pages, assignments, strict=True)]
        )
        session.flush()
        pairs = {
            (keys[b.key], a.group)
            for page, a in zip(pages, assignments, strict=True)
            for b in page.blocks
        }
        _insert_ignore(session, [{"key_hash": k, "group_id": g} for k, g in sorted(pairs)])

    def _article_row(self, page: Page, a: Assignment, stamp: datetime) -> ArticleRow:
        article = page.article
        return ArticleRow(
            id=article.id,
            member=a.member,
            group_id=a.group,
            is_duplicate=a.is_duplicate,
            similarity=a.similarity,
            published_at=article.published_at,
            ingested_at=stamp,
            title=page.title,
            source=article.source,
            url=article.url,
            words=a.fingerprint.words,
            content_hash=a.fingerprint.content_hash,
            shingles=shingle_bytes(a.fingerprint.shingles),
            minhash=minhash_bytes(a.fingerprint.minhash),
            lead=page.lead(self.settings.lead_words),
            clean_text=page.clean_text,
            flags=[flag.to_json() for flag in page.flags],
            raw=article.html if article.html is not None else article.text or "",
            raw_kind="html" if article.html is not None else "text",
            captions=list(article.captions),
        )

    def delete(self, article_id: str) -> None:
        """Take an article down: out of the store, copy detection and the index; the group's
        canonical moves to the next member, and an emptied group or story is removed."""
        with self._lock:
            try:
                self._delete(article_id)
            except NotFound:
                raise
            except BaseException:
                log.exception("takedown failed; reloading the engine from the store")
                self.load()
                raise

    def _delete(self, article_id: str) -> None:
        with self.store.session() as session:
            row = session.get(ArticleRow, article_id)
            if row is None:
                raise NotFound(f"no article '{article_id}'")
            query = (
                select(ArticleRow)
                .where(ArticleRow.group_id == row.group_id)
                .order_by(ArticleRow.member)
            )
            members = list(session.scalars(query).all())
            rest = [m for m in members if m.id != article_id]
            group = session.get(GroupRow, row.group_id)
            session.delete(row)
            replaced: np.ndarray | None = None
            if group is not None and not rest:
                session.execute(delete(BlockGroupRow).where(BlockGroupRow.group_id == group.id))
                session.delete(group)
                session.flush()
                if not self.store.story_has_groups(session, group.story_id):
                    session.execute(delete(StoryRow).where(StoryRow.id == group.story_id))
            elif group is not None and members[0].id == article_id and group.vector is not None:
                replaced = self.embedder.embed([rest[0].lead])[0]
                group.vector = vector_bytes(replaced)
                group.vector_version = self.settings.vector_version
            group_id = row.group_id
        if self._journaling:
            self._written_members.append(row.member)
            self._written_groups.append(group_id)
        self._clusterer.forget_member(row.member)
        if not rest:
            self._clusterer.stories.forget(group_id)
        elif replaced is not None:
            self._clusterer.stories.replace_vector(group_id, replaced)

    # -- reads -----------------------------------------------------------------------

    def answers(self, ids: Sequence[str]) -> list[ArticleOut]:
        """The stored answer for each id, in order (ids must be stored)."""
        rows = self.store.articles(ids)
        groups = {row.group_id for row in rows.values()}
        canonical = self.canonical_ids(groups)
        story_of = {
            group: story for group, story, _, _ in self.store.group_spans(only=list(groups))
        }
        out = []
        for article_id in ids:
            row = rows.get(article_id)
            if row is None:
                raise NotFound(f"no article '{article_id}'")
            out.append(
                ArticleOut(
                    id=row.id,
                    duplicate_group=row.group_id,
                    canonical_id=canonical[row.group_id],
                    story=story_of.get(row.group_id, 0),
                    is_duplicate=row.is_duplicate,
                    similarity=row.similarity,
                    flags=row.flags,
                )
            )
        return out

    def canonical_ids(self, groups: set[int]) -> dict[int, str]:
        """Each group's canonical member: earliest published, ties to the longest text."""
        best: dict[int, tuple[tuple[float, int, int], str]] = {}
        for row in self.store.member_keys(groups):
            group, article_id, published, words, member = row
            key = canonical_order(utc(published), words, member)
            if group not in best or key < best[group][0]:
                best[group] = (key, article_id)
        return {group: article_id for group, (_, article_id) in best.items()}

    def cluster_only(self, articles: Sequence[Article]) -> list[dict[str, Any]]:
        """Cluster just this batch; nothing is stored and ids are local to the answer."""
        unique = list({a.id: a for a in articles}.values())
        run = cluster_corpus(unique, self.settings, self.embedder)
        return [result.to_json() for result in run.results]
