"""The nightly reindex: re-embed stale vectors, rebuild the index, re-cluster the window in
batch, keep ids stable, and switch to the result atomically.

Everything is computed from the store, written into a new index version directory, and
made current by one transaction (assignments, merges and the version pointer together).
A crash at any step leaves the previous version current; the next run starts afresh.
The running service notices the new version and swaps it in (``Engine.refresh``).
"""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Table, bindparam, delete, func, select, update

from index.lock import reindex_lock
from index.recluster import IdMapping, average_link, duplicate_components, map_ids
from index.snapshot import save_snapshot
from index.vector_index import FaissIndex, build_index, plan_for
from index.window import Window, read_window
from service.article import Article
from service.clustering import lsh_bands
from service.embedder import Embedder
from service.prepare import prepare, with_boilerplate
from service.settings import Settings
from service.store import (
    ArticleRow,
    BlockGroupRow,
    GroupRow,
    MetaRow,
    ReindexRow,
    Store,
    StoryRow,
    now,
    vector_bytes,
    vector_of,
)
from service.stories import days_apart, decayed
from service.text import key_hash

log = logging.getLogger(__name__)


@dataclass
class ReindexReport:
    """What a run changed; logged, stored, served at /v1/reindex/last and in /metrics."""

    version: int = 0
    status: str = "running"
    error: str = ""
    window_start: str = ""
    articles: int = 0
    left_window: int = 0
    purged: int = 0
    reembedded: int = 0
    embedded_new: int = 0
    groups: int = 0
    groups_merged: int = 0
    groups_split: int = 0
    stories: int = 0
    stories_merged: int = 0
    stories_split: int = 0
    index: str = ""
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _first_of_each(labels: np.ndarray) -> dict[int, int]:
    """The first item (earliest arrival) of each label."""
    first: dict[int, int] = {}
    for i, label in enumerate(labels.tolist()):
        first.setdefault(label, i)
    return first


def _spans(labels: np.ndarray, when: list[datetime | None]) -> dict[int, tuple[datetime, datetime]]:
    spans: dict[int, tuple[datetime, datetime]] = {}
    for label, moment in zip(labels.tolist(), when, strict=True):
        if moment is not None:
            span = spans.get(label)
            spans[label] = (
                (min(span[0], moment), max(span[1], moment)) if span else (moment, moment)
            )
    return spans


