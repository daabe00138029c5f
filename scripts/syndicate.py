"""Seeded syndicated copies of real article bodies, with the edits syndication makes.

No labelled set of wire reprints ships with the data, so we build one whose truth is known
by construction. Originals are real bodies (zyte benchmark gold bodies, SemEval-2022
English texts). Each original gets 0..6 copies (about 40% of the feed are copies), each
copy with a new headline, a dateline or wire credit, a trimmed tail, an inserted or removed
paragraph, re-wrapped paragraphs and a few % of words edited. Every page, original or copy,
is dressed by a fictional outlet: furniture lines that recur on that outlet's pages, related
headlines, photo captions with credit cues (sometimes pasted twice, sometimes also given in
the ``captions`` field). SemEval pairs about the same story are distinct originals, so they
are the hard negatives: they must stay in different duplicate groups; they are published
within a day and a half of each other and make the multi-group stories of the story truth.

The web is harder than that (scripts/templates.py): about a third of the originals are short
stories on a few outlets whose template outweighs them (navigation, a "most read" list
quoting the headlines and first words of other articles of this feed, a trending list,
newsletter and legal text); some copies are scraper reposts with "Source link" furniture,
some arrive before their original; some pages carry no site (no source, no URL) or only a
URL; some are undated.

Originals must be distinct texts. Sources mostly contained in an earlier one are dropped.
A feed larger than the ~340 real bodies allow (the 5,000-article benchmark) gets extra
originals *recombined* from sentences of the real bodies: paragraphs of 2-4 sentences drawn
from a shuffled deck of all sentences (4-50 words; longer runs are paragraphs the splitter
could not cut), so every sentence is reused about equally and no paragraph recurs (it would
look like furniture). A draw that shares over 20% of the smaller text's words with any
earlier text is discarded, so any two originals stay far below copy-level containment. Each
recombined text is its own group in the truth.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from outlets import (
    FILLERS,
    INSERTS,
    Outlet,
    dateline,
    dress,
    fill,
    make_outlets,
    new_headline,
    sentences,
)
from sources import (
    RatedPair,
    Source,
    semeval_pairs,
    semeval_records,
    semeval_sources,
    zyte_pages,
    zyte_sources,
)
from templates import (
    Scraper,
    TemplateOutlet,
    make_scrapers,
    make_template_outlets,
    repost_page,
    shorten,
    template_page,
)

from service.article import Article

SEED = 20260101
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
COPY_FRACTION = 0.4
MAX_COPIES = 6
MAX_SENTENCE_WORDS = 50
MAX_SHARED = 0.2
TEMPLATE_OUTLETS = 4
TEMPLATE_SHARE = 1 / 3
SCRAPERS = 2
REPOST_SHARE = 0.15
NO_SITE = 0.1
URL_ONLY = 0.1
UNDATED = 0.1
SAME_STORY = 1.5
RELATED = 2.5
UNLABELLED = "zyte:"  # the extraction benchmark's pages: no story labels

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SyntheticFeed:
    """Articles in publication order, with the truth: the duplicate group (the original's
    source key) and the story of each article, the story pairs rated different, and the
    publication time each article was given (kept when the page itself is sent undated)."""

    articles: list[Article]
    labels: list[str]
    edits: dict[str, dict[str, float]]
    original_of: dict[str, str]
    stories: list[str]
    different: set[frozenset[str]]
    times: list[datetime]

    def story_scored(self, a: object, b: object) -> bool:
        """Whether the truth settles that two different stories are different: SemEval
        stories rated different (overall > 2.5), or stories from the two data sets. Two
        SemEval articles of different pairs may well be on one event (several pairs are),
        and the extraction benchmark holds several outlets' pages per event with no story
        labels: those pairs are not scored."""
        if frozenset((a, b)) in self.different:
            return True
        return str(a).startswith(UNLABELLED) != str(b).startswith(UNLABELLED)


def _shingles(text: str, size: int = 5) -> set[int]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {hash(tuple(words[i : i + size])) for i in range(max(1, len(words) - size + 1))}


def distinct(
    sources: Sequence[Source], max_containment: float = 0.5, min_words: int = 30
) -> list[Source]:
    """Sources that are neither tiny nor mostly contained in (or containing) a kept one."""
    kept: list[tuple[Source, set[int]]] = []
    for source in sources:
        text = " ".join(source.paragraphs)
        if len(text.split()) < min_words:
            continue
        mine = _shingles(text)
        if all(
            len(mine & other) < max_containment * min(len(mine), len(other)) for _, other in kept
        ):
            kept.append((source, mine))
    return [source for source, _ in kept]


def _deck(sources: Sequence[Source]) -> list[tuple[int, str]]:
    """(owner, sentence) of every sentence short enough to be a sentence: a longer run is a
    paragraph the splitter could not cut, and reusing it would copy its whole source."""
    return [
        (owner, text)
        for owner, source in enumerate(sources)
        for paragraph in source.paragraphs
        for text in sentences(paragraph)
        if 4 <= len(text.split()) <= MAX_SENTENCE_WORDS
    ]


def recombined(sources: Sequence[Source], count: int, rng: random.Random) -> list[Source]:
    """``count`` extra originals, each a new text made of sentences of the real bodies.
    A draw sharing over MAX_SHARED of the words of the smaller text with any earlier text
    (real or recombined) is discarded, so every original is distinct by construction."""
    deck = list(enumerate(_deck(sources)))
    words = [len(" ".join(source.paragraphs).split()) for source in sources]
    holders = {sid: [owner] for sid, (owner, _) in deck}
    lengths = [sum(len(sentences(p)) for p in source.paragraphs) for source in sources]
    at = len(deck)

    def draw() -> tuple[int, str]:
        nonlocal at
        if at == len(deck):
            rng.shuffle(deck)
            at = 0
        at += 1
        sid, (_, text) = deck[at - 1]
        return sid, text

    made: list[Source] = []
    for _ in range(50 * count):
        if len(made) == count:
            break
        picked = dict(draw() for _ in range(min(30, max(6, rng.choice(lengths)))))
        size = sum(len(text.split()) for text in picked.values())
        shared: Counter[int] = Counter()
        for sid, text in picked.items():
            for holder in holders[sid]:
                shared[holder] += len(text.split())
        if any(n > MAX_SHARED * min(size, words[h]) for h, n in shared.items()):
            continue
        for sid in picked:
            holders[sid].append(len(words))
        words.append(size)
        texts = list(picked.values())
        paragraphs: list[str] = []
        while texts:
            take = rng.randint(2, 4)
            paragraphs.append(" ".join(texts[:take]))
            texts = texts[take:]
        title = " ".join(draw()[1].split()[: rng.randint(6, 12)]).rstrip(".,;:")
        made.append(Source(f"mix:{len(made)}", title, tuple(paragraphs)))
    if len(made) < count:
        raise ValueError(f"only {len(made)} of {count} distinct recombined originals")
    return made


def copy_counts(
    originals: int, copies: int, rng: random.Random, max_copies: int = MAX_COPIES
) -> list[int]:
    """Copies per original: some get none, others 1..max; the total is exactly ``copies``."""
    share = min(1.0, copies / max(1, originals) / ((1 + max_copies) / 2))
    counts = [rng.randint(1, max_copies) if rng.random() < share else 0 for _ in range(originals)]
    while sum(counts) > copies:
        i = rng.randrange(originals)
        counts[i] -= counts[i] > 0
    while sum(counts) < copies:
        i = rng.randrange(originals)
        counts[i] += counts[i] < max_copies
    return counts


def edit_words(paragraph: str, rate: float, vocabulary: Sequence[str], rng: random.Random) -> str:
    """Substitute, delete or insert about ``rate`` of the words."""
    out: list[str] = []
    for word in paragraph.split():
        roll = rng.random()
        if roll < rate * 0.5:
            out.append(rng.choice(vocabulary))
        elif roll < rate * 0.8:
            continue
        elif roll < rate:
            out.extend([word, rng.choice(FILLERS)])
        else:
            out.append(word)
    return " ".join(out) or paragraph


def trim_tail(paragraphs: list[str], share: float) -> list[str]:
    """Drop the last ``share`` of paragraphs (of sentences, when there are under three)."""
    units = paragraphs if len(paragraphs) >= 3 else sentences(" ".join(paragraphs))
    keep = max(1, len(units) - max(1, round(share * len(units))))
    return units[:keep] if len(paragraphs) >= 3 else [" ".join(units[:keep])]


def rewrap(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Join two neighbouring paragraphs, or split one at a sentence: re-flowed copy."""
    out = list(paragraphs)
    at = rng.randrange(len(out))
    parts = sentences(out[at])
    if len(parts) > 1 and (rng.random() < 0.5 or len(out) == 1):
        cut = rng.randint(1, len(parts) - 1)
        out[at : at + 1] = [" ".join(parts[:cut]), " ".join(parts[cut:])]
    elif len(out) > 1:
        at = min(at, len(out) - 2)
        out[at : at + 2] = [out[at] + " " + out[at + 1]]
    return out


