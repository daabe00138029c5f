"""The copy relation between two pages, and copies as they arrive.

One rule decides whether two pages are copies of one text, for the batch components
(``index.copy_graph``) and for the live service (``CopyIndex``) alike:

- the pages are compared on their kept text (no in-page flags, no furniture);
- what one page quotes of the other is left out: an entry carrying most of the other's
  headline, or the headline line and the teaser after it, and a list-marked line that is
  mostly the other's running text. "Most read" and "related" lists quote other articles
  without being copies of them. A headline cut from the page's own text (a copy's
  headline taken from its lead) marks a quotation only in list-marked entries, and a
  page that is mostly the quote, or shares more with the other page than it, is a copy;
- two pages of one site are compared on what the site does not repeat (blocks the two
  share, or that recur on its other pages), so that a template, however large, makes no
  copy;
- then ``CopyTest``: the smaller text mostly inside the larger, and the shared text a real
  part of the larger too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Protocol

import numpy as np

from index.copy_graph import CopyTest, band_keys, kept_links
from index.sorted_sets import common, in_sorted
from service.config import CopyRules
from service.sketch import Fingerprint, Sketch, block_shingles
from service.text import key_hash, words_of


@dataclass(frozen=True, slots=True)
class Headline:
    """A page's headline as a list entry elsewhere would quote it: its shingles, and
    whether it is cut from the page's own text (then it marks no quotation)."""

    key: int  # the headline line's block key
    shingles: np.ndarray  # sorted, each once
    own: bool


NO_HEADLINE = Headline(0, np.zeros(0, dtype=np.uint32), True)


@lru_cache(maxsize=1 << 16)
def _title_line(title: str, shingle_words: int) -> tuple[int, np.ndarray]:
    """A title's line key and shingles (none for a title without words). Copies of a
    story share their title and arrive together, so a window of a million pages holds far
    fewer titles than pages; the arrays are shared between the headlines: never written."""
    words = words_of(title)
    if not words:
        return 0, NO_HEADLINE.shingles
    shingles = block_shingles(words, shingle_words)
    shingles.flags.writeable = False
    return key_hash(" ".join(words)), shingles


def headline_of(title: str | None, sketch: Sketch, shingle_words: int) -> Headline:
    key, shingles = _title_line(title or "", shingle_words)
    if not len(shingles):
        return NO_HEADLINE
    body = (sketch.keys != key) & ~sketch.listed  # not its headline line, nor its own
    # "most read" entry; the body's shingles are looked up in the headline's few, not sorted
    chosen = sketch.kept_shingles(body)
    present = np.zeros(len(shingles), dtype=bool)
    present[shingles.searchsorted(chosen[in_sorted(chosen, shingles)])] = True
    return Headline(key, shingles, 2 * int(np.count_nonzero(present)) >= len(shingles))


def quotable_headline(title: str | None, shingle_words: int) -> Headline:
    """A stored page's headline as the headline index holds it (only quotable ones are)."""
    words = words_of(title or "")
    if not words:
        return NO_HEADLINE
    return Headline(key_hash(" ".join(words)), block_shingles(words, shingle_words), False)


def _shared_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of ``a`` found in ``b`` (sorted)."""
    return float(in_sorted(a, b).mean()) if len(a) else 0.0


@dataclass(frozen=True)
class CopyView:
    """What the copy rule looks at on one page."""

    sketch: Sketch
    kept: np.ndarray  # bool per block
    shingles: np.ndarray  # of the kept blocks
    site: int | None
    repeated: np.ndarray  # bool per block: the site repeats it on another of its pages
    headline: Headline
    lead: int = -1  # the page's lead block, when known

    @cached_property
    def running(self) -> np.ndarray:
        """Shingles of the kept blocks outside list entries: what a teaser quotes."""
        return self.sketch.shingle_set(self.kept & ~self.sketch.listed)


def listing(sketch: Sketch) -> np.ndarray:
    """List entries and the line under each (a teaser under its headline)."""
    under = np.zeros(len(sketch.listed), dtype=bool)
    under[1:] = sketch.listed[:-1]
    return sketch.listed | under


def _unlisted(view: CopyView) -> np.ndarray:
    return view.sketch.shingle_set(view.kept & ~listing(view.sketch))


def view_of(
    sketch: Sketch, kept: np.ndarray, site: int | None, repeated: np.ndarray, headline: Headline
) -> CopyView:
    return CopyView(sketch, kept, sketch.shingle_set(kept), site, repeated, headline)


def _entries(
    sketch: Sketch,
    hits: np.ndarray,
    needed: float,
    headline: np.ndarray,
    text: np.ndarray,
    line: np.ndarray,
    among: np.ndarray | None = None,
) -> np.ndarray:
    """List entries quoting a headline: blocks that start inside it and carry most of it
    (``hits`` of its shingles per block, ``needed`` for most), or are exactly its words
    (``line``); and the teaser after an entry that is the headline alone: the next block,
    when most of it is the quoted page's ``text``. A paragraph that merely contains
    another article's headline is no entry; with ``among``, entries are only those blocks."""
    entry, alone = _headline_entries(sketch, hits, needed, headline, line, among)
    return entry | _teasers(sketch, alone, text)


