"""The live engine: the pipeline's streaming form kept in step with the store.

Writes are serialised by one lock, so two clients can never open two groups for one text;
on PostgreSQL that lock is the store's (``WriteLock``), so the processes that serve one
store take turns too. A batch is acknowledged only after its transaction commits. Articles
are prepared (the slow, pure part) before the lock is taken. The in-memory state (copy
detection, the headlines stored so far, stories, the vector index) is a cache of the store:
it is built from the store at start, and again if a write fails half-way; in between it
replays the change feed (``store.feed``: what every process wrote) before each write,
takedown and match, and every ``reload_poll_seconds`` besides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.snapshot import load_snapshot, save_snapshot
from index.vector_index import FaissIndex, build_index, plan_for, trained_ivf, training_rows
from service.answer import ArticleAnswer, CopyOfOut, Evidence, FlagOut, MatchOut, StoryNearOut
from service.article import Article
from service.canonical import Candidate
from service.embedding import Embedder
from service.furniture import site_of
from service.items import Item, item_of
from service.page_store import PageStore, furniture_of, page_terms, stored_view
from service.pipeline import (
    Assigned,
    Assignment,
    CorpusRun,
    IdSource,
    Stream,
    clean_text,
    cluster_corpus,
    copy_why,
    flags_of,
    lead_key,
    story_why,
)
from service.settings import PREPARATION_VERSION, Settings
from service.sketch import Fingerprint, Sketch
from service.store import (
    ArticleRow,
    Store,
    array_bytes,
    feed,
    pages,
    utc,
    vector_bytes,
)
from service.store.feed import Change, FeedConflict
from service.store.ingest import IngestBatch, NewGroup, StoreCounts, take_down, write_batch
from service.store.lock import WriteLock
from service.stories import Near

log = logging.getLogger(__name__)


class NotFound(LookupError):
    """No such article, group or story (any more)."""


class Recovering(RuntimeError):
    """A write failed half-way: the in-memory state is rebuilt from the store before the
    next write, no sooner than a back-off that doubles while failures go on (so a failure
    storm cannot stall the writers with rebuilds)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the service is recovering from a failed write; retry in {max(1, round(seconds))} s"
        )
        self.seconds = seconds


BACKOFF_START, BACKOFF_MAX = 1.0, 60.0


@dataclass(frozen=True)
class _State:
    """In-memory state built from the store, before it goes live."""

    stream: Stream
    index: FaissIndex
    pages: PageStore
    version: int
    mark: int  # the last change in the feed before the build read the store


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


def _fingerprint_values(fp: Fingerprint, furniture: np.ndarray) -> dict[str, Any]:
    """The columns that say what a stored page is compared on."""
    return {
        "words": fp.words,
        "content_hash": fp.content_hash,
        "shingles": array_bytes(fp.shingles, np.uint32),
        "minhash": array_bytes(fp.minhash, np.uint32),
        "furniture": array_bytes(furniture, np.bool_),
    }