def syndicate(
    source: Source, outlet: Outlet, rng: random.Random
) -> tuple[str, list[str], dict[str, float]]:
    """A copy's headline and body lines before dressing, and the edits made."""
    paragraphs = list(source.paragraphs)
    edits: dict[str, float] = {}
    if rng.random() < 0.8:
        rate = rng.uniform(0.005, 0.04)
        vocabulary = " ".join(paragraphs).split()
        paragraphs = [edit_words(p, rate, vocabulary, rng) for p in paragraphs]
        edits["word_edits"] = rate
    if rng.random() < 0.6:
        share = rng.uniform(0.1, 0.5)
        paragraphs = trim_tail(paragraphs, share)
        edits["trim"] = share
    if rng.random() < 0.3 and len(paragraphs) >= 3:
        del paragraphs[rng.randrange(1, len(paragraphs))]
        edits["removed_paragraph"] = 1.0
    if rng.random() < 0.3:
        paragraphs.insert(rng.randint(1, len(paragraphs)), fill(rng.choice(INSERTS), outlet, rng))
        edits["inserted_paragraph"] = 1.0
    if rng.random() < 0.2:
        paragraphs = rewrap(paragraphs, rng)
        edits["rewrap"] = 1.0
    if rng.random() < 0.6:
        paragraphs = dateline(paragraphs, rng)
        edits["dateline"] = 1.0
    return new_headline(source.title, source.paragraphs[0], outlet, rng), paragraphs, edits