def _headline_entries(
    sketch: Sketch,
    hits: np.ndarray,
    needed: float,
    headline: np.ndarray,
    line: np.ndarray,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The entries of ``_entries``, and those that are the headline alone: what depends on
    the quoted headline only, not on the quoted page's text."""
    sizes = sketch.bounds[1:] - sketch.bounds[:-1]
    starts = in_sorted(sketch.heads, headline)
    entry = (starts & (hits >= needed)) | line
    if among is not None:  # entries only among these blocks
        entry &= among
    return entry, entry & ((hits >= 0.5 * np.maximum(sizes, 1)) | line)


def _teasers(sketch: Sketch, alone: np.ndarray, text: np.ndarray) -> np.ndarray:
    """The block after each entry that is a headline alone, when most of it is ``text``."""
    after = np.zeros(len(alone), dtype=bool)
    for block in np.flatnonzero(alone[:-1]) + 1:
        own = sketch.shingles[sketch.bounds[block] : sketch.bounds[block + 1]]
        after[block] = len(own) > 0 and _shared_share(own, text) >= 0.5
    return after


def _block_of(sketch: Sketch) -> np.ndarray:
    return np.arange(len(sketch)).repeat(sketch.bounds[1:] - sketch.bounds[:-1])


def _quotes(page: Headline, other: Headline) -> bool:
    """Whether a page under headline ``page`` can quote ``other``: not its own headline
    under a variant (a copy), and not a headline cut from the other's own text."""
    return not other.own and _quotable(page, other)


def _quotable(page: Headline, other: Headline) -> bool:
    if other.key == 0 or other.key == page.key:
        return False
    return common(other.shingles, page.shingles) < 0.5 * len(other.shingles)


def _listed_quotes(page: CopyView, other: CopyView) -> np.ndarray:
    """List entries of ``page`` (lines that had a list marker) that are mostly ``other``'s
    running text: a teaser, even under a headline too short to recognise."""
    out = np.zeros(len(page.kept), dtype=bool)
    listed = np.flatnonzero(page.sketch.listed & page.kept)
    if len(listed) == 0:
        return out
    text = other.running
    bounds = page.sketch.bounds
    for block in listed.tolist():
        own = page.sketch.shingles[bounds[block] : bounds[block + 1]]
        out[block] = len(own) > 0 and _shared_share(own, text) >= 0.5
    return out


def quoting(page: CopyView, other: CopyView, test: CopyTest) -> np.ndarray:
    """Blocks of ``page`` that quote ``other``: entries carrying most of its headline (only
    list-marked ones when that headline is cut from its text, as a copy's lead may be), the
    teaser line after an entry that is the headline alone, and list entries that are mostly
    its text; none when the page is mostly these or shares more with ``other`` than them (a
    copy, not a list: the rule of ``quoted_blocks``)."""
    blocks = _listed_quotes(page, other)
    line = other.headline
    among = page.sketch.listed if line.own else None
    if (
        (among is None or among.any())
        and _opens_with(page, line)
        and _quotable(page.headline, line)
    ):
        found = in_sorted(page.sketch.shingles, line.shingles)
        hits = np.bincount(_block_of(page.sketch)[found], minlength=len(page.kept))
        entries = _entries(
            page.sketch,
            hits,
            0.5 * len(line.shingles),
            line.shingles,
            other.shingles,
            page.sketch.keys == line.key,
            among,
        )
        blocks |= entries
    if not blocks.any():
        return blocks
    return quoted_blocks(page.sketch, ~page.kept, {0: blocks}, {0: other.shingles}, test)


def _opens_with(page: CopyView, line: Headline) -> bool:
    """Whether one of the page's blocks opens with one of the headline's shingles, or is
    the headline's line (as Python sets: the copy rule asks it of every candidate pair,
    and a page has few blocks)."""
    if line.key in page.sketch.keys.tolist():
        return True
    return not set(line.shingles.tolist()).isdisjoint(page.sketch.heads.tolist())


class StoredHeadlines(Protocol):
    """The headlines of the pages already stored (the live service's store)."""

    def owners(
        self, heads: Sequence[int], keys: Sequence[int]
    ) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """Stored pages whose indexed headline holds one of these shingles, and those whose
        headline line is one of these block keys."""
        ...

    def lines(self, owners: Sequence[int]) -> dict[int, Headline]: ...

    def texts(self, owners: Sequence[int]) -> dict[int, np.ndarray]:
        """The shingles each page is compared on."""
        ...


def indexed(line: Headline) -> bool:
    """Whether a headline is one list entries elsewhere can quote (not cut from its page)."""
    return not line.own and line.key != 0


class Headlines:
    """The headlines of a corpus (or of the pages stored so far), to find the list entries
    of a page that quote other pages ("most read", "related", "trending"). The live service
    keeps here only the pages of the batch being placed; the stored ones are asked of
    ``stored``."""

    def __init__(
        self,
        text_of: Callable[[int], np.ndarray] | None = None,
        stored: StoredHeadlines | None = None,
    ) -> None:
        """``text_of``: a page's shingles by owner, where they can be made again when asked
        (a corpus run's sketches) rather than kept beside every headline."""
        self._text_of = text_of
        self._stored = stored
        self._owners: dict[int, list[int]] = {}
        self._by_key: dict[int, list[int]] = {}
        self._lines: dict[int, Headline] = {}
        self._texts: dict[int, np.ndarray] = {}

    def add(self, owner: int, line: Headline, text: np.ndarray | None = None) -> None:
        """Index the headline of page ``owner`` (its ``text``: the page's shingles, unless
        ``text_of`` makes them)."""
        if not indexed(line):
            return
        self._lines[owner] = line
        if self._text_of is None:
            assert text is not None, "a page's shingles are kept when they cannot be made"
            self._texts[owner] = text
        self._by_key.setdefault(line.key, []).append(owner)
        for shingle in line.shingles.tolist():
            self._owners.setdefault(shingle, []).append(owner)

    def remove(self, owner: int) -> None:
        line = self._lines.pop(owner, None)
        self._texts.pop(owner, None)
        if line is None:
            return
        same = self._by_key.get(line.key, [])
        if owner in same:
            same.remove(owner)
        if not same:
            self._by_key.pop(line.key, None)
        for shingle in line.shingles.tolist():
            owners = self._owners.get(shingle, [])
            if owner in owners:
                owners.remove(owner)
            if not owners:
                self._owners.pop(shingle, None)

    def settle(self) -> None:
        """The pages added so far are stored now (or their write failed): forget them here."""
        if self._stored is not None:
            for table in (self._owners, self._by_key, self._lines, self._texts):
                table.clear()

    def text(self, owner: int) -> np.ndarray:
        """The shingles a headline's page was indexed with."""
        return self.texts([owner])[owner]

    def texts(self, owners: Sequence[int]) -> dict[int, np.ndarray]:
        if self._text_of is not None:
            return {o: self._text_of(o) for o in owners}
        out = {o: self._texts[o] for o in owners if o in self._texts}
        missing = [o for o in owners if o not in out]
        if missing and self._stored is not None:
            out.update(self._stored.texts(missing))
        return out

    def _found(self, sketch: Sketch) -> tuple[set[int], dict[int, list[int]], dict[int, Headline]]:
        """The pages whose headline holds one of the page's block openings, those whose
        headline line is one of its blocks (with those blocks), and their headlines."""
        heads = sorted(set(sketch.heads.tolist()))
        keys = sketch.keys.tolist()
        by_head: list[dict[int, list[int]]] = [self._owners]
        by_key: list[dict[int, list[int]]] = [self._by_key]
        if self._stored is not None:
            on_head, on_key = self._stored.owners(heads, sorted(set(keys)))
            by_head.append(on_head)
            by_key.append(on_key)
        opening: set[int] = set()
        for table in by_head:
            for head in heads:
                opening.update(table.get(head, ()))
        lines: dict[int, list[int]] = {}
        for table in by_key:
            for block, key in enumerate(keys):
                for other in table.get(key, ()):
                    lines.setdefault(other, []).append(block)
        found = opening | set(lines)
        # only the pages found: copying every indexed headline per page made a corpus run
        # quadratic in its pages
        known = {o: self._lines[o] for o in found if o in self._lines}
        wanted = sorted(o for o in found if o not in known)
        if wanted and self._stored is not None:
            known.update(self._stored.lines(wanted))
        return opening, lines, known

    def candidates(
        self, sketch: Sketch, headline: Headline, owner: int | None = None
    ) -> dict[int, np.ndarray]:
        """Per other page whose headline this page (``owner``) carries in a list entry,
        the blocks doing so."""
        n = len(sketch)
        out: dict[int, np.ndarray] = {}
        if not self._lines and self._stored is None:
            return out
        # An entry opens inside the quoted headline, or is exactly it: look only at the
        # headlines holding one of this page's block openings, or its lines.
        opening, lines, known = self._found(sketch)
        if not known:  # most pages quote no indexed headline
            return out
        blocks = _block_of(sketch)
        # The copies of a text under one headline are found by the same entries: the entries
        # are found once per distinct headline, and a mask kept once (a list quoting a wire
        # story can name hundreds of its copies); only a teaser reads the quoted page's text.
        by_line: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray] | None] = {}
        same: dict[bytes, np.ndarray] = {}
        for other in sorted(opening | set(lines)):
            line = known.get(other)
            if other == owner or line is None:  # indexed headlines are never the page's own
                continue
            shape = (line.key, line.shingles.tobytes())
            if shape not in by_line:
                by_line[shape] = None
                if _quotes(headline, line):
                    inside = in_sorted(sketch.shingles, line.shingles)
                    per_block = np.bincount(blocks[inside], minlength=n)
                    exact = np.zeros(n, dtype=bool)
                    exact[lines.get(other, [])] = True  # the same for every headline of a key
                    needed = max(0.5 * len(line.shingles), 1.0)
                    by_line[shape] = _headline_entries(
                        sketch, per_block, needed, line.shingles, exact
                    )
            quoted = by_line[shape]
            if quoted is None:
                continue
            entry, alone = quoted
            teaser = alone[:-1].any()
            found = entry | _teasers(sketch, alone, self.text(other)) if teaser else entry
            if found.any():
                out[other] = same.setdefault(found.tobytes(), found)
        return out


