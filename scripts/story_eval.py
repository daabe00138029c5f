"""Section b: same-story similarity on SemEval-2022 English pairs (1 = same story, 4 = unrelated).

Our similarity is the cosine of the engine's lead embeddings (title + clean lead after the
page flags); the naive one embeds the raw title + first words. The decision is scored on
clear pairs only: overall <= 1.5 is positive, > 2.5 negative, pairs in between ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from metrics import PRF, binary, pearson
from naive import naive_text, thresholds
from sources import RatedPair

from service.article import Article
from service.embedder import Embedder
from service.pipeline import cluster_corpus
from service.prepare import prepare
from service.settings import Settings
from service.stories import decayed

SWEEP = thresholds(0.50, 0.80, 0.05)
HALF_LIVES = (7.0, 14.0, 30.0, 60.0)
SAME, DIFFERENT = 1.5, 2.5


def clear(pairs: Sequence[RatedPair]) -> list[tuple[int, bool]]:
    """(index, is same story) of the pairs the decision is scored on."""
    return [
        (i, p.overall <= SAME)
        for i, p in enumerate(pairs)
        if p.overall <= SAME or p.overall > DIFFERENT
    ]


def decide(similarity: Sequence[float], pairs: Sequence[RatedPair], t: float) -> dict[str, float]:
    scored = clear(pairs)
    said = [similarity[i] >= t for i, _ in scored]
    truth = [same for _, same in scored]
    prf: PRF = binary(said, truth)
    right = sum(s == y for s, y in zip(said, truth, strict=True))
    return {**prf.as_dict(), "accuracy": right / max(1, len(scored))}


def cosines(vectors: np.ndarray, ids: Sequence[str], pairs: Sequence[RatedPair]) -> list[float]:
    row = {ident: i for i, ident in enumerate(ids)}
    return [float(vectors[row[p.id1]] @ vectors[row[p.id2]]) for p in pairs]


def time_decayed(
    similarity: Sequence[float],
    articles: Sequence[Article],
    pairs: Sequence[RatedPair],
    settings: Settings,
) -> list[float]:
    """The cosine as the story index weighs it: decayed by the days apart, 0 past the window
    (undated articles count as contemporaneous, as in the engine)."""
    when = {a.id: a.published_at for a in articles}
    out = []
    for sim, p in zip(similarity, pairs, strict=True):
        a, b = when[p.id1], when[p.id2]
        days = abs((a - b).total_seconds()) / 86_400 if a and b else 0.0
        out.append(
            0.0
            if days > settings.story_window_days
            else decayed(sim, days, settings.story_half_life_days)
        )
    return out


def summary(
    similarity: Sequence[float], pairs: Sequence[RatedPair], settings: Settings
) -> dict[str, Any]:
    return {
        "pearson_vs_overall": pearson(similarity, [p.overall for p in pairs]),
        "at_default": decide(similarity, pairs, settings.story_similarity),
        "sweep": {t: decide(similarity, pairs, t) for t in SWEEP},
    }


def evaluate(
    articles: Sequence[Article], pairs: Sequence[RatedPair], settings: Settings, embedder: Embedder
) -> dict[str, Any]:
    ids = [a.id for a in articles]
    leads = [prepare(a, settings.pipeline.page).lead(settings.lead_words) for a in articles]
    ours = cosines(embedder.embed(leads), ids, pairs)
    naive = cosines(
        embedder.embed([naive_text(a, settings.lead_words) for a in articles]), ids, pairs
    )
    run = cluster_corpus(articles, settings.pipeline, embedder)
    story = {a.id: a.story for a in run.answers}
    together = [story[p.id1] == story[p.id2] for p in pairs]
    scored = clear(pairs)
    engine = binary([together[i] for i, _ in scored], [same for _, same in scored])
    return {
        "pairs": len(pairs),
        "clear_pairs": len(scored),
        "positives": sum(same for _, same in scored),
        "ours": summary(ours, pairs, settings),
        "ours_time_decayed": summary(
            time_decayed(ours, articles, pairs, settings), pairs, settings
        ),
        "naive": summary(naive, pairs, settings),
        "half_life_sweep": {
            days: summary(
                time_decayed(
                    ours,
                    articles,
                    pairs,
                    settings.model_copy(update={"story_half_life_days": days}),
                ),
                pairs,
                settings,
            )
            for days in HALF_LIVES
        },
        "engine_story_clusters": engine.as_dict(),
        "pair_cosines": [
            {
                "pair": f"{p.id1}_{p.id2}",
                "overall": p.overall,
                "ours": round(o, 3),
                "naive": round(n, 3),
            }
            for p, o, n in zip(pairs, ours, naive, strict=True)
        ],
    }