def _owner_check(sources: Sequence[Source]) -> Callable[[Sequence[str], str], bool]:
    """Whether a shortened text is still its source's own: a recombined feed reuses the
    sentences of the real bodies, so a story cut to its first sentences could be mostly
    another original's text (a copy of it), which the truth calls distinct."""
    holders: dict[int, set[str]] = {}
    for source in sources:
        for shingle in _shingles(" ".join(source.paragraphs)):
            holders.setdefault(shingle, set()).add(source.key)

    def owns(paragraphs: Sequence[str], key: str) -> bool:
        mine = _shingles(" ".join(paragraphs))
        shared: Counter[str] = Counter()
        for shingle in mine:
            shared.update(holders.get(shingle, set()) - {key})
        return all(n < MAX_SHARED * len(mine) for n in shared.values())

    return owns


def _story_truth(
    keys: Sequence[str], pairs: Sequence[RatedPair]
) -> tuple[dict[str, str], set[frozenset[str]]]:
    """Story label per original: SemEval pairs rated the same story (overall <= 1.5) share
    one; the pairs of story labels rated different (overall > 2.5)."""
    present = set(keys)
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    different: set[frozenset[str]] = set()
    for p in pairs:
        a, b = f"semeval:{p.id1}", f"semeval:{p.id2}"
        if a not in present or b not in present:
            continue
        if p.overall <= SAME_STORY:
            ra, rb = sorted((find(a), find(b)))
            parent[rb] = ra
        elif p.overall > RELATED:
            different.add(frozenset((a, b)))
    story = {k: find(k) for k in keys}
    return story, {frozenset(story[k] for k in pair) for pair in different}