def quoted_blocks(
    sketch: Sketch,
    furniture: np.ndarray,
    found: dict[int, np.ndarray],
    others: dict[int, np.ndarray],
    test: CopyTest,
    quoting_blocks: np.ndarray | None = None,
) -> np.ndarray:
    """The blocks of a page that quote other pages, from the ``found`` candidates (per
    quoted page, its entries here). A page that is mostly such blocks, or shares more with
    the quoted page than them (its text in ``others``, this page's outside its furniture
    and ``quoting_blocks``), is a copy of it, not a list quoting it (say, a copy under a
    headline cut from the other's lead)."""
    mask = np.zeros(len(sketch), dtype=bool)
    if not found:
        return mask
    kept = sketch.kept(furniture)
    around = (
        quoting_blocks if quoting_blocks is not None else np.logical_or.reduce(list(found.values()))
    )
    rest = sketch.shingle_set(kept & ~around)
    page = sketch.kept()  # the whole page: its template still counts against the entries
    for other, blocks in found.items():
        if sketch.words(blocks & page) >= 0.5 * sketch.words(page):
            continue
        text = others[other]
        if common(rest, text) < max(test.min_shingles, 0.2 * len(text)):
            mask |= blocks
    return mask


class Quotations:
    """``quoted_blocks`` for every page of a corpus under furniture masks, each quoted page
    taken outside its own quotations and furniture. A page's answer is kept while its mask
    and its quoted pages' masks stay: the furniture rounds change few pages."""

    def __init__(
        self, sketches: Sequence[Sketch], found: Sequence[dict[int, np.ndarray]], test: CopyTest
    ) -> None:
        self._sketches, self._found, self._test = sketches, found, test
        # per page, the blocks quoting any headline; None for the most, which quote none
        self._raw = [np.logical_or.reduce(list(f.values())) if f else None for f in found]
        self._memo: dict[int, tuple[tuple[bytes, ...], np.ndarray]] = {}

    def __call__(self, furniture: Sequence[np.ndarray]) -> list[np.ndarray]:
        masks = [m.tobytes() for m in furniture]
        texts: dict[int, np.ndarray] = {}

        def text(o: int) -> np.ndarray:
            if o not in texts:
                sketch = self._sketches[o]
                kept, raw = sketch.kept(furniture[o]), self._raw[o]
                texts[o] = sketch.shingle_set(kept if raw is None else kept & ~raw)
            return texts[o]

        out = []
        for p, (sketch, candidates) in enumerate(zip(self._sketches, self._found, strict=True)):
            if not candidates:
                out.append(np.zeros(len(sketch), dtype=bool))
                continue
            key = (masks[p], *(masks[o] for o in candidates))
            hit = self._memo.get(p)
            if hit is None or hit[0] != key:
                others = {o: text(o) for o in candidates}
                quoted = quoted_blocks(
                    sketch, furniture[p], candidates, others, self._test, self._raw[p]
                )
                hit = self._memo[p] = (key, quoted)
            out.append(hit[1])
        return out


