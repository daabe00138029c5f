"""The pages already stored, as the live service's copy detection and headline index ask
for them (``copies.StoredPages``): band keys and headline terms are looked up in the store,
and a page's sketch is read back when it is a candidate, into a bounded cache that the
change feed keeps current (``forget``). What several processes must agree on lives in the
store; a process holds no per-page state beyond this cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np

from service.config import CopyRules
from service.copies import CopyView, Headline, headline_of, indexed, page_bands, quotable_headline
from service.furniture import site_key
from service.sketch import Fingerprint, Sketch
from service.store import MemberRow, Store, array_of, pages
from service.store.pages import PageTerms


def furniture_of(blob: bytes | None, blocks: int) -> np.ndarray:
    """A stored furniture mask (none stored, or for another preparation: no furniture)."""
    mask = array_of(blob, np.bool_)
    return mask if len(mask) == blocks else np.zeros(blocks, dtype=bool)


class StoredPrint(Protocol):
    """A stored article's fingerprint columns (a member row)."""

    @property
    def content_hash(self) -> str: ...
    @property
    def shingles(self) -> bytes: ...
    @property
    def minhash(self) -> bytes: ...
    @property
    def words(self) -> int: ...


def stored_fingerprint(row: StoredPrint) -> Fingerprint:
    """The fingerprint as stored, its arrays views of the stored bytes."""
    return Fingerprint(
        row.content_hash,
        array_of(row.shingles, np.uint32),
        array_of(row.minhash, np.uint32),
        row.words,
    )


def stored_view(row: MemberRow, shingle_words: int) -> tuple[Fingerprint, CopyView]:
    """A stored article as copy detection sees it (an article stored before sketches were
    kept is one block of its stored shingles)."""
    fp = stored_fingerprint(row)
    shingles = fp.shingles
    sketch = Sketch.from_bytes(row.sketch) if row.sketch else Sketch.single(shingles, row.words)
    kept = sketch.kept(furniture_of(row.furniture, len(sketch)))
    leads = np.flatnonzero((sketch.keys == row.lead_block) & ~sketch.inpage)
    view = CopyView(
        sketch,
        kept,
        shingles,
        site_key(row.site),
        np.zeros(len(sketch), dtype=bool),
        headline_of(row.title, sketch, shingle_words),
        int(leads[0]) if row.lead_block is not None and len(leads) else -1,
    )
    return fp, view


def page_terms(
    member: int, fp: Fingerprint, headline: Headline | None, rules: CopyRules
) -> PageTerms:
    """What a page is found by in the store; ``headline`` None leaves its headline terms."""
    bands = np.unique(page_bands(fp, rules).view(np.int64))  # 8 bytes a key, not an int
    if headline is None:
        return PageTerms(member, bands)
    if not indexed(headline):
        return PageTerms(member, bands, headline=True)
    return PageTerms(member, bands, True, headline.shingles.tolist(), headline.key)


class PageStore:
    """``copies.StoredPages`` over the store. The cache holds at most ``cache`` views (a
    page that is a candidate is usually one again soon: its copies keep arriving)."""

    def __init__(self, store: Store, rules: CopyRules, cache: int = 1024) -> None:
        self._store = store
        self._words = rules.shingle_words
        self._size = cache
        self._views: OrderedDict[int, tuple[Fingerprint, CopyView]] = OrderedDict()
        self._headlines: OrderedDict[int, tuple[Headline, np.ndarray]] = OrderedDict()

    def forget(self, members: Collection[int]) -> None:
        """These pages changed in the store: read them again when next asked."""
        for member in members:
            self._views.pop(member, None)
            self._headlines.pop(member, None)

    # -- StoredCopies ----------------------------------------------------------------

    def with_hash(self, digest: str, besides: Collection[int]) -> int | None:
        return pages.first_with_hash(self._store, digest, besides)

    def sharing(self, keys: Sequence[int]) -> dict[int, set[int]]:
        return pages.sharing(self._store, keys)

    def groups(self, members: Collection[int]) -> dict[int, int]:
        return pages.groups_of(self._store, members)

    def members(self, groups: Collection[int]) -> set[int]:
        return pages.members_with_text(self._store, groups)

    def views(self, members: Collection[int]) -> dict[int, tuple[Fingerprint, CopyView]]:
        out: dict[int, tuple[Fingerprint, CopyView]] = {}
        for member in members:
            hit = self._views.get(member)
            if hit is not None:
                self._views.move_to_end(member)
                out[member] = hit
        missing = [m for m in members if m not in out]
        if missing:
            for row in pages.rows_with_text(self._store, missing):
                out[row.member] = self._views[row.member] = stored_view(row, self._words)
            while len(self._views) > self._size:
                self._views.popitem(last=False)
        return out

    # -- StoredHeadlines -------------------------------------------------------------

    def owners(
        self, heads: Sequence[int], keys: Sequence[int]
    ) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        return pages.headline_owners(self._store, heads, keys)

    def _headline_pages(self, owners: Sequence[int]) -> dict[int, tuple[Headline, np.ndarray]]:
        out = {m: self._headlines[m] for m in owners if m in self._headlines}
        missing = [m for m in owners if m not in out]
        if missing:
            for m, (title, blob) in pages.titles_and_shingles(self._store, missing).items():
                line = quotable_headline(title, self._words)
                out[m] = self._headlines[m] = (line, array_of(blob, np.uint32))
            while len(self._headlines) > self._size:
                self._headlines.popitem(last=False)
        return out

    def lines(self, owners: Sequence[int]) -> dict[int, Headline]:
        return {m: line for m, (line, _) in self._headline_pages(owners).items()}

    def texts(self, owners: Sequence[int]) -> dict[int, np.ndarray]:
        return {m: text for m, (_, text) in self._headline_pages(owners).items()}