def _times(
    sources: Sequence[Source], pairs: Sequence[RatedPair], rng: random.Random
) -> list[datetime]:
    """Publication times over ten days; a SemEval pair about one story lands within a
    day and a half of each other, as coverage of one event does."""
    when = {s.key: START + timedelta(days=rng.uniform(0, 10)) for s in sources}
    for p in pairs:
        a, b = f"semeval:{p.id1}", f"semeval:{p.id2}"
        if a in when and b in when and p.overall <= RELATED:
            when[b] = when[a] + timedelta(hours=rng.uniform(-36, 36))
    return [when[s.key] for s in sources]


def _site_and_date(article: Article, rng: random.Random) -> Article:
    """Some pages come without a site (no source, no URL) or with a URL only, some undated."""
    roll = rng.random()
    if roll < NO_SITE:
        article = replace(article, source=None, url=None)
    elif roll < NO_SITE + URL_ONLY:
        article = replace(article, source=None)
    if rng.random() < UNDATED:
        article = replace(article, published_at=None)
    return article


@dataclass
class _Page:
    when: datetime
    key: str
    k: int
    outlet: object
    title: str
    lines: list[str]
    edits: dict[str, float]


def build_feed(
    sources: Sequence[Source],
    copies: int,
    rng: random.Random,
    pairs: Sequence[RatedPair] = (),
) -> SyntheticFeed:
    """Every source once as an original plus ``copies`` edited copies, in publication order.
    About a third of the originals are short stories on template outlets; some copies are
    scraper reposts."""
    outlets = make_outlets(rng)
    heavy = make_template_outlets(rng, TEMPLATE_OUTLETS)
    owns = _owner_check(sources)
    scrapers = make_scrapers(rng, SCRAPERS)
    titles = [s.title for s in sources if s.title]
    pages: list[_Page] = []
    bodies: dict[str, tuple[str, list[str]]] = {}
    for source, count, when in zip(
        sources, copy_counts(len(sources), copies, rng), _times(sources, pairs, rng), strict=True
    ):
        templated = rng.random() < TEMPLATE_SHARE
        body = list(source.paragraphs)
        if templated:
            body = shorten(source.paragraphs, rng, sentences)
            if not owns(body, source.key):  # its opening sentences are another text's too
                templated, body = False, list(source.paragraphs)
        home: object = rng.choice(heavy) if templated else rng.choice(outlets)
        bodies[source.key] = (source.title, body)
        pages.append(_Page(when, source.key, 0, home, source.title, body, {}))
        base = replace(source, paragraphs=tuple(body))
        for k in range(1, count + 1):
            if rng.random() < REPOST_SHARE:
                title, lines, edits = base.title, list(body), {"repost": 1.0}
                outlet: object = rng.choice(scrapers)
            else:
                outlet = rng.choice([o for o in outlets if o is not home])
                title, lines, edits = syndicate(base, outlet, rng)  # type: ignore[arg-type]
            late = rng.uniform(-6, 0) if rng.random() < 0.15 else rng.uniform(0.5, 48)
            pages.append(
                _Page(when + timedelta(hours=late), source.key, k, outlet, title, lines, edits)
            )
    pages.sort(key=lambda page: page.when)
    keys = list(bodies)
    lists: dict[tuple[str, int], list[str]] = {}
    built: list[tuple[_Page, Article]] = []
    for n, page in enumerate(pages):
        outlet = page.outlet
        given: list[str] = []
        dressed: dict[str, float] = {}
        if isinstance(outlet, TemplateOutlet):
            day = (outlet.name, (page.when - START).days)
            if day not in lists:
                lists[day] = rng.sample(keys, outlet.list_size)
            chosen = [k for k in lists[day] if k != page.key]
            if rng.random() < 0.5:
                chosen[rng.randrange(len(chosen))] = rng.choice(keys)
            others = [k for k in rng.sample(keys, 6) if k != page.key][:5]
            lines = template_page(
                page.lines, outlet, [bodies[k] for k in chosen], [bodies[k][0] for k in others]
            )
            dressed["template"] = 1.0
            domain = outlet.domain
        elif isinstance(outlet, Scraper):
            lines, domain = repost_page(page.lines, outlet, rng), outlet.domain
        else:
            assert isinstance(outlet, Outlet)
            lines, given, dressed = dress(page.lines, outlet, rng.sample(titles, 4), rng)
            domain = outlet.domain
        slug = "-".join(_WORD.findall(page.title.lower())[:6]) or "story"
        article = Article(
            id="",
            text="\n\n".join(lines),
            title=page.title,
            url=f"https://{domain}/news/{slug}-{n}-{page.k}",
            source=domain,
            published_at=page.when,
            captions=tuple(given),
        )
        built.append((replace(page, edits={**page.edits, **dressed}), _site_and_date(article, rng)))
    story_of, different = _story_truth(keys, pairs)
    articles: list[Article] = []
    labels: list[str] = []
    edits_of: dict[str, dict[str, float]] = {}
    original_of: dict[str, str] = {}
    first: dict[str, str] = {}
    for i, (page, article) in enumerate(built):
        ident = f"art{i:05d}"
        articles.append(replace(article, id=ident))
        labels.append(page.key)
        if page.k == 0:
            first[page.key] = ident
        else:
            edits_of[ident] = page.edits
    for ident, key in zip((a.id for a in articles), labels, strict=True):
        if ident in edits_of:
            original_of[ident] = first[key]
    times = [page.when for page, _ in built]
    return SyntheticFeed(
        articles, labels, edits_of, original_of, [story_of[k] for k in labels], different, times
    )


