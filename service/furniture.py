"""Furniture: blocks a site or the web repeats around texts, learned the way sites make it.

A block is furniture when it recurs on pages whose *remaining text differs*: on pages of at
least ``site_min_groups`` distinct copy groups of one site (the site's template: its
navigation, newsletter box, legal text, a "most read" list), or of at least ``min_groups``
distinct copy groups anywhere (a disclaimer, "Read More"). A wire paragraph carried by 30
copies of one story is one group, so it stays content.

One exception: a block recurring across sites that is a text's *lead* (its first block
after its site's template) in only one copy group is that text's own opening, quoted by
lists elsewhere ("most read" teasers of a short story): it stays content in that group and
is furniture on the pages quoting it. An opening line many groups share ("Advertisement",
"Skip to main content") is furniture everywhere.

Which pages are copies depends on which blocks are furniture, so a corpus converges
(``learn``): it starts from each site's template (blocks on several pages of one site; the
pages' copy groups are not known yet), finds the copy groups on what that leaves, counts
every block again over those groups, and repeats until the furniture no longer changes
(or comes back to an earlier state: a cycle is settled as the union of its states). A
page whose remaining text is too short to tell apart counts for nothing. The live service
takes the streaming form of the same rule (``decide``): distinct groups per block, overall
and per site, and the groups each block leads, kept in the store; an arriving page counts
as one more group unless it joins a group the block was seen in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import numpy as np

from service.config import FurnitureRules
from service.sketch import Sketch
from service.text import key_hash

_MIX = np.uint64(0x9E3779B97F4A7C15)


def site_of(source: str | None, url: str | None) -> str | None:
    """The site a page belongs to: its ``source``, else its URL's host (lower case, without
    ``www.``); None when neither is given."""
    name = (source or "").strip().lower()
    if not name and url:
        try:
            name = (urlsplit(url.strip()).hostname or "").lower()
        except ValueError:
            name = ""
    name = name.removeprefix("www.")
    return name or None


@lru_cache(maxsize=1 << 16)
def site_key(site: str | None) -> int | None:
    """A site's 64-bit key; cached: a window of a million pages comes from a few thousand
    sites, and the reindex asks once per page."""
    return None if site is None else key_hash(site)


@dataclass(frozen=True)
class BlockTable:
    """Every block of a corpus as flat arrays: its page, key, size, in-page drop, and its
    key mixed with its page's site."""

    page: np.ndarray  # int64 per block
    key: np.ndarray  # uint64 per block
    site: np.ndarray  # uint64 per block: its page's site; 0 where the page has none (a site
    # whose 64-bit key is 0 would count as none: a chance of 2**-64)
    site_key: np.ndarray  # uint64 per block: (site, key) mixed; 0 where the page has no site
    sizes: np.ndarray  # int64 words per block
    inpage: np.ndarray  # bool per block
    bounds: np.ndarray  # int64 per page + 1: the page's blocks are bounds[p]:bounds[p+1]


