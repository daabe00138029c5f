"""The one pipeline: prepare -> furniture -> fingerprints -> copies -> embeddings -> stories.

Every caller goes through here. ``newsdedup cluster`` and ``POST /v1/cluster`` run the
batch form over a corpus (``cluster_corpus`` over ``cluster_items``); the nightly reindex
runs the same ``cluster_items`` over the stored window, so it reaches the partition
``cluster`` gives on the same articles in any arrival order; the live service runs the
streaming form (``Stream``): the greedy approximation of the batch result that the
reindex brings back to it.

Batch: list entries quoting other pages' headlines, each site's template and the web's
furniture are learned together with the copy groups until they agree
(``furniture.learn``); duplicate groups are the copy components; each group's canonical
member is its earliest published (ties to the longest, then the smallest id: nothing
depends on arrival order); a group's vector is the mean of its canonical's and its next
differently titled members' (``service.voices``); stories are average-link clusters of
the group vectors.

Stream: an arriving page's quotations come from the headlines stored so far, its furniture
from the distinct-group counts in the store (the page is one more group for a block unless
it turns out to copy a group the block was seen in); it joins its best stored copy or opens
a group, whose first member is embedded (the group's only voice until the reindex) and
placed in its nearest neighbour's story.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple, Protocol, overload

import numpy as np

from index.copy_graph import BandKeys, band_keys, copy_components
from index.neighbour_join import lists_of
from index.runners import LOCAL, Runner
from index.sorted_sets import common
from index.vector_index import STORY_PROBES, FaissIndex, VectorIndex, plan_for, trained_ivf
from service.answer import ArticleAnswer, Evidence, FlagOut, Match
from service.article import Article
from service.canonical import Candidate
from service.config import CopyRules, PipelineConfig, StoryRules
from service.copies import (
    CopyIndex,
    CopyMatch,
    CopyRelation,
    CopyView,
    Headlines,
    Quotations,
    StoredPages,
    quoted_blocks,
)
from service.embedding import Embedder
from service.flags import Flag, boilerplate_flags
from service.furniture import (
    Decision,
    Seen,
    decide,
    infer_sites,
    learn,
    site_repeats,
)
from service.items import Item, items_of
from service.prepare import Page
from service.sketch import NOT_HELD, Fingerprint, MinHasher, Sketch, fingerprint
from service.stories import Link, StoryIndex, label_all, story_partition
from service.voices import combine, group_key, voices

# -- items ------------------------------------------------------------------------------


def lead_key(title: str | None, sketch: Sketch, kept: np.ndarray, words: int, version: str) -> str:
    """What decides the text the model reads for a page: the model version, its title and
    the kept blocks the lead reaches. A stored vector is reused while this holds."""
    sizes = sketch.sizes[kept]
    reach = int(np.searchsorted(np.cumsum(sizes), words + (int(sizes[0]) if len(sizes) else 0)))
    digest = hashlib.blake2b(digest_size=16)
    digest.update((version + "\n" + (title or "") + "\n").encode())
    digest.update(sketch.keys[kept][: reach + 1].tobytes())
    return digest.hexdigest()


def flags_of(item: Item, furniture: np.ndarray, counts: np.ndarray) -> list[Flag]:
    """The page's own flags and its furniture (blocks its own flags do not cover, one flag
    per block key of its sketch), in page order. A furniture block with no count is a list
    entry quoting another page."""
    page = item.page
    if page is None:
        raise ValueError(f"article '{item.id}' has no prepared page to flag")
    extra = boilerplate_flags(page.blocks, item.sketch.keys, furniture, counts)
    return sorted([*page.flags, *extra], key=lambda f: f.spans[0])


Voice = tuple[Item, np.ndarray]  # a member that speaks for its group, and the blocks it keeps


class GroupVectors(NamedTuple):
    """The vectors of the groups asked, in their order, as the rows of one matrix (the
    story step's and the index's, not copied again: 0.7 GiB at half a million groups)."""

    matrix: np.ndarray | None  # float32, a row per group that has a vector; None if none has
    present: np.ndarray  # bool per group asked: whether it has one (one with no text has not)

    @classmethod
    def stacked(cls, vectors: Sequence[np.ndarray | None]) -> GroupVectors:
        present = np.array([v is not None for v in vectors], dtype=bool)
        rows = [v for v in vectors if v is not None]
        return cls(np.stack(rows).astype(np.float32, copy=False) if rows else None, present)


def kept_rows(matrix: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The ``present`` rows of ``matrix`` moved to its front in order, a slice of rows at a
    time (no second matrix): each row moves to a row at or before its own, and a slice's
    sources lie past every row written before them."""
    rows = np.flatnonzero(present)
    if len(rows) == len(matrix):
        return matrix
    for start in range(0, len(rows), 65_536):
        chunk = rows[start : start + 65_536]
        matrix[start : start + len(chunk)] = matrix[chunk]
    return matrix[: len(rows)]


class Vectors(Protocol):
    """A vector per group from its voices (``service.voices``): embedded, or reused when
    still current. A batch run asks once, for every group in label order."""

    def vectors(self, groups: Sequence[Sequence[Voice]]) -> GroupVectors: ...


def voices_key(voices: Sequence[Voice], words: int, version: str) -> str:
    """What decides a group vector: each voice's lead key (``lead_key``)."""
    return group_key([lead_key(it.title, it.sketch, kept, words, version) for it, kept in voices])