class Reindex:
    """One run of the job over a store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Callable[[], Embedder],
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._progress = progress
        self.report = ReindexReport()
        self._clock = time.perf_counter()
        self._fresh: set[int] = set()

    def _step(self, name: str) -> None:
        moment = time.perf_counter()
        self.report.steps[name] = round(moment - self._clock, 2)
        self._clock = moment

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def run(self, on_start: Callable[[], None] | None = None) -> ReindexReport:
        """Run once; ``on_start`` is called when the lock is held (raises ReindexBusy when not)."""
        started = time.perf_counter()
        with reindex_lock(self.settings, self.store):
            run_id = self._open_run()
            if on_start is not None:
                on_start()
            try:
                self._run()
                self.report.status = "done"
            except BaseException as exc:
                self.report.status = "failed"
                self.report.error = f"{type(exc).__name__}: {exc}"[:1000]
                raise
            finally:
                self.report.seconds = round(time.perf_counter() - started, 2)
                self._close_run(run_id)
                log.info("reindex finished", extra=self.report.to_json())
        return self.report

    def _open_run(self) -> int:
        with self.store.session() as s:
            row = ReindexRow(started_at=now(), status="running", report={})
            s.add(row)
            s.flush()
            return int(row.id)

    def _close_run(self, run_id: int) -> None:
        with self.store.session() as s:
            row = s.get(ReindexRow, run_id)
            if row is not None:
                row.finished_at, row.status, row.report = (
                    now(),
                    self.report.status,
                    self.report.to_json(),
                )

    def _run(self) -> None:
        settings, report = self.settings, self.report
        since = now() - timedelta(days=settings.retention_days)
        report.window_start = since.isoformat()
        version = self.store.index_version() + 1
        report.version = version
        window = read_window(self.store, since)
        report.articles = len(window.member)
        self._step("read")

        bands, rows = lsh_bands(settings)
        dup_labels = (
            duplicate_components(
                window.hashes,
                window.shingles,
                window.minhashes,
                bands=bands,
                rows=rows,
                threshold=settings.duplicate_containment,
                min_shingles=settings.min_shingles,
            )
            if len(window.member)
            else np.zeros(0, dtype=np.int64)
        )
        groups = map_ids(window.group, dup_labels, self.store.id_blocks("group"))
        report.groups, report.groups_merged, report.groups_split = groups.sizes
        self._step("duplicates")

        group_ids = np.array([groups.ids[label] for label in dup_labels.tolist()], dtype=np.int64)
        first = _first_of_each(dup_labels)
        vectors = self._vectors(window, groups.ids, first)
        self._step("vectors")

        order = sorted(vectors)
        dim = len(vectors[order[0]]) if order else self.embedder.dim
        matrix = (
            np.stack([vectors[label] for label in order])
            if order
            else np.zeros((0, dim), np.float32)
        )
        plan = plan_for(len(order), settings.flat_max)
        ids = np.array([groups.ids[label] for label in order], dtype=np.int64)
        index = build_index(ids, matrix, plan, dim)
        report.index = plan.describe()
        self._step("index")

        spans = _spans(dup_labels, window.when)
        story_of_label = self._stories(index, order, matrix, spans, groups.ids)
        story_labels = np.array(
            [story_of_label[label] for label in dup_labels.tolist()], dtype=np.int64
        )
        stories = map_ids(window.story, story_labels, self.store.id_blocks("story"))
        report.stories, report.stories_merged, report.stories_split = stories.sizes
        self._step("stories")

        directory = self.settings.index_dir / f"v{version}"
        if directory.exists():
            shutil.rmtree(directory)  # left by a crashed run
        save_snapshot(index, directory, settings.vector_version)
        self._write(
            window, group_ids, groups, stories, story_of_label, vectors, spans, since, version
        )
        self._step("write")
        for old in settings.index_dir.glob("v*"):
            if old.name not in (f"v{version}", f"v{version - 1}"):
                shutil.rmtree(old, ignore_errors=True)

    def _vectors(
        self, window: Window, ids: dict[int, int], first: dict[int, int]
    ) -> dict[int, np.ndarray]:
        """A vector per new group: the stored one when it is current, else embedded anew
        from its first member, re-prepared from the stored input."""
        current = self.settings.vector_version
        stored = self.store.group_vectors(list(set(ids.values())))
        vectors: dict[int, np.ndarray] = {}
        todo: list[int] = []
        for label, group in ids.items():
            blob, made_with = stored.get(group, (None, None))
            if blob is not None and made_with == current:
                vectors[label] = vector_of(blob)
            else:
                todo.append(label)
        stale = {label for label in todo if stored.get(ids[label], (None, None))[0] is not None}
        members = [int(window.member[first[label]]) for label in todo]
        for start in range(0, len(todo), 256):
            labels = todo[start : start + 256]
            leads = self._leads(members[start : start + 256])
            with_text = [
                (label, lead) for label, lead in zip(labels, leads, strict=True) if lead.strip()
            ]
            embedded = self.embedder.embed([lead for _, lead in with_text])
            vectors.update(
                {label: vec for (label, _), vec in zip(with_text, embedded, strict=True)}
            )
            if self._progress:
                self._progress(min(start + 256, len(todo)), len(todo))
        self._fresh = {label for label in todo if label in vectors}
        self.report.reembedded = sum(1 for label in stale if label in vectors)
        self.report.embedded_new = (
            sum(1 for label in todo if label in vectors) - self.report.reembedded
        )
        return vectors

    def _leads(self, members: list[int]) -> list[str]:
        """What the model reads for these stored articles, prepared again from their input."""
        rows = self.store.inputs(members)
        pages = []
        for member in members:
            row = rows[member]
            html = row.raw if row.raw_kind == "html" else None
            body = None if html is not None else row.raw
            article = Article(
                id=row.id, text=body, html=html, title=row.title, captions=tuple(row.captions)
            )
            pages.append(prepare(article, self.settings))
        keys = {b.key: key_hash(b.key) for page in pages for b in page.blocks}
        counts = self.store.block_counts(set(keys.values()))
        seen = {key: counts.get(h, 0) for key, h in keys.items()}
        return [
            with_boilerplate(page, seen, self.settings).lead(self.settings.lead_words)
            for page in pages
        ]

    def _stories(
        self,
        index: FaissIndex,
        order: list[int],
        matrix: np.ndarray,
        spans: dict[int, tuple[datetime, datetime]],
        ids: dict[int, int],
    ) -> dict[int, int]:
        """Story label per duplicate-group label: average-link over the neighbour graph."""
        settings = self.settings
        position = {ids[label]: n for n, label in enumerate(order)}
        pairs: list[tuple[int, int]] = []
        k = min(settings.story_neighbours + 1, max(len(order), 1))
        for start in range(0, len(order), 4096):
            sims, found = index.search(matrix[start : start + 4096], k)
            for row, (cosines, others) in enumerate(
                zip(sims.tolist(), found.tolist(), strict=True)
            ):
                a = start + row
                for cosine, other in zip(cosines, others, strict=True):
                    b = position.get(other, -1)
                    if b < 0 or b == a:
                        continue
                    span_b = spans.get(order[b])
                    first = spans.get(order[a])
                    days = days_apart(first[0], span_b) if first and span_b else 0.0
                    if days <= settings.story_window_days and (
                        decayed(cosine, days, settings.story_half_life_days)
                        >= settings.story_similarity
                    ):
                        pairs.append((min(a, b), max(a, b)))
        labels: list[int] = []
        if order:
            labels = average_link(matrix, sorted(set(pairs)), settings.story_similarity).tolist()
        story_of = {label: int(s) for label, s in zip(order, labels, strict=True)}
        fresh = itertools.count(int(max(story_of.values(), default=-1)) + 1)
        for label in ids:
            if label not in story_of:
                story_of[label] = next(fresh)
        return story_of

    def _write(
        self,
        window: Window,
        group_ids: np.ndarray,
        groups: IdMapping,
        stories: IdMapping,
        story_of_label: dict[int, int],
        vectors: dict[int, np.ndarray],
        spans: dict[int, tuple[datetime, datetime]],
        since: datetime,
        version: int,
    ) -> None:
        """Everything in one transaction: it commits whole, or the old version stays."""
        stamp = now()
        report = self.report
        with self.store.session() as s:
            for story in sorted(stories.created):
                s.add(StoryRow(id=story, created_at=stamp))
            s.flush()
            for old, survivor in stories.merged.items():
                s.execute(
                    update(GroupRow).where(GroupRow.story_id == old).values(story_id=survivor)
                )
                s.execute(update(StoryRow).where(StoryRow.id == old).values(merged_into=survivor))
            table: Table = GroupRow.__table__  # type: ignore[assignment]
            plain: list[dict[str, Any]] = []
            with_vector: list[dict[str, Any]] = []
            for label, group in groups.ids.items():
                span = spans.get(label)
                values: dict[str, Any] = {
                    "b_id": group,
                    "b_story": stories.ids[story_of_label[label]],
                    "b_first": span[0] if span else None,
                    "b_last": span[1] if span else None,
                }
                fresh = label in self._fresh
                if fresh:
                    values["b_vector"] = vector_bytes(vectors[label])
                if group in groups.created:
                    s.add(
                        GroupRow(
                            id=group,
                            story_id=values["b_story"],
                            created_at=stamp,
                            first_published=values["b_first"],
                            last_published=values["b_last"],
                            vector=values.get("b_vector"),
                            vector_version=self.settings.vector_version if fresh else None,
                        )
                    )
                else:
                    (with_vector if fresh else plain).append(values)
            common: dict[str, Any] = {
                "story_id": bindparam("b_story"),
                "first_published": bindparam("b_first"),
                "last_published": bindparam("b_last"),
                "merged_into": None,
            }
            by_id = update(table).where(table.c.id == bindparam("b_id"))
            if plain:
                s.execute(by_id.values(**common), plain)
            if with_vector:
                made_with = self.settings.vector_version
                s.execute(
                    by_id.values(**common, vector=bindparam("b_vector"), vector_version=made_with),
                    with_vector,
                )
            s.flush()
            moved = [
                {"m": int(m), "g": int(g)}
                for m, g, old in zip(window.member, group_ids, window.group, strict=True)
                if g != old
            ]
            if moved:
                articles: Table = ArticleRow.__table__  # type: ignore[assignment]
                s.execute(
                    update(articles)
                    .where(articles.c.member == bindparam("m"))
                    .values(group_id=bindparam("g")),
                    moved,
                )
            for old, survivor in groups.merged.items():
                s.execute(
                    update(ArticleRow).where(ArticleRow.group_id == old).values(group_id=survivor)
                )
                s.execute(
                    update(GroupRow)
                    .where(GroupRow.id == old)
                    .values(merged_into=survivor, vector=None)
                )
            report.left_window, report.purged = self._window_edge(s, since)
            for key, value in (
                ("index_version", str(version)),
                ("window_start", since.isoformat()),
            ):
                s.merge(MetaRow(key=key, value=value))

    def _window_edge(self, s: Any, since: datetime) -> tuple[int, int]:
        """Articles older than the window: counted, and deleted when purging is configured."""
        reference = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
        old = s.scalar(select(func.count()).select_from(ArticleRow).where(reference < since)) or 0
        if not self.settings.purge_outside_window or not old:
            return int(old), 0
        s.execute(delete(ArticleRow).where(reference < since))
        empty = select(GroupRow.id).where(
            ~select(ArticleRow.member).where(ArticleRow.group_id == GroupRow.id).exists()
        )
        empty_ids = [int(g) for g in s.scalars(empty.where(GroupRow.merged_into.is_(None))).all()]
        if empty_ids:
            s.execute(delete(BlockGroupRow).where(BlockGroupRow.group_id.in_(empty_ids)))
            s.execute(delete(GroupRow).where(GroupRow.id.in_(empty_ids)))
        return int(old), int(old)
