"""End to end on the planted sample feed with the real model, FAISS and flags: the batch
pipeline behind ``newsdedup cluster``."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from samples.make_sample_feed import feed
from service.article import Article, parse_article
from service.embedder import Embedder
from service.pipeline import CorpusRun, cluster_corpus
from service.settings import Settings
from service.voices import headline_form
from tests.pages import SHORT_STORIES


def _partition(labels: Mapping[str, object]) -> set[frozenset[str]]:
    parts: dict[object, set[str]] = defaultdict(set)
    for key, label in labels.items():
        parts[label].add(key)
    return {frozenset(p) for p in parts.values()}


def _articles(settings: Settings) -> list[Article]:
    return [parse_article(row, settings.limits) for row in feed()]


@pytest.fixture(scope="module")
def run(model: Embedder) -> CorpusRun:
    settings = Settings()
    return cluster_corpus(_articles(settings), settings.pipeline, model)


def test_copies_and_stories_match_the_planted_truth(run: CorpusRun) -> None:
    ids = [a.id for a in run.answers]
    groups = {a.id: a.duplicate_group for a in run.answers}
    stories = {a.id: a.story for a in run.answers}
    assert _partition(groups) == _partition({i: i.rsplit("-", 1)[0] for i in ids})
    assert _partition(stories) == _partition({i: i.split("-")[0] for i in ids})


def test_copies_skip_the_model_beyond_their_voices_and_point_at_the_canonical(
    run: CorpusRun,
) -> None:
    by_id = {a.id: a for a in run.answers}
    headlines: dict[int, set[frozenset[str]]] = defaultdict(set)
    for answer, page in zip(run.answers, run.pages, strict=True):
        headlines[answer.duplicate_group].add(headline_form(page.title))
    voices = Settings().story_voices
    assert run.embedded == sum(min(len(h), voices) for h in headlines.values())
    assert run.embedded < len(run.answers)
    copy = by_id["bridge-wire-2"]
    assert copy.is_duplicate and copy.canonical_id == "bridge-wire-1"
    assert copy.similarity is not None and copy.similarity >= 0.6
    original = by_id["bridge-wire-1"]
    assert not original.is_duplicate and original.canonical_id == "bridge-wire-1"
    own = by_id["bridge-own-1"]
    assert not own.is_duplicate and own.similarity is not None  # it joined the story


def test_flags_in_the_sample_feed(run: CorpusRun) -> None:
    by_id = {a.id: (i, a) for i, a in enumerate(run.answers)}
    kinds = {a.id: sorted({f.kind for f in a.flags}) for a in run.answers}
    assert kinds["bridge-wire-3"] == ["repeated_caption"]
    assert kinds["library-1"] == ["boilerplate"]
    assert kinds["chess-1"] == []
    i, library = by_id["library-1"]
    disclaimer = next(f for f in library.flags if f.text.startswith("Disclaimer"))
    assert disclaimer.pages == 4
    assert "Disclaimer" not in run.clean_text(i)


def _answers(run: CorpusRun) -> dict[str, tuple[object, ...]]:
    """Each answer with its group and story named by their members, not their numbers."""
    groups = _partition({a.id: a.duplicate_group for a in run.answers})
    stories = _partition({a.id: a.story for a in run.answers})
    out: dict[str, tuple[object, ...]] = {}
    for a in run.answers:
        group = next(g for g in groups if a.id in g)
        story = next(s for s in stories if a.id in s)
        flags = tuple((f.kind, f.text, f.count, f.pages) for f in a.flags)
        out[a.id] = (group, story, a.canonical_id, a.is_duplicate, a.similarity, flags)
    return out


@hsettings(max_examples=4, deadline=None)
@given(st.randoms(use_true_random=False))
def test_every_arrival_order_gives_the_same_answers(model: Embedder, rng: random.Random) -> None:
    settings = Settings()
    articles = _articles(settings)
    base = _answers(cluster_corpus(articles, settings.pipeline, model))
    shuffled = rng.sample(articles, len(articles))
    assert _answers(cluster_corpus(shuffled, settings.pipeline, model)) == base


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
        articles = [parse_article(r, settings.limits) for r in order]
        run = cluster_corpus(articles, settings.pipeline, model)
        assert len({a.duplicate_group for a in run.answers}) == 1
        assert run.embedded == min(3, settings.story_voices)  # one group, three headlines
        assert sum(a.is_duplicate for a in run.answers) == 2


RELATED_STORIES = [
    (
        "Council confirms new cycle lanes will link the station to the seafront next summer",
        "Work on two kilometres of protected cycle lanes between the station and the seafront "
        "will start in January, the council said, with the route open by July.",
    ),
    (
        "Dunmere hospital opens its new children's ward after a three-year fundraising drive",
        "The children's ward at Dunmere hospital opened on Monday with twenty beds and a "
        "playroom paid for by a three-year appeal that raised two million pounds.",
    ),
    (
        "Kestrel Bay lifeboat crew rescues two walkers cut off by the tide below the cliffs",
        "Two walkers cut off by the rising tide below the Kestrel Bay cliffs were brought to "
        "safety by the lifeboat crew on Sunday evening, the coastguard said.",
    ),
]


def test_a_repost_with_related_links_joins_its_original(model: Embedder) -> None:
    """A scraper repost of a story's first sentence carries related links to other articles
    of the feed, whose headlines outweigh the story: the links are list entries quoting those
    articles, so the repost is compared on the story and joins it (without the related-link
    cue it is a group of its own)."""
    settings = Settings()
    ferry_title, ferry_body = SHORT_STORIES["ferry"]
    rows: list[dict[str, object]] = [
        {"id": "ferry-1", "title": ferry_title, "text": ferry_body, "source": "lantern.example"}
    ]
    for n, (title, body) in enumerate(RELATED_STORIES):
        rows.append({"id": f"other-{n}", "title": title, "text": body, "source": "other.example"})
    first = ferry_body.split(". ")[0] + "."
    links = [
        f"{cue} {title}"
        for cue, (title, _) in zip(
            ["MORE:", "Read more:", "Related -"], RELATED_STORIES, strict=True
        )
    ]
    rows.append(
        {
            "id": "repost-1",
            "title": f"UPDATE: {ferry_title}",
            "text": "\n".join([first, *links]),
            "source": "reposter.example",
        }
    )
    run = cluster_corpus(
        [parse_article(r, settings.limits) for r in rows], settings.pipeline, model
    )
    by_id = {a.id: a for a in run.answers}
    assert by_id["repost-1"].duplicate_group == by_id["ferry-1"].duplicate_group
    flagged = {f.text for f in by_id["repost-1"].flags if f.kind == "boilerplate"}
    assert flagged == set(links)
