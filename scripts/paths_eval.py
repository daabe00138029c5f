"""Section a: duplicate groups and stories on the three paths users run, over several
generator seeds and arrival orders, with the naive baseline beside them.

For each seed the dev feed (scripts/syndicate.py: real bodies, syndicated copies, template
outlets whose "most read" lists quote other articles of the feed, scraper reposts, pages
without a site, undated pages) is sent in each order to:

- ``cluster``: the batch pipeline ``newsdedup cluster`` runs (in this process, with the
  model loaded once);
- the live service: a fresh ``newsdedup serve`` process, ``POST /v1/articles`` in batches
  of 32: the answers as returned (``service``), and as ``GET /v1/articles/{id}`` gives them
  once the whole feed is in (``service_held``: a later page that copies two groups has
  joined them);
- the store after ``newsdedup reindex`` (a separate process, retention covering the whole
  feed), read back with ``GET /v1/articles/{id}`` from a restarted service.

Orders: ``publication`` (undated articles first, then by time), ``copies_first`` (every copy
before every original), ``random``. Scores: pairwise precision / recall / F1 of duplicate
groups (truth: the original each copy was made from) and of stories (truth: copies are
their original's story, SemEval pairs rated the same story join; scored as different:
SemEval pairs rated different, and stories from the two data sets; not scored: the
extraction benchmark's pages among themselves, which hold several outlets' pages per event
with no story labels, and SemEval articles of different pairs, several of which are about
one event), and B-cubed F1 of duplicate groups. The naive baseline embeds every article's title and first
words and joins the most similar earlier article at its best cosine on this feed (greedy,
in the same order).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from metrics import bcubed, pairwise, pairwise_scored
from naive import fairest, greedy_groups, naive_text, nearest_earlier, sweep, thresholds
from server import start_server, stop_server
from syndicate import SyntheticFeed, dev_feed

from service.article import Article
from service.embedding import Embedder
from service.pipeline import cluster_corpus
from service.settings import Settings

ORDERS = ("publication", "copies_first", "random")
BATCH = 32
NAIVE_THRESHOLDS = thresholds(0.50, 0.99, 0.01)


def arrival(made: SyntheticFeed, order: str, seed: int) -> list[int]:
    """Indexes of the feed's articles in the order they are sent."""
    n = len(made.articles)
    if order == "publication":
        return sorted(range(n), key=lambda i: (made.articles[i].published_at is not None, i))
    if order == "copies_first":
        return sorted(range(n), key=lambda i: (made.articles[i].id not in made.original_of, i))
    if order == "random":
        return random.Random(seed).sample(range(n), n)
    raise ValueError(f"unknown order '{order}'")


def as_json(article: Article) -> dict[str, Any]:
    row: dict[str, Any] = {"id": article.id, "text": article.text, "title": article.title}
    for name in ("url", "source"):
        if getattr(article, name):
            row[name] = getattr(article, name)
    if article.published_at is not None:
        row["published_at"] = article.published_at.isoformat()
    if article.captions:
        row["captions"] = list(article.captions)
    return row


def scores(
    made: SyntheticFeed, groups: Mapping[str, object], stories: Mapping[str, object]
) -> dict[str, float]:
    ids = [a.id for a in made.articles]
    dup = pairwise([groups[i] for i in ids], made.labels)
    story = pairwise_scored([stories[i] for i in ids], made.stories, made.story_scored)
    return {
        "dup_p": dup.precision,
        "dup_r": dup.recall,
        "dup_f1": dup.f1,
        "dup_b3": bcubed([groups[i] for i in ids], made.labels).f1,
        "story_p": story.precision,
        "story_r": story.recall,
        "story_f1": story.f1,
    }


def run_cluster(
    made: SyntheticFeed, order: Sequence[int], settings: Settings, model: Embedder
) -> dict[str, float]:
    run = cluster_corpus([made.articles[i] for i in order], settings.pipeline, model)
    groups = {a.id: a.duplicate_group for a in run.answers}
    stories = {a.id: a.story for a in run.answers}
    return scores(made, groups, stories)


