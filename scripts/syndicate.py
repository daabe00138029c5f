"""Seeded syndicated copies of real article bodies, with the edits syndication makes.

No labelled set of wire reprints ships with the data, so we build one whose truth is known
by construction. Originals are real bodies (zyte benchmark gold bodies, SemEval-2022
English texts). Each original gets 0..6 copies (about 40% of the feed are copies), each
copy with a new headline, a dateline or wire credit, a trimmed tail, an inserted or removed
paragraph, re-wrapped paragraphs and a few % of words edited. Every page, original or copy,
is dressed by a fictional outlet: furniture lines that recur on that outlet's pages, related
headlines, photo captions with credit cues (sometimes pasted twice, sometimes also given in
the ``captions`` field). SemEval pairs about the same story are distinct originals, so they
are the hard negatives: they must stay in different duplicate groups.

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
from collections.abc import Sequence
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
from sources import Source, semeval_records, semeval_sources, zyte_pages, zyte_sources

from service.article import Article

SEED = 20260101
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
COPY_FRACTION = 0.4
MAX_COPIES = 6
MAX_SENTENCE_WORDS = 50
MAX_SHARED = 0.2

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SyntheticFeed:
    """Articles in arrival order, with the truth: the group (source key) of each article."""

    articles: list[Article]
    labels: list[str]
    edits: dict[str, dict[str, float]]
    original_of: dict[str, str]


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


def build_feed(sources: Sequence[Source], copies: int, rng: random.Random) -> SyntheticFeed:
    """Every source once as an original plus ``copies`` edited copies, in arrival order."""
    outlets = make_outlets(rng)
    titles = [s.title for s in sources if s.title]
    pages: list[tuple[datetime, str, Article, dict[str, float], int]] = []
    for n, (source, count) in enumerate(
        zip(sources, copy_counts(len(sources), copies, rng), strict=True)
    ):
        when = START + timedelta(days=rng.uniform(0, 10))
        home = rng.choice(outlets)
        for k in range(count + 1):
            outlet = home if k == 0 else rng.choice([o for o in outlets if o is not home])
            if k == 0:
                title, lines, edits = source.title, list(source.paragraphs), dict[str, float]()
                at = when
            else:
                title, lines, edits = syndicate(source, outlet, rng)
                late = rng.uniform(-6, 0) if rng.random() < 0.15 else rng.uniform(0.5, 48)
                at = when + timedelta(hours=late)
            lines, given, dressed = dress(lines, outlet, rng.sample(titles, 4), rng)
            slug = "-".join(_WORD.findall(title.lower())[:6]) or "story"
            article = Article(
                id="",
                text="\n\n".join(lines),
                title=title,
                url=f"https://{outlet.domain}/news/{slug}-{n}-{k}",
                source=outlet.domain,
                published_at=at,
                captions=tuple(given),
            )
            pages.append((at, source.key, article, {**edits, **dressed}, k))
    pages.sort(key=lambda page: page[0])
    articles: list[Article] = []
    labels: list[str] = []
    edits_of: dict[str, dict[str, float]] = {}
    original_of: dict[str, str] = {}
    first: dict[str, str] = {}
    for i, (_, key, article, edits, k) in enumerate(pages):
        ident = f"art{i:05d}"
        articles.append(replace(article, id=ident))
        labels.append(key)
        if k == 0:
            first[key] = ident
        else:
            edits_of[ident] = edits
    for ident, key in zip((a.id for a in articles), labels, strict=True):
        if ident in edits_of:
            original_of[ident] = first[key]
    return SyntheticFeed(articles, labels, edits_of, original_of)


def real_sources(data_dir: Path) -> list[Source]:
    """The distinct real bodies: zyte gold bodies, then SemEval texts."""
    return distinct(
        [*zyte_sources(zyte_pages(data_dir)), *semeval_sources(semeval_records(data_dir))]
    )


def feed(sources: Sequence[Source], articles: int | None, seed: int) -> SyntheticFeed:
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
    return build_feed(pool, copies, rng)


def main() -> None:
    """Write a generated feed as JSONL (with a ``truth_group`` field the engine ignores)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSONL")
    args = parser.parse_args()
    made = feed(real_sources(args.data_dir), args.articles, args.seed)
    with args.out.open("w") as out:
        for article, label in zip(made.articles, made.labels, strict=True):
            row = {k: v for k, v in article.__dict__.items() if v not in (None, ())}
            row["published_at"] = article.published_at.isoformat() if article.published_at else None
            out.write(json.dumps({**row, "truth_group": label}, ensure_ascii=False) + "\n")
    print(f"{len(made.articles)} articles, {len(made.edits)} copies -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