@dataclass
class Embedding:
    """Vectors made by the model from each voice's title and lead, in batches sorted by id,
    so the batches (and so the int8 model's vectors) do not depend on arrival order; a
    group's vector is its voices' unit mean."""

    embedder: Embedder
    lead_words: int
    batch: int = 256
    embedded: int = 0

    def vectors(self, groups: Sequence[Sequence[Voice]]) -> GroupVectors:
        return GroupVectors.stacked(self.each(groups))

    def each(self, groups: Sequence[Sequence[Voice]]) -> list[np.ndarray | None]:
        """Each group's vector, None for a group with no text to read."""
        flat = [(g, item, kept) for g, spoken in enumerate(groups) for item, kept in spoken]
        leads = []
        for _, item, kept in flat:
            if item.page is None:
                raise ValueError(f"article '{item.id}' has no prepared page to embed")
            leads.append(item.page.lead(self.lead_words, kept))
        made: list[np.ndarray | None] = [None] * len(flat)
        todo = sorted(
            (i for i, lead in enumerate(leads) if lead.strip()), key=lambda i: flat[i][1].id
        )
        for start in range(0, len(todo), self.batch):
            chunk = todo[start : start + self.batch]
            for i, vector in zip(
                chunk, self.embedder.embed([leads[i] for i in chunk]), strict=True
            ):
                made[i] = vector
        self.embedded += len(todo)
        heard: list[list[np.ndarray | None]] = [[] for _ in groups]
        for (g, _, _), vector in zip(flat, made, strict=True):
            heard[g].append(vector)
        return [combine(vectors) for vectors in heard]


# -- batch ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Why:
    """How an item was matched: ``matched`` an item index (batch) or member (live) and
    ``group`` a group label or id, as the caller numbers them."""

    match: Match
    matched: int | None = None
    group: int | None = None
    containment: float | None = None
    cosine: float | None = None
    decayed: float | None = None
    threshold: float | None = None

    def evidence(self, matched_id: str | None, group_id: int | None) -> Evidence:
        return Evidence(
            match=self.match,
            matched_id=matched_id,
            matched_group=group_id,
            containment=self.containment,
            cosine=self.cosine,
            decayed_cosine=self.decayed,
            threshold=self.threshold,
        )


def copy_why(
    matched: int, group: int, same_text: bool, containment: float, rules: CopyRules
) -> Why:
    kind: Match = "exact" if same_text else "near_copy"
    return Why(kind, matched, group, containment=containment, threshold=rules.containment)


def story_why(link: Link | None, rules: StoryRules) -> Why:
    """A group's story evidence: its strongest link to a group of its story, if any."""
    if link is None:
        return Why("new")
    return Why(
        "story",
        None,
        link.other,
        cosine=link.cosine,
        decayed=link.decayed,
        threshold=rules.threshold,
    )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one item went in a batch run (group and story labels are local to the run)."""

    group: int
    story: int
    is_duplicate: bool
    similarity: float | None
    decision: Decision
    fingerprint: Fingerprint
    why: Why = Why("new")


@dataclass(frozen=True)
class BatchResult:
    """Placements in input order; per group label its canonical member (an item index),
    the members that speak for it (canonical first), and its vector when it has one."""

    placements: list[Placement]
    canonical: dict[int, int]
    vectors: dict[int, np.ndarray]
    voices: dict[int, list[int]] = field(default_factory=dict)
    lists: Any = None  # the IVF the story step trained on ``vectors`` (in label order)
    assigned: np.ndarray | None = None  # the list of ``lists`` each of them lies in
    matrix: np.ndarray | None = None  # ``vectors`` as rows in label order (they are views)


@dataclass
class Known:
    """The fingerprints made before (the store's), per item: its fingerprint or None where
    it is to be made anew; and ``bands``, a row per item, the LSH band keys of each known
    fingerprint's minhash (the fingerprint need not hold the minhash: a stored window's
    are let go once these are made, 224 bytes a page, not 512, in one matrix). The batch
    empties both once the copies are known (``let_go``)."""

    prints: list[Fingerprint | None]
    bands: np.ndarray

    def let_go(self) -> None:
        self.prints.clear()
        self.bands = np.zeros((0, self.bands.shape[1]), dtype=np.uint64)  # not a view of it


class _Fingerprints:
    """Fingerprints of items by the blocks they keep, each computed once per kept mask. One
    ``known`` (made before) is used while its content hash is that of the blocks the page
    keeps now: computing it again is the copy step's largest cost over a stored window."""

    def __init__(self, items: Sequence[Item], minhasher: MinHasher, known: Known | None) -> None:
        self._items = items
        self._minhasher = minhasher
        self._known = known
        self._cache: dict[int, tuple[bytes, Fingerprint]] = {}

    def __call__(self, i: int, kept: np.ndarray, key: bytes) -> Fingerprint:
        """Item ``i``'s fingerprint over ``kept`` (whose bytes are ``key``)."""
        hit = self._cache.get(i)
        if hit is not None and hit[0] == key:
            return hit[1]
        item = self._items[i]
        known = self._known.prints[i] if self._known is not None else None
        if known is not None and known.content_hash == item.sketch.content_hash(kept):
            fp = known
        else:
            fp = fingerprint(item.sketch, kept, self._minhasher)
        self._cache[i] = (key, fp)
        return fp