class CopyRelation:
    """Whether two pages are copies of one text, and the containment that decided."""

    def __init__(self, rules: CopyRules) -> None:
        self.test = CopyTest(rules.containment, rules.overlap, rules.min_shingles)

    @staticmethod
    def _compared(page: CopyView, drop: np.ndarray) -> np.ndarray:
        if not (drop & page.kept).any():
            return page.shingles
        return page.sketch.shingle_set(page.kept & ~drop)

    def link(self, a: CopyView, b: CopyView, lists: bool = True) -> tuple[bool, float]:
        """``lists=False``: list entries and the lines under them are no evidence either
        (where templates quote other articles)."""
        drop_a, drop_b = quoting(a, b, self.test), quoting(b, a, self.test)
        if not lists:
            drop_a, drop_b = drop_a | listing(a.sketch), drop_b | listing(b.sketch)
        if a.site is not None and a.site == b.site:
            both = np.intersect1d(a.sketch.keys, b.sketch.keys)
            drop_a = drop_a | a.repeated | in_sorted(a.sketch.keys, both)
            drop_b = drop_b | b.repeated | in_sorted(b.sketch.keys, both)
        return self.test.linked(self._compared(a, drop_a), self._compared(b, drop_b))


@dataclass(frozen=True)
class CopyMatch:
    """The group a text joined, through which member, and the containment that decided;
    ``bridged``: other groups the text is also a copy of (it joins them together)."""

    group: int
    member: int
    similarity: float
    bridged: frozenset[int] = frozenset()
    exact: bool = False  # the same content hash


