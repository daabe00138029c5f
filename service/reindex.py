"""The nightly reindex: the batch pipeline over the stored window, stable ids, a new index
version, and one transaction that switches to it.

The window runs through the same ``pipeline.cluster_items`` as ``newsdedup cluster``, from
the sketches the store keeps (an article prepared with an older preparation is prepared
again from its stored input), so the store after a reindex holds the partition ``cluster``
gives on the same articles, whatever order they arrived in. Vectors are reused while what
they were made from holds (the model version and each voice's lead: title and kept blocks),
so a group whose furniture or voices changed is embedded anew. A crash at any step
leaves the previous version current; the next run starts afresh. The running service
notices the new version and swaps it in (``Engine.refresh``).
"""

from __future__ import annotations

import gc
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from index.recluster import IdMapping, map_ids
from index.runners import LOCAL, Runner
from index.snapshot import save_snapshot
from index.vector_index import build_index, plan_for
from service.answer import FlagOut
from service.article import Article
from service.canonical import Origin
from service.config import ReindexConfig
from service.copies import headline_of
from service.embedding import Embedder
from service.furniture import site_key
from service.heap import give_back, tune_heap
from service.items import Item, item_of
from service.page_store import page_terms
from service.pipeline import (
    BatchResult,
    Embedding,
    GroupVectors,
    Known,
    Voice,
    batch_evidence,
    clean_text,
    cluster_items,
    flags_of,
    kept_rows,
    stored_bands,
    voices_key,
)
from service.sketch import NOT_HELD, Fingerprint, Sketch
from service.store import Store, StoredInput, array_bytes, now, vector_bytes
from service.store.lock import reindex_lock
from service.store.window import (
    GroupWrite,
    ReindexWrite,
    WindowRow,
    close_run,
    digest,
    json_text,
    mark_interrupted,
    open_run,
    read_window,
    write_reindex,
)

log = logging.getLogger(__name__)


@dataclass
class ReindexReport:
    """What a run changed; logged, stored, served at /v1/reindex/last and in /metrics."""

    version: int = 0
    status: str = "running"
    error: str = ""
    window_start: str = ""
    articles: int = 0
    prepared_again: int = 0
    left_window: int = 0
    purged: int = 0
    reembedded: int = 0
    embedded_new: int = 0
    articles_changed: int = 0
    groups: int = 0
    groups_merged: int = 0
    groups_split: int = 0
    stories: int = 0
    stories_merged: int = 0
    stories_split: int = 0
    index: str = ""
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    # the process's peak resident memory when each step ended (MiB): which step set the peak
    peak_mib: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def peak_mib() -> float:
    """This process's peak resident memory so far, in MiB (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)  # bytes there


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a run works, one full collection after it. A
    window of a million articles is tens of millions of objects that live through the run,
    and the collector walks all of them each time they grow by a quarter: 16% of a night
    at 1M (``FIGURES.md``). What a run makes is freed by reference counts (its peak memory
    is the same without the collector); in a serving process, the requests' cycles made
    meanwhile wait for the collection at the end (the pause lasts one run)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        gc.collect()


def article_of(row: StoredInput) -> Article:
    """A stored article's input, as it was given."""
    html = row.raw if row.raw_kind == "html" else None
    return Article(
        id=row.id,
        text=None if html is not None else row.raw,
        html=html,
        title=row.title,
        url=row.url,
        source=row.source,
        published_at=row.published_at,
        captions=tuple(row.captions),
    )