class Engine:
    """Ingest, takedown and snapshots over one store and one model."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.config = settings.pipeline
        self.store = store
        self.embedder = embedder
        self.stats = Stats()
        self._counts = StoreCounts(store)
        self._lock = threading.Lock()
        self._writes = WriteLock(store)
        self._since_snapshot = 0
        self._generation = 0  # how many states have gone live
        self._seen = 0  # the last change of the feed the live state holds
        self._failed_at: float | None = None  # a write failed: rebuild before the next
        self._backoff = BACKOFF_START
        self._ids = IdSource(
            store.id_blocks("member"), store.id_blocks("group"), store.id_blocks("story")
        )
        self._index_stored_pages()
        self.load()

    # -- state -----------------------------------------------------------------------

    def _snapshot_dir(self, version: int) -> Path:
        return self.settings.index_dir / f"v{version}"

    def _index_stored_pages(self, chunk: int = 5000) -> None:
        """A store written before the copy index: give every stored page its band keys and
        headline terms, once (in chunks, under the write lock; a crash part-way resumes)."""
        if self.store.get_meta("copy_index") == "1":
            return
        words = self.config.copies.shingle_words
        with self._writes.held():
            last, done = 0, 0
            while rows := pages.unindexed(self.store, last, chunk):
                terms = []
                for row in rows:
                    fp, view = stored_view(row, words)
                    terms.append(page_terms(row.member, fp, view.headline, self.config.copies))
                pages.write_terms(self.store, terms)
                last, done = rows[-1].member, done + len(rows)
            self.store.set_meta("copy_index", "1")
        if done:
            log.info("indexed the stored pages for copy detection", extra={"pages": done})

    def load(self) -> None:
        """Rebuild the in-memory state from the store (at start, and after a failed write)."""
        self._install(self._build())

    def refresh(self) -> bool:
        """Pick up a new index version written by a reindex: build the new state while
        requests go on, then replay the changes written meanwhile (by any process) and swap,
        under the lock. With no new version, replay the feed (a process that only reads
        stays as fresh as the poll)."""
        if self.store.index_version() == self._version:
            with self._lock:
                self._catch_up()
            return False
        with self._lock:
            generation = self._generation
        state = self._build()
        with self._lock:
            if generation != self._generation:  # a reload went live meanwhile: it is newer
                return False
            self._install(state)
        log.info("switched to index version", extra={"version": state.version})
        return True

    def _build(self) -> _State:
        started = time.perf_counter()
        mark = feed.latest(self.store)
        version = self.store.index_version()
        index = self._load_index(version)
        pages = PageStore(self.store, self.config.copies)
        stream = Stream(
            self.config, self.embedder, self.settings.vector_version, index, self._ids, pages
        )
        stream.stories.restore_all(*self.store.group_columns())
        log.info(
            "engine loaded",
            extra={
                "vectors": len(index),
                "version": version,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        return _State(stream, index, pages, version, mark)

    def _install(self, state: _State) -> None:
        """Make ``state`` live, after replaying the changes committed since the build began
        to read the store (by this process or another)."""
        changes = feed.since(self.store, state.mark)
        if changes and changes[0].seq != state.mark + 1:
            raise RuntimeError("the change feed was pruned past a state being built")
        self._replay(state.stream, state.pages, feed.touched(changes))
        self._seen = changes[-1].seq if changes else state.mark
        self._generation += 1
        self._stream, self._index, self._version = state.stream, state.index, state.version
        self._pages = state.pages

    def _catch_up(self) -> None:
        """Replay what other processes wrote since the live state last looked (under the
        lock); a process further behind than the feed keeps rebuilds from the store."""
        changes = feed.since(self.store, self._seen)
        if not changes:
            return
        if changes[0].seq != self._seen + 1:
            log.warning("the change feed moved past this process; rebuilding from the store")
            self._install(self._build())
            return
        self._replay(self._stream, self._pages, feed.touched(changes))
        self._seen = changes[-1].seq

    def _replay(self, stream: Stream, pages: PageStore, change: Change) -> None:
        """Bring ``stream`` to the store for what ``change`` touched: copy detection asks
        the store itself (only cached pages are read again); stories take the merges, then
        each group read back as it is now (gone: forgotten)."""
        for old, survivor in change.merges:
            stream.stories.merge(old, survivor)
        pages.forget(change.members)
        groups = list(change.groups)
        spans = {g: (t, _span(a, b)) for g, t, a, b in self.store.group_spans(only=groups)}
        vectors = self.store.group_vectors(groups)
        for group in groups:
            if group not in spans:
                stream.stories.forget(group)
                continue
            story, span = spans[group]
            stream.stories.restore(group, story, span)
            blob, made_with = vectors.get(group, (None, None))
            if blob is not None and made_with == self.settings.vector_version:
                stream.stories.replace_vector(group, np.frombuffer(blob, dtype=np.float32))

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
        index = self._index_from_store(ids)
        save_snapshot(index, directory, self.settings.vector_version)
        return index

    def _index_from_store(self, ids: np.ndarray, chunk: int = 50_000) -> FaissIndex:
        """The index of these groups' vectors, read from the store ``chunk`` at a time (an
        IVF's lists are trained on a sample first): a million vectors are never held twice."""
        dim = self.embedder.dim
        plan = plan_for(len(ids), self.settings.flat_max)
        trained = None
        if plan.kind == "ivf":
            sample = ids[training_rows(len(ids), plan)]
            trained = trained_ivf(self.store.vectors(sample.tolist()), plan, dim)
        empty = np.zeros((0, dim), np.float32)
        index = build_index(np.zeros(0, np.int64), empty, plan, dim, trained=trained)
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            index.add(part, self.store.vectors(part.tolist()))
        return index

    def snapshot(self) -> None:
        """Write the vector index to disk (at shutdown, and every so many new groups)."""
        with self._lock:
            save_snapshot(
                self._index, self._snapshot_dir(self._version), self.settings.vector_version
            )
            self._since_snapshot = 0

    def close(self) -> None:
        """Let go of the store's write lock connection (at shutdown)."""
        self._writes.close()

    @property
    def version(self) -> int:
        return self._version

    @property
    def vectors(self) -> int:
        return len(self._index)

    # -- writes ----------------------------------------------------------------------

    def _failed(self, what: str) -> None:
        """A write failed after the in-memory state moved: it is rebuilt before the next."""
        log.exception(f"{what} failed; the engine is rebuilt from the store before the next write")
        self._failed_at = time.monotonic()

    def _recover(self) -> None:
        """Before a write (under the lock): rebuild the state a failed write left, once the
        back-off has passed; until then the write is refused (503, Retry-After)."""
        if self._failed_at is None:
            return
        wait = self._failed_at + self._backoff - time.monotonic()
        if wait > 0:
            raise Recovering(wait)
        try:
            self._install(self._build())
        except BaseException:
            self._failed_at = time.monotonic()
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)
            raise Recovering(self._backoff) from None
        self._failed_at, self._backoff = None, BACKOFF_START

    def ingest(self, articles: Sequence[Article]) -> list[ArticleAnswer]:
        """Assign and store a batch; an id already stored answers as before and stores
        nothing. Every article is prepared before the write lock is taken."""
        unique: dict[str, Article] = {}
        for article in articles:
            unique.setdefault(article.id, article)
        items = {article_id: item_of(a, self.config) for article_id, a in unique.items()}
        written: dict[str, ArticleAnswer] = {}
        with self._lock, self._writes.held():
            self._recover()
            self._catch_up()
            stored = self.store.stored_ids(list(items))
            fresh = [item for article_id, item in items.items() if article_id not in stored]
            if fresh:
                written = self._assign_and_store(fresh, [unique[it.id] for it in fresh])
        missing = [a.id for a in articles if a.id not in written]
        read = dict(zip(missing, self.answers(missing), strict=True)) if missing else {}
        return [written.get(a.id) or read[a.id] for a in articles]

    def _assign_and_store(
        self, items: list[Item], articles: list[Article]
    ) -> dict[str, ArticleAnswer]:
        """Assign and write ``items``; their answers, as a read of the store just after the
        write would give them (no read: a single new article costs no query after it)."""
        started, embedded = time.perf_counter(), self._stream.embedded
        try:
            assigned = self._stream.assign(items, self._counts)
            self.stats.model_seconds += time.perf_counter() - started
            self.stats.embedded += self._stream.embedded - embedded
            batch = self._batch(items, articles, assigned)
            write_batch(self.store, batch)
        except FeedConflict as exc:  # another process wrote beside this one: rebuild
            self._failed("ingest")
            raise Recovering(self._backoff) from exc
        except BaseException:
            self._failed("ingest")
            raise
        finally:
            self._stream.settle()  # stored now, or failed (and rebuilt before the next write)
        assert batch.change is not None
        self._seen = batch.change.seq
        self._pages.forget([r.member for r in assigned.refreshed])
        assignments = assigned.assignments
        self.stats.articles += len(items)
        self.stats.copies += sum(a.is_duplicate for a in assignments)
        self._since_snapshot += sum(not a.is_duplicate for a in assignments)
        if self._since_snapshot >= self.settings.snapshot_every:
            save_snapshot(
                self._index, self._snapshot_dir(self._version), self.settings.vector_version
            )
            self._since_snapshot = 0
        return self._written(assigned, batch)

    def _written(self, assigned: Assigned, batch: IngestBatch) -> dict[str, ArticleAnswer]:
        """The answers of a batch just written, from its own rows. A group this batch
        opened that holds one article has that article as its canonical; any other group's
        canonical is read (an older member, or the policy choosing among several)."""
        assignments = assigned.assignments
        sizes = Counter(a.group for a in assignments)
        alone = {
            a.group
            for a in assignments
            if a.opened and sizes[a.group] == 1 and a.group not in assigned.merged.values()
        }
        canonical = self.canonical_ids({a.group for a in assignments} - alone)
        out = {}
        for a, values in zip(assignments, batch.articles, strict=True):
            out[values["id"]] = ArticleAnswer(
                id=values["id"],
                duplicate_group=a.group,
                canonical_id=values["id"] if a.group in alone else canonical[a.group],
                story=a.story,
                is_duplicate=a.is_duplicate,
                similarity=a.similarity,
                flags=[FlagOut(**f) for f in values["flags"]],
                evidence=Evidence(**values["evidence"]),
            )
        return out

    def _batch(self, items: list[Item], articles: list[Article], assigned: Assigned) -> IngestBatch:
        assignments = assigned.assignments
        batch = IngestBatch(
            change=Change(
                self._seen + 1,
                tuple(a.member for a in assignments) + tuple(r.member for r in assigned.refreshed),
                tuple(
                    {a.group for a in assignments}
                    | set(assigned.merged)
                    | set(assigned.merged.values())
                ),
                tuple(sorted(assigned.merged.items())),
            ),
            merged=dict(assigned.merged),
            pages=[
                *(
                    page_terms(a.member, a.fingerprint, item.headline, self.config.copies)
                    for item, a in zip(items, assignments, strict=True)
                ),
                *(
                    page_terms(r.member, r.fingerprint, None, self.config.copies)
                    for r in assigned.refreshed
                ),
            ],
            refreshed=[
                {"member": r.member, **_fingerprint_values(r.fingerprint, r.furniture)}
                for r in assigned.refreshed
            ],
        )
        version = self.settings.vector_version
        ids = {a.member: item.id for item, a in zip(items, assigned.assignments, strict=True)}
        elsewhere = [
            m for a in assigned.assignments if (m := a.why.matched) is not None and m not in ids
        ]
        ids.update(self.store.ids_of(elsewhere))
        for item, article, a in zip(items, articles, assigned.assignments, strict=True):
            if a.opened:
                if a.new_story:
                    batch.stories.append(a.story)
                batch.groups.append(
                    NewGroup(
                        a.group,
                        a.story,
                        article.published_at,
                        vector_bytes(a.vector),
                        version if a.vector is not None else None,
                        a.lead_key,
                    )
                )
            values = self._article_values(item, article, a)
            matched = ids.get(a.why.matched) if a.why.matched is not None else None
            values["evidence"] = a.why.evidence(matched, a.why.group).model_dump(mode="json")
            batch.articles.append(values)
            for key in item.sketch.keys.tolist():
                batch.blocks.add((key, a.group))
                if item.site is not None:
                    batch.site_blocks.add((item.site, key, a.group))
        return batch

    def _article_values(self, item: Item, article: Article, a: Assignment) -> dict[str, Any]:
        page = item.page
        assert page is not None
        d = a.decision
        kept = item.sketch.kept(d.furniture)
        return {
            "id": article.id,
            "member": a.member,
            "group_id": a.group,
            "is_duplicate": a.is_duplicate,
            "similarity": a.similarity,
            "published_at": article.published_at,
            "title": page.title,
            "source": article.source,
            "url": article.url,
            "site": site_of(article.source, article.url),
            **_fingerprint_values(a.fingerprint, d.furniture),
            "painted": array_bytes(d.furniture, np.bool_),
            "sketch": item.sketch.to_bytes(),
            "prepared_with": PREPARATION_VERSION,
            "lead_block": int(item.sketch.keys[d.lead]) if d.lead >= 0 else None,
            "lead": page.lead(self.config.lead_words, kept),
            "clean_text": clean_text(page, kept),
            "flags": [
                FlagOut.of(f).model_dump(mode="json") for f in flags_of(item, d.furniture, d.counts)
            ],
            "raw": article.html if article.html is not None else article.text or "",
            "raw_kind": "html" if article.html is not None else "text",
            "captions": list(article.captions),
            "credit": item.origin.credit,
            "repost": item.origin.repost,
        }

    def _own_key(self, row: ArticleRow, stored: bytes | None) -> str | None:
        """What a vector made from this member alone (its sketch ``stored``) is made from
        (``lead_key``)."""
        if not stored:
            return None
        sketch = Sketch.from_bytes(stored)
        kept = sketch.kept(furniture_of(row.furniture, len(sketch)))
        version = self.settings.vector_version
        return lead_key(row.title, sketch, kept, self.config.lead_words, version)

    def _next_vector(
        self, row: ArticleRow, stored: bytes | None
    ) -> tuple[np.ndarray | None, str | None, str | None]:
        """The vector of a group's next first member, from its stored lead."""
        if not row.lead.strip():
            return None, None, None
        vector = self.embedder.embed([row.lead])[0]
        return vector, self.settings.vector_version, self._own_key(row, stored)

    def delete(self, article_id: str) -> None:
        """Take an article down: out of the store, copy detection and the index; the group's
        canonical moves to the next member, and an emptied group or story is removed."""
        with self._lock, self._writes.held():
            self._recover()
            self._catch_up()
            seq = self._seen + 1
            try:
                removed = take_down(self.store, article_id, self._next_vector, self._own_key, seq)
            except FeedConflict as exc:
                self._failed("takedown")
                raise Recovering(self._backoff) from exc
            except BaseException:
                self._failed("takedown")
                raise
            if removed is None:
                raise NotFound(f"no article '{article_id}'")
            self._seen = seq
            self._stream.forget_member(removed.member)
            self._stream.settle()
            self._pages.forget([removed.member])
            if removed.emptied:
                self._stream.stories.forget(removed.group)
            elif removed.vector is not None:
                self._stream.stories.replace_vector(removed.group, removed.vector)

    # -- reads -----------------------------------------------------------------------

    def match(self, article: Article, limit: int = 5) -> MatchOut:
        """Where an article would go: its stored copy group and the nearest stories, with
        evidence; nothing is stored and no state changes. The model runs outside the lock."""
        item = item_of(article, self.config)
        assert item.page is not None
        with self._lock:
            self._catch_up()
            copy, decision = self._stream.probe(item, self._counts)
            copy_story = self._stream.stories.story(copy.group) if copy is not None else None
        kept = item.sketch.kept(decision.furniture)
        lead = item.page.lead(self.config.lead_words, kept)
        near: list[Near] = []
        if lead.strip():
            vector = self.embedder.embed([lead])[0]
            with self._lock:
                near = self._stream.stories.nearest(
                    vector, item.published_at, self.config.stories.neighbours
                )
        rules = self.config.stories
        stories: dict[int, StoryNearOut] = {}
        for found in near:
            if found.story not in stories and len(stories) < limit:
                stories[found.story] = StoryNearOut(
                    story=found.story,
                    score=found.link.decayed,
                    joins=found.link.decayed >= rules.threshold,
                    evidence=story_why(found.link, rules).evidence(None, found.link.other),
                )
        duplicate = None
        if copy is not None:
            copied = copy_why(
                copy.member, copy.group, copy.exact, round(copy.similarity, 4), self.config.copies
            )
            duplicate = CopyOfOut(
                duplicate_group=copy.group,
                story=copy_story or 0,
                canonical_id=self.canonical_ids({copy.group}).get(copy.group, ""),
                evidence=copied.evidence(
                    self.store.ids_of([copy.member]).get(copy.member), copy.group
                ),
            )
        flags = flags_of(item, decision.furniture, decision.counts)
        return MatchOut(
            duplicate_of=duplicate,
            stories=list(stories.values()),
            flags=[FlagOut.of(f) for f in flags],
        )

    def answers(self, ids: Sequence[str]) -> list[ArticleAnswer]:
        """The stored answer for each id, in order (ids must be stored)."""
        rows = self.store.articles(ids)
        flags = self.store.flags(row.member for row in rows.values())
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
                ArticleAnswer(
                    id=row.id,
                    duplicate_group=row.group_id,
                    canonical_id=canonical[row.group_id],
                    story=story_of.get(row.group_id, 0),
                    is_duplicate=row.is_duplicate,
                    similarity=row.similarity,
                    flags=[FlagOut(**f) for f in flags.get(row.member, [])],
                    evidence=Evidence(**row.evidence) if row.evidence else None,
                )
            )
        return out

    def canonical_ids(self, groups: set[int]) -> dict[int, str]:
        """Each group's canonical member under the configured policy (the order the batch
        pipeline uses)."""
        return {group: chosen.id for group, chosen in self.canonicals(groups).items()}

    def canonicals(self, groups: set[int]) -> dict[int, Candidate]:
        """Each group's canonical member, read from the store: a change of policy shows at
        once, and the next reindex orders the groups' voices and copies by it."""
        if not groups:
            return {}
        members: dict[int, list[Candidate]] = {}
        for group, candidate in self.store.candidates(groups):
            members.setdefault(group, []).append(candidate)
        rules = self.config.canonical
        return {group: rules.choose(found) for group, found in members.items()}

    def cluster_only(self, articles: Sequence[Article]) -> CorpusRun:
        """Cluster just this batch; nothing is stored and ids are local to the answer."""
        unique = list({a.id: a for a in articles}.values())
        return cluster_corpus(unique, self.config, self.embedder)