class StoredCopies(Protocol):
    """Copy detection's questions about the pages already stored (the live service's store:
    band keys in an indexed table, each page's sketch read back when it is a candidate)."""

    def with_hash(self, digest: str, besides: Collection[int]) -> int | None:
        """The first stored page with this content hash, other than ``besides``."""
        ...

    def sharing(self, keys: Sequence[int]) -> dict[int, set[int]]:
        """The stored pages with each of these LSH band keys (signed, as stored)."""
        ...

    def groups(self, members: Collection[int]) -> dict[int, int]: ...

    def members(self, groups: Collection[int]) -> set[int]:
        """The stored pages with text in these groups."""
        ...

    def views(self, members: Collection[int]) -> dict[int, tuple[Fingerprint, CopyView]]: ...


class StoredPages(StoredCopies, StoredHeadlines, Protocol):
    """Both questions about the stored pages, as the live service's store answers them."""


def page_bands(fp: Fingerprint, rules: CopyRules) -> np.ndarray:
    """The LSH band keys a page is found by (none for a page without text)."""
    if fp.words == 0 or len(fp.shingles) == 0:
        return np.zeros(0, dtype=np.uint64)
    bands, rows = rules.bands
    return band_keys(fp.minhash[None, :], bands, rows)[0]


class CopyIndex:
    """The pages seen so far, by member, each tagged with its group: an arriving page joins
    the group of its best copy (same content hash, or an LSH candidate the copy relation
    confirms); when its links fall into disjoint regions it keeps only its dominant one,
    as in the batch.

    With ``stored``, the pages already stored are asked of it, and this keeps only what
    the batch being placed changed (its pages, stored pages it compares on less now, group
    merges) until ``settle``: the store is the one truth several processes share, and a
    few KiB per stored page is all a process holds."""

    def __init__(self, rules: CopyRules, stored: StoredCopies | None = None) -> None:
        self._rules = rules
        self._relation = CopyRelation(rules)
        self._stored = stored
        self._buckets: dict[int, set[int]] = {}
        self._keys: dict[int, np.ndarray] = {}
        self._by_hash: dict[str, int] = {}
        self._hash_of: dict[int, str] = {}
        self._views: dict[int, CopyView] = {}
        self._group: dict[int, int] = {}
        self._members: dict[int, set[int]] = {}
        self._shadowed: set[int] = set()  # stored pages whose stored entry is out of date
        self._merged: dict[int, int] = {}  # groups joined into others since the last settle
        self._hashes: dict[str, int | None] = {}  # the store's answers to with_hash meanwhile
        self._sharing: dict[int, frozenset[int]] = {}  # and to sharing, per band key

    def settle(self) -> None:
        """What this held is stored now (or its write failed): ask the store again."""
        if self._stored is None:
            return
        for table in (self._buckets, self._keys, self._by_hash, self._hash_of, self._views):
            table.clear()
        self._group.clear()
        self._members.clear()
        self._shadowed.clear()
        self._merged.clear()
        self._hashes.clear()
        self._sharing.clear()

    def _band_keys(self, fp: Fingerprint) -> np.ndarray:
        return page_bands(fp, self._rules)

    def _candidates(self, keys: np.ndarray) -> set[int]:
        """The pages sharing an LSH band key with these."""
        found: set[int] = set()
        for key in keys.tolist():
            found |= self._buckets.get(key, set())
        if self._stored is not None:
            signed = keys.view(np.int64).tolist()
            asked = [k for k in signed if k not in self._sharing]
            if asked:
                by_key = self._stored.sharing(asked)
                for key in asked:
                    self._sharing[key] = frozenset(by_key.get(key, ()))
            stored: set[int] = set()
            for key in signed:
                stored |= self._sharing[key]
            found |= stored - self._shadowed
        return found

    def _survivor(self, group: int) -> int:
        while group in self._merged:
            group = self._merged[group]
        return group

    def _groups(self, members: Collection[int]) -> dict[int, int]:
        out = {m: self._group[m] for m in members if m in self._group}
        rest = [m for m in members if m not in out]
        if rest and self._stored is not None:
            stored = self._stored.groups(rest)
            out.update({m: self._survivor(g) for m, g in stored.items()})
        return out

    def _fetch(self, members: Collection[int]) -> dict[int, CopyView]:
        """The views of these pages (those this holds, the rest from the store)."""
        out = {m: self._views[m] for m in members if m in self._views}
        rest = [m for m in members if m not in out]
        if rest and self._stored is not None:
            out.update({m: view for m, (_, view) in self._stored.views(rest).items()})
        return out

    def match(self, fp: Fingerprint, view: CopyView) -> CopyMatch | None:
        """The best stored copy of the page, or None when it is a new text."""
        if fp.words == 0 or len(fp.shingles) == 0:
            return None
        exact = None
        if self._stored is not None:  # stored pages came first
            digest = fp.content_hash
            if digest not in self._hashes:
                self._hashes[digest] = self._stored.with_hash(digest, self._shadowed)
            exact = self._hashes[digest]
        if exact is None:
            exact = self._by_hash.get(fp.content_hash)
        if exact is not None:
            return CopyMatch(self.group_of(exact), exact, 1.0, exact=True)
        found = sorted(self._candidates(self._band_keys(fp)))
        views = self._fetch(found)
        linked: list[tuple[int, float]] = []
        for member in found:
            ok, score = self._relation.link(view, views[member])
            if ok:
                linked.append((member, score))
        if not linked:
            return None
        kept = [
            linked[i]
            for i in kept_links(
                fp.shingles, [views[m].shingles for m, _ in linked], [m for m, _ in linked]
            )
        ]
        best = max(kept, key=lambda item: (item[1], -item[0]), default=None)
        if best is None:
            return None
        groups = self._groups([m for m, _ in kept])
        group = groups[best[0]]
        bridged = frozenset(groups[m] for m, _ in kept) - {group}
        return CopyMatch(group, best[0], best[1], bridged)

    def rematch(self, member: int) -> set[int]:
        """The other groups a stored page is a copy of, judged on running text alone: this
        joins groups that were decided apart, so list entries, where templates quote other
        articles, are no evidence for it, and neither is a page without a site, whose
        outlet's template nothing tells apart from its story."""
        view = self._fetch([member]).get(member)
        if view is None or view.site is None:
            return set()
        group = self.group_of(member)
        found = sorted(self._candidates(self._keys_of(member)) - {member})
        views = self._fetch(found)
        linked: list[tuple[int, np.ndarray]] = []
        for other in found:
            theirs = views[other]
            if theirs.site is not None and self._relation.link(view, theirs, lists=False)[0]:
                linked.append((other, _unlisted(theirs)))
        # links into its own group count too: a page whose story ties it to its group and
        # whose template ties it elsewhere keeps only the dominant region, as on arrival
        kept = kept_links(_unlisted(view), [s for _, s in linked], [m for m, _ in linked])
        groups = self._groups([linked[i][0] for i in kept])
        return set(groups.values()) - {group}

    def _keys_of(self, member: int) -> np.ndarray:
        if member in self._keys:
            return self._keys[member]
        assert self._stored is not None, f"member {member} is not held"
        fp, _ = self._stored.views([member])[member]
        return self._band_keys(fp)

    def add(self, member: int, group: int, fp: Fingerprint, view: CopyView) -> None:
        """Record a page as member ``member`` of ``group``; an empty text is never matched."""
        self._group[member] = group
        self._members.setdefault(group, set()).add(member)
        if fp.words == 0 or len(fp.shingles) == 0:
            return
        self._by_hash.setdefault(fp.content_hash, member)
        self._hash_of[member] = fp.content_hash
        self._views[member] = view
        keys = self._band_keys(fp)
        self._keys[member] = keys
        for key in keys.tolist():
            self._buckets.setdefault(key, set()).add(member)

    def remove(self, member: int) -> None:
        """Forget a member; its group lives on in its other members."""
        if self._stored is not None:
            self._shadowed.add(member)
            self._hashes.clear()
        group = self._group.pop(member, None)
        if group is not None:
            self._members.get(group, set()).discard(member)
            if not self._members.get(group):
                self._members.pop(group, None)
        self._views.pop(member, None)
        for key in self._keys.pop(member, np.zeros(0, dtype=np.uint64)).tolist():
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.discard(member)
                if not bucket:
                    del self._buckets[key]
        digest = self._hash_of.pop(member, None)
        if digest is not None and self._by_hash.get(digest) == member:
            del self._by_hash[digest]

    def merge(self, old: int, survivor: int) -> None:
        """Group ``old`` joined ``survivor``: its members are the survivor's now."""
        if self._stored is not None:
            self._merged[old] = survivor
        for member in self._members.pop(old, set()):
            self._group[member] = survivor
            self._members.setdefault(survivor, set()).add(member)

    def group_of(self, member: int) -> int:
        return self._groups([member])[member]

    def members_of(self, groups: set[int]) -> list[int]:
        """The pages kept for copy detection in these groups."""
        held = {m for g in groups for m in self._members.get(g, ()) if m in self._views}
        if self._stored is not None:
            joined = set(groups) | {old for old in self._merged if self._survivor(old) in groups}
            stored = self._stored.members(joined) - self._shadowed - set(self._group)
            held |= stored
        return sorted(held)

    def view(self, member: int) -> CopyView:
        return self._fetch([member])[member]

    def update(self, member: int, fp: Fingerprint, view: CopyView) -> None:
        """A stored page is compared on less now (furniture learned since it arrived)."""
        group = self.group_of(member)
        self.remove(member)
        self.add(member, group, fp, view)