class StoredVectors:
    """Vectors of the window's groups: the stored one while what it was made from (its
    voices' lead keys) holds, else embedded from the voices' stored inputs. The stored
    vectors are read when asked (after the copy step, whose peak they would raise),
    straight into the rows of the answer's matrix, which the story step and the index use
    as it is: the matrix is made once."""

    def __init__(
        self,
        config: ReindexConfig,
        store: Store,
        embedder: Callable[[], Embedder],
        member_of: dict[str, int],
        groups: Sequence[int],
    ) -> None:
        self._config = config
        self._store = store
        self._embedder = embedder
        self._member_of = member_of
        self._groups = groups  # the window's groups as stored: whose vectors may be reused
        # by the position asked (the batch's label order), the key of each vector embedded
        # in this run: the write step stores it with the vector
        self.made: dict[int, str] = {}

    def vectors(self, groups: Sequence[Sequence[Voice]]) -> GroupVectors:
        words, version = self._config.pipeline.lead_words, self._config.vector_version
        keys = [voices_key(spoken, words, version) for spoken in groups]
        matrix, present = self._store.vectors_by_key(self._groups, version, keys)
        todo = np.flatnonzero(~present).tolist()
        if not todo:
            return GroupVectors(matrix, present)
        speakers = [item for g in todo for item, _ in groups[g]]
        rows = self._store.inputs([self._member_of[item.id] for item in speakers])
        pipeline = self._config.pipeline

        def again(item: Item) -> Item:
            row = rows[self._member_of[item.id]]
            return replace(item, page=item_of(article_of(row), pipeline).page)

        prepared = [[(again(item), kept) for item, kept in groups[g]] for g in todo]
        embedding = Embedding(self._embedder(), words, pipeline.embed_batch)
        for g, vector in zip(todo, embedding.each(prepared), strict=True):
            if vector is None:
                continue
            if matrix is None:
                matrix = np.empty((len(groups), len(vector)), np.float32)
            matrix[g] = vector
            present[g] = True
            self.made[g] = keys[g]
        return GroupVectors(kept_rows(matrix, present) if matrix is not None else None, present)