def stored_answers(base: str, ids: Sequence[str]) -> tuple[dict[str, object], dict[str, object]]:
    groups, stories = {}, {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for ident in ids:
            answer = client.get(f"/v1/articles/{ident}").raise_for_status().json()
            groups[ident], stories[ident] = answer["duplicate_group"], answer["story"]
    return groups, stories


def run_service(
    made: SyntheticFeed, order: Sequence[int], data: Path
) -> tuple[dict[str, float], dict[str, float], dict[str, float], float]:
    """The live service's answers as it gave them, then as it holds them once the feed is
    in (a later copy of two groups joins them), then the store's after a reindex; and the
    reindex time."""
    settings = {"retention_days": "36500"}
    proc, base = start_server(data, **settings)
    groups: dict[str, object] = {}
    stories: dict[str, object] = {}
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            for start in range(0, len(order), BATCH):
                body = [as_json(made.articles[i]) for i in order[start : start + BATCH]]
                for answer in (
                    client.post("/v1/articles", json=body).raise_for_status().json()["articles"]
                ):
                    groups[answer["id"]] = answer["duplicate_group"]
                    stories[answer["id"]] = answer["story"]
        held = scores(made, *stored_answers(base, [a.id for a in made.articles]))
    finally:
        stop_server(proc)
    live = scores(made, groups, stories)
    env = dict(os.environ, NEWSDEDUP_DATA_DIR=str(data), NEWSDEDUP_RETENTION_DAYS="36500")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "service.cli", "reindex"],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    proc, base = start_server(data, **settings)
    try:
        groups, stories = stored_answers(base, [a.id for a in made.articles])
    finally:
        stop_server(proc)
    return live, held, scores(made, groups, stories), seconds


def run_naive(made: SyntheticFeed, order: Sequence[int], vectors: np.ndarray) -> dict[str, float]:
    """The baseline at its best threshold for duplicates on this feed, in this order."""
    ordered = vectors[list(order)]
    best, sims = nearest_earlier(ordered)
    truth = [made.labels[i] for i in order]
    threshold = fairest(sweep(best, sims, truth, NAIVE_THRESHOLDS))
    predicted = greedy_groups(best, sims, threshold)
    ids = [made.articles[i].id for i in order]
    groups = dict(zip(ids, predicted, strict=True))
    return scores(made, groups, groups) | {"threshold": threshold}


def evaluate(
    data_dir: Path,
    seeds: Sequence[int],
    orders: Sequence[str],
    settings: Settings,
    model: Embedder,
    log: Any = print,
) -> dict[str, Any]:
    """Every path on every (seed, order): the figures, then their minimum and mean."""
    runs: list[dict[str, Any]] = []
    for seed in seeds:
        made = dev_feed(data_dir, seed)
        naive_vectors = model.embed([naive_text(a, settings.lead_words) for a in made.articles])
        for order in orders:
            sequence = arrival(made, order, seed)
            started = time.perf_counter()
            row: dict[str, Any] = {"seed": seed, "order": order}
            row["cluster"] = run_cluster(made, sequence, settings, model)
            with tempfile.TemporaryDirectory() as tmp:
                row["service"], row["service_held"], row["reindex"], row["reindex_seconds"] = (
                    run_service(made, sequence, Path(tmp))
                )
            row["naive"] = run_naive(made, sequence, naive_vectors)
            row["seconds"] = round(time.perf_counter() - started, 1)
            log(summary_line(row, len(made.articles), len(made.original_of)))
            runs.append(row)
    return {"runs": runs, "summary": summarise(runs)}


PATHS = ("cluster", "service", "service_held", "reindex", "naive")
FIGURES = ("dup_p", "dup_r", "dup_f1", "dup_b3", "story_p", "story_r", "story_f1")


def summary_line(row: dict[str, Any], articles: int, copies: int) -> str:
    parts = [f"seed {row['seed']} {row['order']:<12} ({articles} articles, {copies} copies)"]
    for path in PATHS:
        r = row[path]
        parts.append(
            f"{path}: dup P {r['dup_p']:.3f} F1 {r['dup_f1']:.3f} | story P {r['story_p']:.3f} "
            f"R {r['story_r']:.3f} F1 {r['story_f1']:.3f}"
        )
    return "\n  ".join(parts) + f"\n  [{row['seconds']} s; reindex {row['reindex_seconds']:.1f} s]"


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per path and figure: the minimum and the mean over all runs."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for path in PATHS:
        out[path] = {}
        for figure in FIGURES:
            values = [r[path][figure] for r in runs]
            out[path][figure] = {"min": min(values), "mean": float(np.mean(values))}
    story_ok = [r["reindex"]["story_f1"] >= r["service"]["story_f1"] for r in runs]
    out["checks"] = {
        "reindex_story_f1_at_least_service": {
            "min": float(all(story_ok)),
            "mean": float(np.mean(story_ok)),
        }
    }
    return out