class _Texts:
    """Each page's shingle set over the blocks it keeps: its fingerprint's, or made from its
    sketch when asked where the fingerprint holds none (a stored page's). What is made is not
    kept: a stored window's sets, held, were 1.1 GiB at a million pages, and a page's set is
    asked for a few times a night (its links tested, its copy similarity taken)."""

    def __init__(
        self, items: Sequence[Item], kept: Sequence[np.ndarray], fps: Sequence[Fingerprint]
    ) -> None:
        self._items, self._kept, self._fps = items, kept, fps

    def __getitem__(self, i: int) -> np.ndarray:
        fp = self._fps[i]
        if fp.count is None:
            return fp.shingles
        return self._items[i].sketch.shingle_set(self._kept[i])


class _Views:
    """Each page's copy view, made when a link is tested (``_Texts``: its shingle set is)."""

    def __init__(
        self,
        items: Sequence[Item],
        kept: Sequence[np.ndarray],
        texts: _Texts,
        repeated: Sequence[np.ndarray],
        sites: Sequence[int | None],
    ) -> None:
        self._items, self._kept, self._texts = items, kept, texts
        self._repeated, self._sites = repeated, sites

    def __getitem__(self, i: int) -> CopyView:
        it = self._items[i]
        return CopyView(
            it.sketch, self._kept[i], self._texts[i], self._sites[i], self._repeated[i], it.headline
        )


class _Links:
    """The copy relation over a corpus's views, each pair decided once per pair of masks:
    the furniture rounds change few pages, so most links carry over from the last."""

    def __init__(self, relation: CopyRelation) -> None:
        self._relation = relation
        self._memo: dict[tuple[int, int], tuple[bytes, bytes, tuple[bool, float]]] = {}
        self._views: _Views | None = None
        self._masks: list[bytes] = []

    def use(self, views: _Views, keys: list[bytes]) -> None:
        """Decide links between ``views`` next, each page's kept mask as ``keys`` (bytes)."""
        self._views, self._masks = views, keys

    def __call__(self, a: int, b: int) -> tuple[bool, float]:
        hit = self._memo.get((a, b))
        if hit is not None and hit[0] == self._masks[a] and hit[1] == self._masks[b]:
            return hit[2]
        assert self._views is not None, "use() names the views first"
        out = self._relation.link(self._views[a], self._views[b])
        self._memo[(a, b)] = (self._masks[a], self._masks[b], out)
        return out


def copy_labels(
    fps: Sequence[Fingerprint],
    texts: _Texts,
    links: Callable[[int, int], tuple[bool, float]],
    config: PipelineConfig,
    known: Known | None = None,
) -> np.ndarray:
    """Duplicate-group label per page: the copy components, pairs decided by ``links``
    (``known``: the fingerprints made before, whose band keys are not made again)."""
    rules = config.copies
    bands, rows = rules.bands
    if not fps:
        return np.zeros(0, dtype=np.int64)
    return copy_components(
        [fp.content_hash for fp in fps],
        texts,
        _band_keys(fps, known, bands, rows),  # held by the callee alone, which lets it go
        links,
        max_bucket=rules.max_bucket,
        sizes=[fp.shingle_count() for fp in fps],
    )


def _band_keys(fps: Sequence[Fingerprint], known: Known | None, bands: int, rows: int) -> BandKeys:
    """The pages' LSH band keys: a known fingerprint's from ``known.bands`` as they are, the
    others made from their minhashes and laid over them."""
    if known is None or not len(known.prints):
        return BandKeys(_made_bands([fp.minhash for fp in fps], bands, rows))
    at = np.array(
        [i for i, (fp, was) in enumerate(zip(fps, known.prints, strict=True)) if fp is not was],
        dtype=np.int64,
    )
    over = _made_bands([fps[i].minhash for i in at.tolist()], bands, rows)
    return BandKeys(known.bands, at, over)


def _made_bands(minhashes: Sequence[np.ndarray], bands: int, rows: int) -> np.ndarray:
    """The band keys of these minhashes, a slice at a time (all stacked at once were 512 MiB
    at a million pages)."""
    out = np.empty((len(minhashes), bands), dtype=np.uint64)
    for start in range(0, len(minhashes), 65_536):
        chunk = minhashes[start : start + 65_536]
        out[start : start + len(chunk)] = band_keys(np.stack(chunk), bands, rows)
    return out


def stored_bands(
    minhashes: Sequence[np.ndarray], rules: CopyRules
) -> tuple[np.ndarray, np.ndarray]:
    """The band keys of stored minhashes (``Known.bands``), and which have them: one made
    with another number of permutations has none (its row is zeros; its page is
    fingerprinted again)."""
    bands, rows = rules.bands
    fits = np.array([len(m) == rules.num_perm for m in minhashes], dtype=bool)
    out = np.zeros((len(minhashes), bands), dtype=np.uint64)
    for start in range(0, len(minhashes), 65_536):
        chunk = minhashes[start : start + 65_536]
        at = np.flatnonzero(fits[start : start + len(chunk)])
        if len(at):
            out[start + at] = band_keys(np.stack([chunk[i] for i in at.tolist()]), bands, rows)
    return out, fits


