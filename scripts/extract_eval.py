"""Section d: does our text preparation keep the article body and drop the rest?

Scored against the zyte benchmark's gold bodies, in the benchmark's own way (4-gram
shingles, case kept) and as a lowercase bag of words, for plain trafilatura (what prepare
builds on), our extracted text before flags, our clean text after the page flags, and after
boilerplate learned across all pages of the set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import trafilatura
from metrics import mean_overlap, text_overlap
from sources import ExtractionPage
from standin import NullEmbedder
from timing import Stopwatch

from service.article import Article
from service.pipeline import CorpusRun, cluster_corpus
from service.prepare import prepare
from service.settings import Settings


def _plain(text: str) -> str:
    return " ".join(text.split())


def flag_damage(run: CorpusRun, golds: Sequence[str]) -> dict[str, Any]:
    """Flags whose text stands in the gold body (article text we removed), by kind."""
    in_gold: Counter[str] = Counter()
    total: Counter[str] = Counter()
    examples: list[str] = []
    for answer, gold in zip(run.answers, golds, strict=True):
        body = _plain(gold)
        for flag in answer.flags:
            total[flag.kind] += 1
            if _plain(flag.text) in body:
                in_gold[flag.kind] += 1
                if len(examples) < 12:
                    examples.append(f"{flag.kind}: {flag.text[:110]}")
    return {
        "flags": dict(total),
        "flags_inside_gold": dict(in_gold),
        "examples": examples,
    }


def scores(golds: Sequence[str], texts: Sequence[str]) -> dict[str, dict[str, float]]:
    return {
        "benchmark_4gram": mean_overlap(
            [text_overlap(g, t) for g, t in zip(golds, texts, strict=True)]
        ).as_dict(),
        "bag_of_words": mean_overlap(
            [text_overlap(g, t, n=1, lower=True) for g, t in zip(golds, texts, strict=True)]
        ).as_dict(),
    }


KEEP_REPEAT_SWEEP = (1, 10, 20, 40)


def keep_repeat_sweep(
    pages: Sequence[ExtractionPage], settings: Settings
) -> dict[int, dict[str, dict[str, float]]]:
    """Clean text (page flags) as ``keep_repeat_words`` varies: the shortest repeated block
    that keeps its first occurrence (shorter ones are dropped entirely)."""
    out = {}
    for words in KEEP_REPEAT_SWEEP:
        tuned = settings.model_copy(update={"keep_repeat_words": words})
        texts = [
            prepare(Article(id=p.key, html=p.html, url=p.url), tuned.pipeline.page).clean_text
            for p in pages
        ]
        out[words] = scores([p.gold for p in pages], texts)
    return out


def evaluate(pages: Sequence[ExtractionPage], settings: Settings) -> dict[str, Any]:
    watch = Stopwatch()
    plain = [watch.timed("trafilatura", trafilatura.extract)(p.html) or "" for p in pages]
    articles = [Article(id=p.key, html=p.html, url=p.url) for p in pages]
    prepared = [watch.timed("prepare", prepare)(a, settings.pipeline.page) for a in articles]
    corpus = watch.timed("corpus run", cluster_corpus)(articles, settings.pipeline, NullEmbedder())
    golds = [p.gold for p in pages]
    variants = {
        "trafilatura.extract (defaults)": plain,
        "prepare's trafilatura text, no flags": [page.text for page in prepared],
        "ours: clean text, page flags": [page.clean_text for page in prepared],
        "ours: clean text, + corpus furniture": [corpus.clean_text(i) for i in range(len(pages))],
    }
    return {
        "pages": len(pages),
        "variants": {name: scores(golds, texts) for name, texts in variants.items()},
        "flag_damage": flag_damage(corpus, golds),
        "keep_repeat_words_sweep": keep_repeat_sweep(pages, settings),
        "seconds": dict(watch.seconds),
    }