def block_table(sketches: Sequence[Sketch], sites: Sequence[int | None]) -> BlockTable:
    sizes = np.array([len(s) for s in sketches], dtype=np.int64)
    bounds = np.zeros(len(sketches) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    page = np.repeat(np.arange(len(sketches), dtype=np.int64), sizes)
    key = (
        np.concatenate([s.keys for s in sketches]).view(np.uint64)
        if sketches and bounds[-1]
        else np.zeros(0, dtype=np.uint64)
    )
    site = np.array([0 if s is None else s for s in sites], dtype=np.int64).view(np.uint64)
    has_site = np.array([s is not None for s in sites], dtype=bool)
    mixed = (site[page] * _MIX) ^ key
    return BlockTable(
        page,
        key,
        np.where(has_site[page], site[page], 0),
        np.where(has_site[page], mixed | np.uint64(1), 0),
        _joined([s.sizes for s in sketches], np.int64),
        _joined([s.inpage for s in sketches], bool),
        bounds,
    )


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def lead_blocks(local: np.ndarray, inpage: np.ndarray, page: np.ndarray) -> np.ndarray:
    """Mask of each page's lead block: its first block that is neither flagged in the page
    nor its site's template."""
    candidates = np.flatnonzero(~local & ~inpage)
    lead = np.zeros(len(local), dtype=bool)
    if len(candidates):
        _, first = np.unique(page[candidates], return_index=True)
        lead[candidates[first]] = True
    return lead


def _distinct_groups(keys: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct key, how many distinct labels it occurs with."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((labels, keys))
    k, lab = keys[order], labels[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = (k[1:] != k[:-1]) | (lab[1:] != lab[:-1])
    unique, counts = np.unique(k[first], return_counts=True)
    return unique, counts


def _lookup(unique: np.ndarray, counts: np.ndarray, queries: np.ndarray) -> np.ndarray:
    if len(unique) == 0:
        return np.zeros(len(queries), dtype=np.int64)
    at = np.minimum(np.searchsorted(unique, queries), len(unique) - 1)
    return np.where(unique[at] == queries, counts[at], 0)


class Decision:
    """A page's furniture: per block whether it is, the distinct-group count that made it
    so (0 for content), and the page's lead block (first block after its site's template
    and its own flags; -1 when none).

    A corpus's decisions share two arrays, each page's a run cut by ``bounds`` (``within``)
    and sliced when read: two views a page held were 0.2 GiB at a million pages."""

    __slots__ = ("_bounds", "_counts", "_furniture", "_page", "lead")

    def __init__(self, furniture: np.ndarray, counts: np.ndarray, lead: int) -> None:
        self._furniture, self._counts, self.lead = furniture, counts, lead
        self._bounds: np.ndarray | None = None
        self._page = 0

    @classmethod
    def within(
        cls, furniture: np.ndarray, counts: np.ndarray, bounds: np.ndarray, page: int, lead: int
    ) -> Decision:
        """Page ``page``'s decision among a corpus's (its blocks: ``bounds[page]`` up to
        ``bounds[page + 1]`` of ``furniture`` and ``counts``)."""
        decision = cls(furniture, counts, lead)
        decision._bounds, decision._page = bounds, page
        return decision

    def _run(self, values: np.ndarray) -> np.ndarray:
        if self._bounds is None:
            return values
        return values[self._bounds[self._page] : self._bounds[self._page + 1]]

    @property
    def furniture(self) -> np.ndarray:
        return self._run(self._furniture)

    @property
    def counts(self) -> np.ndarray:
        return self._run(self._counts)


@dataclass(frozen=True)
class _Round:
    furniture: np.ndarray
    counts: np.ndarray
    lead: np.ndarray  # bool per block


def count_round(
    table: BlockTable, labels: np.ndarray, counted: np.ndarray, rules: FurnitureRules
) -> _Round:
    """Furniture per block given each page's copy group and whether the page counts."""
    rows = counted[table.page]
    group = labels[table.page]
    unique, counts = _distinct_groups(table.key[rows], group[rows])
    overall = _lookup(unique, counts, table.key)
    with_site = rows & (table.site_key != 0)
    unique, counts = _distinct_groups(table.site_key[with_site], group[with_site])
    on_site = np.where(table.site_key != 0, _lookup(unique, counts, table.site_key), 0)
    local = on_site >= rules.site_min_groups
    lead = lead_blocks(local, table.inpage, table.page)
    unique, counts = _distinct_groups(table.key[lead], group[lead])
    leads_of = _lookup(unique, counts, table.key)
    wide = (overall >= rules.min_groups) & ~(lead & (leads_of <= 1))
    furniture = wide | local
    return _Round(furniture, np.where(wide, overall, np.where(furniture, on_site, 0)), lead)


def site_repeats(sketches: Sequence[Sketch], sites: Sequence[int | None]) -> list[np.ndarray]:
    """Per page, its blocks that recur on another page of its site (whatever the pages'
    texts): what two pages of one site are not compared on."""
    table = block_table(sketches, sites)
    with_site = table.site != 0
    unique, counts = _distinct_groups(table.site_key[with_site], table.page[with_site])
    repeated = with_site & (_lookup(unique, counts, table.site_key) >= 2)
    return _split(repeated, table.bounds)


def seed_round(table: BlockTable, rules: FurnitureRules) -> _Round:
    """Where a corpus starts, before its copies are known: each site's template, the blocks
    on several pages of one site that at most ``seed_sites`` sites carry. (A block on many
    sites may be a story's text carried by its copies; whether it is furniture waits for
    the copy groups.)"""
    with_site = table.site != 0
    unique, counts = _distinct_groups(table.site_key[with_site], table.page[with_site])
    on_site = np.where(with_site, _lookup(unique, counts, table.site_key), 0)
    unique, spread = _distinct_groups(table.key[with_site], table.site[with_site].view(np.int64))
    sites = _lookup(unique, spread, table.key)
    seed = (on_site >= rules.site_min_groups) & (sites <= rules.seed_sites)
    return _Round(seed, np.where(seed, on_site, 0), lead_blocks(seed, table.inpage, table.page))


Grouping = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]
Extra = Callable[[list[np.ndarray]], list[np.ndarray]]


def learn(
    sketches: Sequence[Sketch],
    sites: Sequence[int | None],
    rules: FurnitureRules,
    group: Grouping,
    extra: Extra | None = None,
) -> list[Decision]:
    """Each page's furniture in a corpus, converged with its copies (blocks its page flags
    are not furniture).

    ``group(masks)`` returns each page's copy group on the text the masks leave, and
    whether that text is long enough to count; ``extra(masks)`` adds blocks that are not
    content given the furniture known so far (list entries quoting other pages)."""
    table = block_table(sketches, sites)

    def with_extra(furniture: np.ndarray) -> np.ndarray:
        if extra is None:
            return furniture
        return furniture | _joined(extra(_split(furniture, table.bounds)), bool)

    def next_round(furniture: np.ndarray) -> tuple[_Round, np.ndarray]:
        labels, counted = group(_split(furniture, table.bounds))
        found = count_round(table, labels, counted, rules)
        return found, with_extra(found.furniture)

    found = seed_round(table, rules)
    furniture = with_extra(found.furniture)
    seen = [np.packbits(furniture)]  # each round's furniture, packed: to see one come back
    for _ in range(rules.max_rounds):
        found, again = next_round(furniture)
        if np.array_equal(again, furniture):
            break
        packed = np.packbits(again)
        back = next((k for k, old in enumerate(seen) if np.array_equal(packed, old)), None)
        if back is not None:
            # A cycle: marking a block takes the only text of pages that made it furniture,
            # so they stop counting and it is content again. Furniture in any state of the
            # cycle is furniture, settled now rather than by the round ``max_rounds`` stops
            # at: the cycle is walked once more for its states and counts (only then, so a
            # corpus that converges keeps no count arrays per round).
            furniture, counts = again.copy(), found.counts
            for _ in range(len(seen) - back - 1):
                found, again = next_round(again)
                furniture |= again
                counts = np.maximum(counts, found.counts)
            found = _Round(furniture, counts, found.lead)
            break
        seen.append(packed)
        furniture = again
    # a block its page flags is no furniture (its own flag covers it): left out here, over
    # the whole table, each page's decision a run of one array, not an array of its own
    furniture = furniture & ~table.inpage
    bounds, counts = table.bounds, found.counts
    return [
        Decision.within(furniture, counts, bounds, page, lead)
        for page, lead in enumerate(first_of_runs(found.lead, bounds).tolist())
    ]


def first_of_runs(marks: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per run of ``marks`` (run ``p``: ``bounds[p]`` up to ``bounds[p + 1]``), the
    position in it of its first True; -1 for a run with none."""
    out = np.full(len(bounds) - 1, -1, dtype=np.int64)
    at = np.flatnonzero(marks)
    if len(at):
        runs = np.searchsorted(bounds, at, side="right") - 1
        first = np.r_[True, runs[1:] != runs[:-1]]
        out[runs[first]] = at[first] - bounds[runs[first]]
    return out


def infer_sites(
    sketches: Sequence[Sketch], sites: Sequence[int | None], rules: FurnitureRules
) -> list[int | None]:
    """A page without a site that carries a site's template belongs to that site: the site
    whose template blocks (see ``seed_round``) it carries most of, at least two of them."""
    table = block_table(sketches, sites)
    seed = seed_round(table, rules).furniture
    template: dict[int, set[int]] = {}
    for key, site in zip(table.key[seed].tolist(), table.site[seed].tolist(), strict=True):
        template.setdefault(key, set()).add(site)
    out = list(sites)
    for p, sketch in enumerate(sketches):
        if sites[p] is not None:
            continue
        votes: dict[int, int] = {}
        for key in set(sketch.keys.view(np.uint64).tolist()):
            for site in template.get(key, ()):
                votes[site] = votes.get(site, 0) + 1
        if votes:
            site, count = max(votes.items(), key=lambda item: (item[1], -item[0]))
            if count >= 2:
                out[p] = int(np.array([site], dtype=np.uint64).view(np.int64)[0])
    return out


def _split(values: np.ndarray, bounds: np.ndarray) -> list[np.ndarray]:
    return [values[bounds[p] : bounds[p + 1]] for p in range(len(bounds) - 1)]


@dataclass(frozen=True)
class Seen:
    """What the store knows of one page's blocks: in how many distinct groups each was seen
    overall, on the page's site, and as a group's lead, with the groups when few."""

    overall: np.ndarray  # int64 per block
    overall_groups: tuple[frozenset[int], ...]
    on_site: np.ndarray  # int64 per block (0 when the page has no site)
    site_groups: tuple[frozenset[int], ...]
    leads: np.ndarray  # int64 per block
    lead_groups: tuple[frozenset[int], ...]
    has_site: bool


def _joined_count(count: int, groups: frozenset[int], joins: int | None) -> int:
    """Distinct groups once the arriving page is counted: one more unless it joins one of
    ``groups`` (``joins`` None: a new group; -1: the page is not counted)."""
    if joins == -1:
        return count
    return count + (joins is None or joins not in groups)


def _counted(counts: np.ndarray, groups: Sequence[frozenset[int]], joins: int | None) -> np.ndarray:
    return np.array(
        [_joined_count(int(n), g, joins) for n, g in zip(counts, groups, strict=True)],
        dtype=np.int64,
    )


def decide(seen: Seen, sketch: Sketch, rules: FurnitureRules, joins: int | None) -> Decision:
    """An arriving page's furniture: the batch rule over the store's counts, the page
    counted as one more group unless it joins (``joins``) a group a block was seen in
    (None: it opens a group; -1: it is not counted)."""
    overall = _counted(seen.overall, seen.overall_groups, joins)
    on_site = (
        _counted(seen.on_site, seen.site_groups, joins)
        if seen.has_site
        else np.zeros(len(sketch), dtype=np.int64)
    )
    local = on_site >= rules.site_min_groups
    lead = lead_blocks(local, sketch.inpage, np.zeros(len(local), dtype=np.int64))
    leads_of = _counted(seen.leads, seen.lead_groups, joins)
    wide = (overall >= rules.min_groups) & ~(lead & (leads_of <= 1))
    furniture = wide | local
    counts = np.where(wide, overall, np.where(furniture, on_site, 0))
    return Decision(furniture, counts, int(np.argmax(lead)) if lead.any() else -1)