def _copy_step(
    items: Sequence[Item], config: PipelineConfig, known: Known | None = None
) -> tuple[list[Decision], list[Fingerprint], np.ndarray, _Texts]:
    """Each page's furniture (converged with the copies), fingerprint, copy label and
    shingle set (``_Texts``). What only this step reads (headline index, decided links,
    quotations) is let go when it returns, before the story step's join allocates its own."""
    prints = _Fingerprints(items, MinHasher(config.copies.num_perm), known)
    sketches = [it.sketch for it in items]
    sites = infer_sites(sketches, [it.site for it in items], config.furniture)
    repeated = site_repeats(sketches, sites)
    headlines = Headlines(lambda i: sketches[i].shingle_set(sketches[i].kept()))
    for i, it in enumerate(items):
        headlines.add(i, it.headline)
    found = [headlines.candidates(it.sketch, it.headline, i) for i, it in enumerate(items)]
    relation = CopyRelation(config.copies)
    quotes, links = Quotations(sketches, found, relation.test), _Links(relation)

    # the last round's kept masks, their bytes, fingerprints, labels and shingle sets
    last: list[tuple[list[np.ndarray], list[bytes], list[Fingerprint], np.ndarray, _Texts]] = []

    def labels_of(
        mask: Callable[[int], np.ndarray],
    ) -> tuple[list[Fingerprint], np.ndarray, _Texts]:
        """Fingerprints and copy labels of the pages under their masks (``mask(i)``: page
        ``i``'s); the last round's again when every page keeps the same blocks (the
        converged round, then the final decisions, whose masks differ only in blocks
        flagged in the page). A page that keeps what it kept last round keeps last round's
        mask and bytes: made again for every page, they were a second copy of them (0.25
        GiB at a million pages)."""
        before = last[0] if last else None
        kept: list[np.ndarray] = []
        keys: list[bytes] = []
        changed = before is None
        for i, it in enumerate(items):
            k = it.sketch.kept(mask(i))
            key = k.tobytes()
            if before is not None and key == before[1][i]:
                k, key = before[0][i], before[1][i]
            else:
                changed = True
            kept.append(k)
            keys.append(key)
        if before is not None and not changed:
            return before[2], before[3], before[4]
        fps = [prints(i, k, b) for i, (k, b) in enumerate(zip(kept, keys, strict=True))]
        texts = _Texts(items, kept, fps)
        links.use(_Views(items, kept, texts, repeated, sites), keys)
        labels = copy_labels(fps, texts, links, config, known)
        last[:] = [(kept, keys, fps, labels, texts)]
        return fps, labels, texts

    def group(masks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        fps, labels, _ = labels_of(masks.__getitem__)
        least = config.furniture.min_shingles
        counted = np.array([fp.shingle_count() >= least for fp in fps], dtype=bool)
        return labels, counted

    decisions = learn(sketches, sites, config.furniture, group, quotes)
    fps, labels, texts = labels_of(lambda i: decisions[i].furniture)
    return decisions, fps, labels, texts


def cluster_items(
    items: Sequence[Item],
    config: PipelineConfig,
    vectors: Vectors,
    flat_max: int = 50_000,
    runner: Runner = LOCAL,
    lap: Callable[[str], None] = lambda part: None,
    known: Known | None = None,
    outline: bool = False,
) -> BatchResult:
    """Both levels for a whole corpus, independent of its order (``runner``: where the
    story step's neighbour join runs; ``lap`` is told each part's name as it ends: copies,
    vectors, stories, placements, so a caller can time them). ``known``: per item, the
    fingerprint made before (the store's: its band keys and shingle count, its set made
    from the sketch when asked); the copy step uses it while it holds, then it is let go
    and the placements keep only its hash and word count, so that its band keys
    (0.2 GiB at a million stored pages) go before the story step. ``outline``: ``items``
    is the caller's list, whose items get their sketches' outlines once the copies are
    known (no later part reads a shingle: 1.1 GiB at a million stored pages)."""
    if not items:
        return BatchResult([], {}, {})
    decisions, fps, labels, texts = _copy_step(items, config, known)
    order = config.canonical.order(
        [
            Candidate(it.id, it.published_at, fp.words, it.origin)
            for it, fp in zip(items, fps, strict=True)
        ]
    )
    members: dict[int, list[int]] = {}
    for i in order:
        members.setdefault(int(labels[i]), []).append(i)
    canonical = {label: ordered[0] for label, ordered in members.items()}
    copied = _copied(texts, fps, members)
    del texts
    if known is not None:
        if known.prints:
            fps = [_slim(fp) if fp is known.prints[i] else fp for i, fp in enumerate(fps)]
        known.let_go()
    if outline:
        assert isinstance(items, list), "the items to outline are the caller's list"
        for i, it in enumerate(items):
            items[i] = replace(it, sketch=it.sketch.outline())
    lap("copies")
    titles = [it.title for it in items]
    spoken = {g: voices(m, titles, config.stories.voices) for g, m in members.items()}
    groups = sorted(canonical)
    made = vectors.vectors(
        [
            [(items[i], items[i].sketch.kept(decisions[i].furniture)) for i in spoken[g]]
            for g in groups
        ]
    )
    with_vector = [g for g, has in zip(groups, made.present.tolist(), strict=True) if has]
    matrix = made.matrix if with_vector else None
    del made
    lap("vectors")
    story_of, closest, trained, assigned = _stories(
        with_vector, matrix, _spans(labels, items), config, flat_max, runner
    )
    lap("stories")
    story_of = label_all(story_of, groups)
    placements = []
    for i, label in enumerate(labels.tolist()):
        rep = canonical[label]
        if i == rep:
            link = closest.get(label)
            similarity = link.decayed if link else None
            why = story_why(link, config.stories)
        else:
            similarity, same = copied[i]
            why = copy_why(rep, label, same, similarity, config.copies)
        placements.append(
            Placement(label, story_of[label], i != rep, similarity, decisions[i], fps[i], why)
        )
    lap("placements")
    by_label = {g: matrix[row] for row, g in enumerate(with_vector)} if matrix is not None else {}
    return BatchResult(placements, canonical, by_label, spoken, trained, assigned, matrix)


def _slim(fp: Fingerprint) -> Fingerprint:
    """A fingerprint without its arrays: what a placement needs of one the store holds."""
    return Fingerprint(fp.content_hash, NOT_HELD, NOT_HELD, fp.words)


def _copied(
    texts: _Texts, fps: Sequence[Fingerprint], members: dict[int, list[int]]
) -> dict[int, tuple[float, bool]]:
    """Per page that copies its group's canonical (``members``: per group, canonical
    first): the share of the smaller shingle set the two have in common, and whether their
    kept text is the same. A group's sets are made one group at a time."""
    out = {}
    for ordered in members.values():
        if len(ordered) < 2:
            continue
        rep = ordered[0]
        b = texts[rep]
        for i in ordered[1:]:
            a = texts[i]
            small = min(len(a), len(b))
            similarity = round(common(a, b) / small, 4) if small else 1.0
            out[i] = (similarity, fps[i].content_hash == fps[rep].content_hash)
    return out


def _spans(labels: np.ndarray, items: Sequence[Item]) -> dict[int, tuple[datetime, datetime]]:
    spans: dict[int, tuple[datetime, datetime]] = {}
    for label, item in zip(labels.tolist(), items, strict=True):
        when = item.published_at
        if when is not None:
            span = spans.get(label)
            spans[label] = (min(span[0], when), max(span[1], when)) if span else (when, when)
    return spans


def _stories(
    keys: Sequence[int],
    matrix: np.ndarray | None,
    spans: dict[int, tuple[datetime, datetime]],
    config: PipelineConfig,
    flat_max: int,
    runner: Runner,
) -> tuple[dict[int, int], dict[int, Link], Any, np.ndarray | None]:
    """Story label and strongest link per group (``keys``: the groups of ``matrix``'s rows),
    and the IVF the neighbours were found with (trained, empty; None when the search was
    exact) with the list each vector lies in, for the index to reuse (its build needs no
    pass over the lists' centroids)."""
    if matrix is None or not len(keys):
        return {}, {}, None, None
    plan = plan_for(len(matrix), flat_max, STORY_PROBES)
    trained = trained_ivf(matrix, plan, matrix.shape[1]) if plan.kind == "ivf" else None
    lists = lists_of(matrix, trained) if trained is not None else None
    labels, best = story_partition(
        matrix,
        [spans.get(g) for g in keys],
        config.stories,
        plan,
        trained,
        runner,
        lists,
    )
    links = {
        keys[row]: Link(keys[link.other], link.decayed, link.cosine)
        for row, link in enumerate(best)
        if link is not None
    }
    stories = {g: int(s) for g, s in zip(keys, labels.tolist(), strict=True)}
    return stories, links, trained, lists.assigned() if lists is not None else None


class Answers(Sequence[ArticleAnswer]):
    """A corpus run's answers in input order, each made when it is read: a run over a day's
    crawl holds its placements, not an answer with its flags per article (several KiB
    each), and ``newsdedup cluster`` writes them one by one. Reading one twice makes it
    twice (the same answer: placements do not change)."""

    def __init__(self, items: Sequence[Item], result: BatchResult) -> None:
        self._items, self._result = items, result
        self._groups = _numbering(p.group for p in result.placements)
        self._stories = _numbering(p.story for p in result.placements)
        self._ids = [it.id for it in items]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> ArticleAnswer: ...

    @overload
    def __getitem__(self, i: slice) -> list[ArticleAnswer]: ...

    def __getitem__(self, i: int | slice) -> ArticleAnswer | list[ArticleAnswer]:
        if isinstance(i, slice):
            return [self._answer(j) for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self._answer(i % len(self))

    def __iter__(self) -> Iterator[ArticleAnswer]:
        return (self._answer(i) for i in range(len(self)))

    def _answer(self, i: int) -> ArticleAnswer:
        item, p = self._items[i], self._result.placements[i]
        flags = flags_of(item, p.decision.furniture, p.decision.counts)
        return ArticleAnswer(
            id=item.id,
            duplicate_group=self._groups[p.group],
            canonical_id=self._ids[self._result.canonical[p.group]],
            story=self._stories[p.story],
            is_duplicate=p.is_duplicate,
            similarity=p.similarity,
            flags=[FlagOut.of(f) for f in flags],
            evidence=batch_evidence(p.why, self._ids, self._groups),
        )


@dataclass(frozen=True)
class CorpusRun:
    """A corpus clustered in one run: pages, the blocks each keeps to compare, and answers,
    in input order."""

    pages: list[Page]
    kept: list[np.ndarray]
    answers: Answers
    embedded: int

    def clean_text(self, i: int) -> str:
        return clean_text(self.pages[i], self.kept[i])


def clean_text(page: Page, kept: np.ndarray) -> str:
    """The page without its flagged blocks, one block a line."""
    return "\n".join(b.text for b in page.blocks if kept[b.index])


def _numbering(labels: Iterable[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for label in labels:
        out.setdefault(label, len(out) + 1)
    return out


Progress = Callable[[Iterable[Article], str, int | None], Iterable[Article]]


def cluster_corpus(
    articles: Iterable[Article],
    config: PipelineConfig,
    embedder: Embedder,
    progress: Progress | None = None,
) -> CorpusRun:
    """``newsdedup cluster`` and ``POST /v1/cluster``: both levels and all flags for every
    article; group and story ids are numbered from 1 in order of first appearance. The
    articles are read as they are prepared (a stream is not held whole)."""
    total = len(articles) if isinstance(articles, Sized) else None
    shown = progress(articles, "preparing", total) if progress else articles
    items = list(items_of(shown, config))
    embedding = Embedding(embedder, config.lead_words, config.embed_batch)
    result = cluster_items(items, config, embedding)
    pages: list[Page] = []
    for item in items:
        assert item.page is not None
        pages.append(item.page)
    kept = [
        it.sketch.kept(p.decision.furniture) for it, p in zip(items, result.placements, strict=True)
    ]
    return CorpusRun(pages, kept, Answers(items, result), embedding.embedded)


def batch_evidence(why: Why, ids: Sequence[str], group_ids: Mapping[int, int]) -> Evidence:
    """A batch placement's evidence with the caller's article and group ids: a copy names
    the canonical it was compared with, a story join the group it is linked to."""
    matched = ids[why.matched] if why.matched is not None else None
    return why.evidence(matched, group_ids[why.group] if why.group is not None else None)


# -- stream -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """Where one arriving article went, and what the store keeps of it."""

    member: int
    group: int
    story: int
    is_duplicate: bool
    similarity: float | None
    decision: Decision = field(repr=False, compare=False)
    fingerprint: Fingerprint = field(repr=False, compare=False)
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    lead_key: str | None = field(default=None, compare=False)
    opened: bool = False  # it opened its group (still live at the end of its batch)
    new_story: bool = False  # its group opened a story
    why: Why = field(default=Why("new"), compare=False)  # ``matched`` is a member


@dataclass(frozen=True)
class Refreshed:
    """A stored page whose furniture grew because a later page showed a block recurs."""

    member: int
    furniture: np.ndarray
    fingerprint: Fingerprint


@dataclass(frozen=True)
class Assigned:
    """A batch's assignments, the stored groups it joined into others (old -> survivor),
    and the stored pages whose furniture it taught."""

    assignments: list[Assignment]
    merged: dict[int, int]
    refreshed: list[Refreshed] = field(default_factory=list)


Tally = tuple[int, frozenset[int]]  # distinct groups, and which when fewer than asked


class Counts(Protocol):
    """Distinct groups per block key as the store knows them: overall, per (site, key), and
    as a group's lead block; each with the groups when there are fewer than ``limit``."""

    def overall(self, keys: Sequence[int], limit: int) -> dict[int, Tally]: ...

    def on_site(
        self, pairs: Sequence[tuple[int, int]], limit: int
    ) -> dict[tuple[int, int], Tally]: ...

    def leads(self, keys: Sequence[int], limit: int) -> dict[int, Tally]: ...


@dataclass(frozen=True)
class IdSource:
    """Where new member, group and story ids come from: counters for a one-off run, blocks
    reserved in the store for the service (so a reindex never reuses one)."""

    member: Iterator[int]
    group: Iterator[int]
    story: Iterator[int]


class _Overlay:
    """The store's counts for one batch's blocks, plus what the batch adds as it goes."""

    def __init__(self, items: Sequence[Item], counts: Counts, config: PipelineConfig) -> None:
        rules = config.furniture
        keys = sorted({k for it in items for k in it.sketch.keys.tolist()})
        pairs = sorted(
            {(it.site, k) for it in items if it.site is not None for k in it.sketch.keys.tolist()}
        )
        self._tallies: list[dict[Any, Tally]] = [
            dict(counts.overall(keys, rules.min_groups)),
            dict(counts.on_site(pairs, rules.site_min_groups)),
            dict(counts.leads(keys, 2)),
        ]
        self._added: list[dict[Any, set[int]]] = [{}, {}, {}]
        self._rules = rules

    def _column(
        self, which: int, keys: list[object]
    ) -> tuple[np.ndarray, tuple[frozenset[int], ...]]:
        found = [self._count(which, key) for key in keys]
        return np.array([n for n, _ in found], dtype=np.int64), tuple(g for _, g in found)

    def seen(self, item: Item) -> Seen:
        keys: list[object] = list(item.sketch.keys.tolist())
        overall, overall_groups = self._column(0, keys)
        pairs: list[object] = [(item.site, k) for k in keys]
        on_site, site_groups = (
            self._column(1, pairs)
            if item.site is not None
            else (np.zeros(len(keys), dtype=np.int64), tuple(frozenset() for _ in keys))
        )
        leads, lead_groups = self._column(2, keys)
        return Seen(
            overall, overall_groups, on_site, site_groups, leads, lead_groups, item.site is not None
        )

    def _count(self, which: int, key: Any) -> tuple[int, frozenset[int]]:
        n, known = self._tallies[which].get(key, (0, frozenset()))
        extra = self._added[which].get(key, set()) - known
        return n + len(extra), known | extra

    def add(
        self, item: Item, group: int, lead: int
    ) -> tuple[dict[int, set[int]], dict[tuple[int, int], set[int]]]:
        """Count a placed page; returns the blocks it made furniture, overall and per
        (site, key), with the other groups that carry them (whose pages learn it now)."""
        rules = self._rules
        crossed: list[dict[Any, set[int]]] = [{}, {}]
        for key in item.sketch.keys.tolist():
            slots: list[tuple[int, Any, int]] = [(0, key, rules.min_groups)]
            if item.site is not None:
                slots.append((1, (item.site, key), rules.site_min_groups))
            for which, slot, threshold in slots:
                before, _ = self._count(which, slot)
                self._added[which].setdefault(slot, set()).add(group)
                after, groups = self._count(which, slot)
                if before < threshold <= after:
                    crossed[which][slot] = set(groups) - {group}
        if lead >= 0:
            self._added[2].setdefault(int(item.sketch.keys[lead]), set()).add(group)
        return crossed[0], crossed[1]


class _Placed(NamedTuple):
    """An arriving page as placed, before its batch is done."""

    member: int
    group: int
    opened: int | None  # the group it opened, if any
    match: CopyMatch | None
    decision: Decision
    fingerprint: Fingerprint


def _survivor(group: int, merged: dict[int, int]) -> int:
    """Where a group ended after the merges of a batch (a merge may follow another)."""
    while group in merged:
        group = merged[group]
    return group


def stored_view(view: CopyView) -> CopyView:
    """A page as the copy index keeps it: what its site repeats is judged on arrival only."""
    return CopyView(
        view.sketch,
        view.kept,
        view.shingles,
        view.site,
        np.zeros(len(view.kept), bool),
        view.headline,
    )


class Stream:
    """The online state of both levels: copy detection, the headlines stored so far and the
    story index, greedy in arrival order."""

    def __init__(
        self,
        config: PipelineConfig,
        embedder: Embedder,
        version: str,
        index: VectorIndex | None = None,
        ids: IdSource | None = None,
        stored: StoredPages | None = None,
    ) -> None:
        """``stored``: the pages stored before (the live service's store); without it,
        every page this stream places is held here."""
        self.config = config
        self.embedder = embedder
        self.version = version
        self.copies = CopyIndex(config.copies, stored)
        self.headlines = Headlines(stored=stored)
        self.stories = StoryIndex(
            index if index is not None else FaissIndex(embedder.dim), config.stories
        )
        self.ids = ids or IdSource(itertools.count(1), itertools.count(1), itertools.count(1))
        self.embedded = 0
        self._minhasher = MinHasher(config.copies.num_perm)
        self._test = CopyRelation(config.copies).test

    def _view(self, item: Item, furniture: np.ndarray, seen: Seen) -> tuple[Fingerprint, CopyView]:
        kept = item.sketch.kept(furniture)
        fp = fingerprint(item.sketch, kept, self._minhasher)
        view = CopyView(item.sketch, kept, fp.shingles, item.site, seen.on_site > 0, item.headline)
        return fp, view

    def _place(
        self, item: Item, seen: Seen
    ) -> tuple[CopyMatch | None, Decision, Fingerprint, CopyView]:
        """Furniture and copy match of one page: assume it is a new text, look for its copy
        on what that leaves (or, when too little is left to tell, on what the store alone
        calls furniture), then settle its furniture knowing which group it joins."""
        rules = self.config.furniture
        sketch = item.sketch
        found = self.headlines.candidates(sketch, item.headline)
        texts = self.headlines.texts(list(found))

        def settle(joins: int | None) -> Decision:
            d = decide(seen, sketch, rules, joins)
            quotes = quoted_blocks(sketch, d.furniture, found, texts, self._test)
            return Decision((d.furniture | quotes) & ~sketch.inpage, d.counts, d.lead)

        fp, view = self._view(item, settle(None).furniture, seen)
        if len(fp.shingles) < rules.min_shingles:
            fp, view = self._view(item, settle(-1).furniture, seen)
        probe = self.copies.match(fp, view)
        decision = settle(probe.group if probe else None)
        fp, view = self._view(item, decision.furniture, seen)
        return self.copies.match(fp, view), decision, fp, view

    def probe(self, item: Item, counts: Counts) -> tuple[CopyMatch | None, Decision]:
        """Where a page would go as a copy, and its furniture, changing nothing (what it
        asked of the store is not kept: the store may change before the next question)."""
        try:
            seen = _Overlay([item], counts, self.config).seen(item)
            match, decision, _, _ = self._place(item, seen)
        finally:
            self.settle()
        return match, decision

    def assign(self, items: Sequence[Item], counts: Counts) -> Assigned:
        """Assign a batch in order; later pages may join groups opened earlier in it, and a
        page that is a copy of several groups joins them into the oldest."""
        self.settle()  # nothing kept from before: the store answers for every stored page
        overlay = _Overlay(items, counts, self.config)
        placed: list[_Placed] = []
        merged: dict[int, int] = {}
        refreshed: dict[int, Refreshed] = {}
        for item in items:
            match, decision, fp, view = self._place(item, overlay.seen(item))
            member = next(self.ids.member)
            opened: int | None = None
            if match is None:
                opened = group = next(self.ids.group)
            else:
                group = match.group
            if match is not None and match.bridged:
                group = self._join({match.group, *match.bridged}, merged)
            self.add(member, group, item, fp, view, decision.lead)
            placed.append(_Placed(member, group, opened, match, decision, fp))
            for r in self._relearn(*overlay.add(item, group, decision.lead)):
                refreshed[r.member] = r
                self._rejoin(r, merged)
        for n, p in enumerate(placed):
            if p.member in refreshed:
                r = refreshed.pop(p.member)
                decision = Decision(r.furniture, p.decision.counts, p.decision.lead)
                placed[n] = p._replace(decision=decision, fingerprint=r.fingerprint)
        finals = [_survivor(p.group, merged) for p in placed]
        fresh = [i for i, p in enumerate(placed) if p.opened is not None and finals[i] == p.opened]
        made = Embedding(self.embedder, self.config.lead_words, self.config.embed_batch)
        spoken = [[(items[i], items[i].sketch.kept(placed[i].decision.furniture))] for i in fresh]
        vectors = dict(zip(fresh, made.each(spoken), strict=True))
        self.embedded += made.embedded
        out = []
        for i, p in enumerate(placed):
            group, item = finals[i], items[i]
            vector, key, new_story = vectors.get(i), None, False
            if i in vectors:  # it opened a group still its own: place that in a story
                story = self.stories.assign(
                    group, vector, item.published_at, self.ids.story.__next__
                )
                similarity, new_story = story.similarity, story.similarity is None
                why = story_why(story.link, self.config.stories)
            else:
                self.stories.touch(group, item.published_at)
                similarity = round(p.match.similarity, 4) if p.match else None
                why = Why("new")
                if p.match is not None:
                    why = copy_why(
                        p.match.member, group, p.match.exact, similarity or 0.0, self.config.copies
                    )
            if vector is not None:
                mask = item.sketch.kept(p.decision.furniture)
                key = lead_key(item.title, item.sketch, mask, self.config.lead_words, self.version)
            out.append(
                Assignment(
                    p.member,
                    group,
                    self.stories.story_of(group),
                    p.match is not None,
                    similarity,
                    p.decision,
                    p.fingerprint,
                    vector,
                    key,
                    i in vectors,
                    new_story,
                    why,
                )
            )
        opened_here = {p.opened for p in placed if p.opened is not None}
        stored = {old: _survivor(old, merged) for old in merged if old not in opened_here}
        return Assigned(out, stored, list(refreshed.values()))

    def _rejoin(self, page: Refreshed, merged: dict[int, int]) -> None:
        """A stored page compared on less now (its template learned since it arrived) may
        turn out a copy of other groups: join them, as a page that copies two groups does.
        Without this, a template outlet's first pages stay apart from their copies until a
        later page bridges them; the batch joins them at once."""
        others = self.copies.rematch(page.member)
        if others:
            self._join({self.copies.group_of(page.member), *others}, merged)

    def _join(self, groups: set[int], merged: dict[int, int]) -> int:
        """Join groups into the oldest (smallest id), noting each merge; the survivor."""
        survivor = min(groups)
        for old in sorted(groups - {survivor}):
            self.merge(old, survivor)
            merged[old] = survivor
        return survivor

    def _relearn(
        self, overall: dict[int, set[int]], on_site: dict[tuple[int, int], set[int]]
    ) -> list[Refreshed]:
        """The pages of the groups that carry blocks this batch made furniture: the blocks
        leave what they are compared on (a site's first page loses its template when the
        second arrives; a page is never stripped of its own lead this way)."""
        wanted: dict[int, set[int]] = {}  # member -> keys to drop
        for key, groups in overall.items():
            for member in self.copies.members_of(groups):
                wanted.setdefault(member, set()).add(key)
        for (site, key), groups in on_site.items():
            for member in self.copies.members_of(groups):
                if self.copies.view(member).site == site:
                    wanted.setdefault(member, set()).add(key)
        out = []
        for member, keys in wanted.items():
            view = self.copies.view(member)
            sketch = view.sketch
            drop = np.isin(sketch.keys, list(keys)) & view.kept
            if view.lead >= 0:
                drop[view.lead] = False
            if not drop.any():
                continue
            kept = view.kept & ~drop
            fp = fingerprint(sketch, kept, self._minhasher)
            changed = CopyView(
                sketch, kept, fp.shingles, view.site, view.repeated, view.headline, view.lead
            )
            self.copies.update(member, fp, changed)
            out.append(Refreshed(member, ~kept & ~sketch.inpage, fp))
        return out

    def merge(self, old: int, survivor: int) -> None:
        """Join group ``old`` into ``survivor``: a page is a copy of both."""
        self.copies.merge(old, survivor)
        self.stories.merge(old, survivor)

    def add(
        self, member: int, group: int, item: Item, fp: Fingerprint, view: CopyView, lead: int
    ) -> None:
        """Record a page for copy detection and for the headlines later pages may quote."""
        self.copies.add(member, group, fp, replace(stored_view(view), lead=lead))
        self.headlines.add(member, item.headline, fp.shingles)

    def settle(self) -> None:
        """The pages placed so far are stored now, or their write failed: either way the
        store answers for them again."""
        self.copies.settle()
        self.headlines.settle()

    def forget_member(self, member: int) -> None:
        """Take a member out of copy detection and the headlines (a takedown)."""
        self.copies.remove(member)
        self.headlines.remove(member)