class Reindex:
    """One run of the job over a store."""

    def __init__(
        self,
        config: ReindexConfig,
        store: Store,
        embedder: Callable[[], Embedder],
        progress: Callable[[int, int], None] | None = None,
        runner: Runner = LOCAL,
    ) -> None:
        self.config = config
        self.runner = runner
        self.store = store
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._progress = progress
        self.report = ReindexReport()
        self._clock = self._lapped = time.perf_counter()

    def _step(self, name: str) -> None:
        give_back()  # what the step let go, before the next allocates apart from it
        moment = time.perf_counter()
        self.report.steps[name] = round(moment - self._clock, 2)
        self.report.peak_mib[name] = peak_mib()
        self._clock = moment
        self._lapped = moment

    def _lap(self, part: str) -> None:
        """A part of the cluster step ended (reported as ``cluster.<part>``; ``cluster``
        stays the whole step)."""
        give_back()
        moment = time.perf_counter()
        self.report.steps[f"cluster.{part}"] = round(moment - self._lapped, 2)
        self.report.peak_mib[f"cluster.{part}"] = peak_mib()
        self._lapped = moment

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def run(self, on_start: Callable[[], None] | None = None) -> ReindexReport:
        """Run once; ``on_start`` is called when the lock is held (raises ReindexBusy when not)."""
        tune_heap()  # the service's heap (``service.heap``), whichever process runs this
        started = time.perf_counter()
        with reindex_lock(self.config.data_dir, self.store):
            mark_interrupted(self.store)  # earlier runs that died holding the lock
            run_id = open_run(self.store)
            if on_start is not None:
                on_start()
            try:
                with collector_paused():
                    self._run()
                self.report.status = "done"
            except BaseException as exc:
                self.report.status = "failed"
                self.report.error = f"{type(exc).__name__}: {exc}"[:1000]
                raise
            finally:
                self.report.seconds = round(time.perf_counter() - started, 2)
                close_run(self.store, run_id, self.report.status, self.report.to_json())
                log.info("reindex finished", extra=self.report.to_json())
        return self.report

    def _items(
        self,
        window: Sequence[WindowRow],
        sketches: Sequence[Sketch | None],
        minhashes: Sequence[np.ndarray],
    ) -> tuple[list[Item], dict[int, Item], Known]:
        """Items of the window from their stored sketches, and their stored fingerprints
        (hash, words, shingle count, and band keys made from ``minhashes``); articles with
        no sketch of this preparation are prepared again from their input (returned by
        member, with no stored fingerprint, and without their page: a night after an
        upgrade prepares every page again, and what is read of a page's text later is
        prepared from its input again when needed)."""
        shingle_words = self.config.pipeline.copies.shingle_words
        again = [r.member for r, sketch in zip(window, sketches, strict=True) if sketch is None]
        fresh: dict[int, Item] = {}
        if again:
            rows = self.store.inputs(again)
            for member in again:
                item = item_of(article_of(rows[member]), self.config.pipeline)
                fresh[member] = replace(item, page=None)
        items: list[Item] = []
        known: list[Fingerprint | None] = []
        # the stored minhashes as the band keys the copy step looks them up by (224 bytes a
        # page, not 512); a page whose content changed is fingerprinted anew
        bands, fits = stored_bands(minhashes, self.config.pipeline.copies)
        for r, sketch, held in zip(window, sketches, fits.tolist(), strict=True):
            if sketch is None:  # prepared again
                items.append(fresh[r.member])
                known.append(None)
                continue
            items.append(
                Item(
                    r.id,
                    site_key(r.site),
                    r.published_at,
                    r.title,
                    sketch,
                    headline_of(r.title, sketch, shingle_words),
                    origin=Origin(r.site, r.credit, r.repost),
                )
            )
            known.append(
                Fingerprint(r.content_hash, NOT_HELD, NOT_HELD, r.words, r.shingle_count)
                if held
                else None
            )
        return items, fresh, Known(known, bands)

    def _run(self) -> None:
        config, report = self.config, self.report
        since = now() - timedelta(days=config.retention_days)
        report.window_start = since.isoformat()
        version = self.store.index_version() + 1
        report.version = version
        window, sketches, minhashes = read_window(self.store, since, config.preparation)
        report.articles = len(window)
        self._step("read")

        items, fresh, known = self._items(window, sketches, minhashes)
        # the items hold the sketches (outlined once the copies are known), ``known`` what
        # the batch reuses of the minhashes (band keys, which it lets go)
        del sketches, minhashes
        report.prepared_again = len(fresh)
        self._step("prepare")

        old_groups = np.array([r.group for r in window], dtype=np.int64)
        vectors = StoredVectors(
            config,
            self.store,
            self.embedder,
            {r.id: r.member for r in window},
            sorted(set(old_groups.tolist())),
        )
        result = cluster_items(
            items,
            config.pipeline,
            vectors,
            config.flat_max,
            self.runner,
            self._lap,
            known,
            outline=True,  # ``fresh`` keeps the whole sketches the write step stores
        )
        self._step("cluster")

        labels = np.array([p.group for p in result.placements], dtype=np.int64)
        groups = map_ids(old_groups, labels, self.store.id_blocks("group"))
        report.groups, report.groups_merged, report.groups_split = groups.sizes
        story_labels = np.array([p.story for p in result.placements], dtype=np.int64)
        stories = map_ids(
            np.array([r.story for r in window], dtype=np.int64),
            story_labels,
            self.store.id_blocks("story"),
        )
        report.stories, report.stories_merged, report.stories_split = stories.sizes

        asked = sorted(result.canonical)  # the order the vectors were asked in
        made = {
            asked[at]: (key, vector_bytes(result.vectors[asked[at]]))
            for at, key in vectors.made.items()
        }
        write = self._changes(window, items, fresh, result, groups, stories, made)
        write.meta = {"index_version": str(version), "window_start": since.isoformat()}
        ordered = sorted(result.vectors)  # the story step's rows, which ``assigned`` follows
        matrix, trained, assigned = result.matrix, result.lists, result.assigned
        # what the index and the transaction need is in hand: the window, its pages and the
        # batch's placements (most of what the run holds) go before the index is built
        del window, items, fresh, result, vectors, made
        self._step("changes")

        dim = matrix.shape[1] if matrix is not None else self.embedder().dim
        ids = np.array([groups.ids[label] for label in ordered], dtype=np.int64)
        plan = plan_for(len(ids), config.flat_max)
        index = build_index(
            ids,
            matrix if matrix is not None else np.zeros((0, dim), np.float32),
            plan,
            dim,
            trained=trained,
            assigned=assigned,
        )
        report.index = plan.describe()
        # the index holds its own copy (fp16): the batch's (0.7 GiB at half a million groups)
        del matrix, trained, assigned
        self._step("index")

        directory = config.index_dir / f"v{version}"
        if directory.exists():
            shutil.rmtree(directory)  # left by a crashed run
        save_snapshot(index, directory, config.vector_version)
        del index
        report.left_window, report.purged = write_reindex(
            self.store, write, since, config.purge_outside_window
        )
        self._step("write")
        for old in config.index_dir.glob("v*"):
            if old.name not in (f"v{version}", f"v{version - 1}"):
                shutil.rmtree(old, ignore_errors=True)

    def _changes(
        self,
        window: Sequence[WindowRow],
        items: Sequence[Item],
        fresh: dict[int, Item],
        result: BatchResult,
        groups: IdMapping,
        stories: IdMapping,
        made: dict[int, tuple[str, bytes | None]],
    ) -> ReindexWrite:
        """What the write step changes in the store (``made``: by group label, the key and
        vector of each group vector embedded in this run)."""
        config, report = self.config, self.report
        write = ReindexWrite(
            stories_created=sorted(stories.created),
            stories_merged=dict(stories.merged),
            groups_merged=dict(groups.merged),
            vector_version=config.vector_version,
        )
        spans: dict[int, list[datetime]] = {}
        for r, p in zip(window, result.placements, strict=True):
            if r.published_at is not None:
                spans.setdefault(p.group, []).append(r.published_at)
        stale = 0
        for label, rep in result.canonical.items():
            gid = groups.ids[label]
            times = spans.get(label)
            g = GroupWrite(
                gid,
                stories.ids[result.placements[rep].story],
                min(times) if times else None,
                max(times) if times else None,
                gid in groups.created,
            )
            new = made.get(label)
            if new is not None:
                g.vector_key, g.vector = new
                stale += not g.created
            write.groups.append(g)
        report.reembedded = stale
        report.embedded_new = len(made) - stale
        changed_groups: set[int] = set()
        repaint: list[int] = []
        article_ids = [r.id for r in window]
        for i, (r, p) in enumerate(zip(window, result.placements, strict=True)):
            gid = groups.ids[p.group]
            if gid != r.group:
                write.moved[r.member] = gid
                changed_groups.update((gid, r.group))
            values: dict[str, Any] = {}
            furniture = array_bytes(p.decision.furniture, np.bool_)
            again = fresh.get(r.member)
            if again is not None:
                values["sketch"] = again.sketch.to_bytes()
                values["prepared_with"] = config.preparation
                values.update(credit=again.origin.credit, repost=again.origin.repost)
                changed_groups.add(gid)
            if furniture != (r.furniture or b""):
                values["furniture"] = furniture
            if furniture != (r.painted or b"") or again is not None:
                values["painted"] = furniture
                repaint.append(i)
            if p.fingerprint.content_hash != r.content_hash:
                fp = p.fingerprint
                values.update(
                    content_hash=fp.content_hash,
                    words=fp.words,
                    shingles=array_bytes(fp.shingles, np.uint32),
                    minhash=array_bytes(fp.minhash, np.uint32),
                )
            if "minhash" in values or again is not None:  # what it is found by changed
                headline = again.headline if again is not None else None
                rules = config.pipeline.copies
                write.pages.append(page_terms(r.member, p.fingerprint, headline, rules))
            if p.is_duplicate != r.is_duplicate or p.similarity != r.similarity:
                values.update(is_duplicate=p.is_duplicate, similarity=p.similarity)
            evidence = json_text(
                batch_evidence(p.why, article_ids, groups.ids).model_dump(mode="json")
            )
            if digest(evidence) != r.evidence:
                values["evidence"] = evidence
            lead = p.decision.lead
            lead_block = int(items[i].sketch.keys[lead]) if lead >= 0 else None
            if lead_block != r.lead_block:
                values["lead_block"] = lead_block
            if values:
                write.articles.append({"member": r.member, **values})
        report.articles_changed = len(write.articles)
        self._repaint(window, items, result, repaint, write)
        write.rebuilt_groups = changed_groups
        for i, (r, p) in enumerate(zip(window, result.placements, strict=True)):
            gid = groups.ids[p.group]
            if gid in changed_groups:
                for key in items[i].sketch.keys.tolist():
                    write.blocks.add((key, gid))
                    if r.site is not None:
                        site = site_key(r.site)
                        assert site is not None
                        write.site_blocks.add((site, key, gid))
        return write

    def _repaint(
        self,
        window: Sequence[WindowRow],
        items: Sequence[Item],
        result: BatchResult,
        which: Sequence[int],
        write: ReindexWrite,
    ) -> None:
        """Flags, clean text and lead of articles whose furniture changed, from their input."""
        if not which:
            return
        rows = self.store.inputs([window[i].member for i in which])
        updates = {v["member"]: v for v in write.articles}
        for i in which:
            member = window[i].member
            again = item_of(article_of(rows[member]), self.config.pipeline)
            page = again.page
            assert page is not None
            d = result.placements[i].decision
            kept = items[i].sketch.kept(d.furniture)
            updates[member].update(
                flags=json_text(
                    [
                        FlagOut.of(f).model_dump(mode="json")
                        for f in flags_of(again, d.furniture, d.counts)
                    ]
                ),
                clean_text=clean_text(page, kept),
                lead=page.lead(self.config.pipeline.lead_words, kept),
            )
