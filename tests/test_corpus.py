"""End to end on the planted sample feed with the real model, FAISS and flags."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping

import pytest

from samples.make_sample_feed import feed
from service.article import parse_article
from service.corpus import CorpusRun, cluster_corpus
from service.embedder import Embedder
from service.settings import Settings


def _partition(labels: Mapping[str, object]) -> set[frozenset[str]]:
    parts: dict[object, set[str]] = defaultdict(set)
    for key, label in labels.items():
        parts[label].add(key)
    return {frozenset(p) for p in parts.values()}


@pytest.fixture(scope="module")
def run(model: Embedder) -> CorpusRun:
    settings = Settings()
    return cluster_corpus([parse_article(row, settings) for row in feed()], settings, model)


def test_copies_and_stories_match_the_planted_truth(run: CorpusRun) -> None:
    ids = [r.id for r in run.results]
    groups = {r.id: r.assignment.group for r in run.results}
    stories = {r.id: r.assignment.story for r in run.results}
    assert _partition(groups) == _partition({i: i.rsplit("-", 1)[0] for i in ids})
    assert _partition(stories) == _partition({i: i.split("-")[0] for i in ids})


def test_copies_skip_the_model_and_point_at_the_canonical(run: CorpusRun) -> None:
    by_id = {r.id: r for r in run.results}
    assert run.embedded == len({r.assignment.group for r in run.results})
    copy = by_id["bridge-wire-2"]
    assert copy.assignment.is_duplicate and copy.canonical_id == "bridge-wire-1"
    assert copy.assignment.similarity is not None and copy.assignment.similarity >= 0.6
    own = by_id["bridge-own-1"]
    assert not own.assignment.is_duplicate and own.assignment.similarity is not None


def test_flags_in_the_sample_feed(run: CorpusRun) -> None:
    by_id = {r.id: r for r in run.results}
    kinds = {r.id: sorted({f.kind for f in r.flags}) for r in run.results}
    assert kinds["bridge-wire-3"] == ["repeated_caption"]
    assert kinds["library-1"] == ["boilerplate"]
    assert kinds["chess-1"] == []
    disclaimer = next(f for f in by_id["library-1"].flags if f.text.startswith("Disclaimer"))
    assert disclaimer.pages == 4
    assert "Disclaimer" not in by_id["library-1"].page.clean_text


def test_order_of_arrival_does_not_change_the_partition(model: Embedder) -> None:
    settings = Settings()
    articles = [parse_article(row, settings) for row in feed()]
    partitions = []
    for seed in range(3):
        shuffled = (
            articles[::-1] if seed == 0 else random.Random(seed).sample(articles, len(articles))
        )
        run = cluster_corpus(shuffled, settings, model)
        partitions.append(_partition({r.id: r.assignment.group for r in run.results}))
    assert all(p == partitions[0] for p in partitions)


def test_a_copy_bridging_two_fragments_joins_them_in_any_order(model: Embedder) -> None:
    settings = Settings()
    words = " ".join(str(row["text"]) for row in feed()[:1] + feed()[4:5]).split()
    cut = len(words) * 6 // 10
    rows = [
        {"id": "head", "title": "Head", "text": " ".join(words[:cut])},
        {"id": "tail", "title": "Tail", "text": " ".join(words[-cut:])},
        {"id": "full", "title": "Full", "text": " ".join(words)},
    ]
    for order in (rows, rows[::-1], [rows[2], rows[0], rows[1]]):
        run = cluster_corpus([parse_article(r, settings) for r in order], settings, model)
        assert len({r.assignment.group for r in run.results}) == 1
        assert run.embedded == 1
        assert sum(r.assignment.is_duplicate for r in run.results) == 2