def real_sources(data_dir: Path) -> list[Source]:
    """The distinct real bodies: zyte gold bodies, then SemEval texts."""
    return distinct(
        [*zyte_sources(zyte_pages(data_dir)), *semeval_sources(semeval_records(data_dir))]
    )


def feed(
    sources: Sequence[Source],
    articles: int | None,
    seed: int,
    pairs: Sequence[RatedPair] = (),
) -> SyntheticFeed:
    """The seeded feed: all real sources (or enough recombined ones for ``articles``)."""
    rng = random.Random(seed)
    pool = list(sources)
    if articles is not None:
        originals = round(articles * (1 - COPY_FRACTION))
        if originals > len(pool):
            pool += recombined(sources, originals - len(pool), rng)
        pool = pool[:originals]
        copies = articles - len(pool)
    else:
        copies = round(len(pool) * COPY_FRACTION / (1 - COPY_FRACTION))
    return build_feed(pool, copies, rng, pairs)


def dev_feed(data_dir: Path, seed: int, articles: int | None = None) -> SyntheticFeed:
    """The feed the evaluations use: every distinct real body, SemEval pairs kept close."""
    return feed(real_sources(data_dir), articles, seed, semeval_pairs(data_dir))


def main() -> None:
    """Write a generated feed as JSONL (with a ``truth_group`` field the engine ignores)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSONL")
    args = parser.parse_args()
    made = dev_feed(args.data_dir, args.seed, args.articles)
    with args.out.open("w") as out:
        for article, label, story in zip(made.articles, made.labels, made.stories, strict=True):
            row = {k: v for k, v in article.__dict__.items() if v not in (None, ())}
            row["published_at"] = article.published_at.isoformat() if article.published_at else None
            truth = {"truth_group": label, "truth_story": story}
            out.write(json.dumps({**row, **truth}, ensure_ascii=False) + "\n")
    print(f"{len(made.articles)} articles, {len(made.edits)} copies -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
