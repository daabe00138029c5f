"""Section a: duplicate groups on the seeded syndication set, ours against the naive baseline.

Besides the scores, it says which edits make copies miss their original's group and which
distinct originals were wrongly merged, so a weak spot comes with examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from metrics import ari, bcubed, pairwise
from naive import fairest, greedy_groups, naive_text, nearest_earlier, sweep, thresholds
from sources import RatedPair
from standin import NullEmbedder
from syndicate import SyntheticFeed
from timing import Stopwatch, TimedEmbedder

from service.embedder import Embedder
from service.pipeline import cluster_corpus
from service.settings import Settings

NAIVE_THRESHOLDS = thresholds(0.50, 0.99, 0.01)
CONTAINMENT_SWEEP = (0.4, 0.5, 0.6, 0.7, 0.8)


def scores(predicted: Sequence[object], truth: Sequence[str]) -> dict[str, Any]:
    pairs = pairwise(predicted, truth)
    return {
        "pairwise": pairs.as_dict(),
        "bcubed_f1": bcubed(predicted, truth).f1,
        "ari": ari(predicted, truth),
        "groups": len(set(predicted)),
    }


def missed_copies(made: SyntheticFeed, predicted: Sequence[object]) -> list[str]:
    """Copies placed outside their original's predicted group."""
    where = {a.id: p for a, p in zip(made.articles, predicted, strict=True)}
    return [c for c, o in made.original_of.items() if where[c] != where[o]]


def edit_miss_rates(made: SyntheticFeed, missed: Sequence[str]) -> dict[str, tuple[int, float]]:
    """Per edit: how many copies carry it, and the share of those that missed their group."""
    lost = set(missed)
    carried: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for ident, edits in made.edits.items():
        for name in edits:
            carried[name] += 1
            failed[name] += ident in lost
    return {name: (n, failed[name] / n) for name, n in sorted(carried.items())}


def hard_negatives_merged(
    made: SyntheticFeed, predicted: Sequence[object], pairs: Sequence[RatedPair]
) -> tuple[int, int, list[tuple[str, str]]]:
    """SemEval same-story / related pairs (distinct texts) that share a predicted group."""
    groups: dict[str, set[object]] = {}
    for label, p in zip(made.labels, predicted, strict=True):
        groups.setdefault(label, set()).add(p)
    hard = [p for p in pairs if p.relation in ("same_story", "related")]
    present = [p for p in hard if f"semeval:{p.id1}" in groups and f"semeval:{p.id2}" in groups]
    merged = [
        (p.id1, p.id2) for p in present if groups[f"semeval:{p.id1}"] & groups[f"semeval:{p.id2}"]
    ]
    return len(merged), len(present), merged


def false_merges(made: SyntheticFeed, predicted: Sequence[object]) -> list[list[str]]:
    """Predicted groups that join distinct originals: the article ids of each truth group."""
    members: dict[object, dict[str, list[str]]] = {}
    for article, label, p in zip(made.articles, made.labels, predicted, strict=True):
        members.setdefault(p, {}).setdefault(label, []).append(article.id)
    return [
        [ids[0] for ids in by_label.values()] for by_label in members.values() if len(by_label) > 1
    ]


def run_ours(made: SyntheticFeed, settings: Settings, embedder: Embedder) -> dict[str, Any]:
    watch = Stopwatch()
    timed = TimedEmbedder(embedder, watch)
    run = watch.timed("total", cluster_corpus)(made.articles, settings.pipeline, timed)
    predicted = [a.duplicate_group for a in run.answers]
    return {
        "predicted": predicted,
        "run": run,
        "embedded": run.embedded,
        "seconds": watch.seconds["total"],
        "model_seconds": watch.seconds["model"],
        **scores(predicted, made.labels),
    }


def run_naive(made: SyntheticFeed, settings: Settings, embedder: Embedder) -> dict[str, Any]:
    watch = Stopwatch()
    texts = [naive_text(a, settings.lead_words) for a in made.articles]
    vectors = watch.timed("model", embedder.embed)(texts)
    best, sims = nearest_earlier(vectors)
    table = sweep(best, sims, made.labels, NAIVE_THRESHOLDS)
    threshold = fairest(table)
    predicted = greedy_groups(best, sims, threshold)
    return {
        "predicted": predicted,
        "threshold": threshold,
        "sweep": {t: s.as_dict() for t, s in table},
        "embedded": len(texts),
        "seconds": watch.seconds["model"],
        **scores(predicted, made.labels),
    }


def containment_sweep(made: SyntheticFeed, settings: Settings) -> dict[float, dict[str, Any]]:
    """Our duplicate groups as ``duplicate_containment`` varies (groups need no model)."""
    out = {}
    for value in CONTAINMENT_SWEEP:
        tuned = settings.model_copy(update={"duplicate_containment": value})
        run = cluster_corpus(made.articles, tuned.pipeline, NullEmbedder())
        predicted = [a.duplicate_group for a in run.answers]
        out[value] = scores(predicted, made.labels) | {
            "copies_missed": len(missed_copies(made, predicted)),
            "false_merge_groups": len(false_merges(made, predicted)),
        }
    return out


def miss_examples(
    made: SyntheticFeed, ours: dict[str, Any], missed: Sequence[str]
) -> list[dict[str, Any]]:
    """Why copies missed: their edits, and what their clean texts kept."""
    run = ours["run"]
    where = {a.id: i for i, a in enumerate(run.answers)}
    out = []
    for copy in missed:
        original = made.original_of[copy]
        out.append(
            {
                "copy": copy,
                "original": original,
                "edits": {k: round(v, 3) for k, v in made.edits[copy].items()},
                "clean_words": tuple(
                    len(run.clean_text(where[x]).split()) for x in (copy, original)
                ),
                "arrived_first": copy < original,
                "flags": sorted(Counter(f.kind for f in run.answers[where[copy]].flags).items()),
            }
        )
    return out


def evaluate(
    made: SyntheticFeed, settings: Settings, embedder: Embedder, pairs: Sequence[RatedPair]
) -> dict[str, Any]:
    """Both systems on one feed, with the diagnostics the report needs."""
    ours = run_ours(made, settings, embedder)
    naive = run_naive(made, settings, embedder)
    out: dict[str, Any] = {"articles": len(made.articles), "copies": len(made.original_of)}
    for name, side in (("ours", ours), ("naive", naive)):
        missed = missed_copies(made, side["predicted"])
        merged, present, which = hard_negatives_merged(made, side["predicted"], pairs)
        merges = false_merges(made, side["predicted"])
        out[name] = {k: v for k, v in side.items() if k not in ("predicted", "run")} | {
            "copies_missed": len(missed),
            "miss_rate_by_edit": edit_miss_rates(made, missed),
            "hard_negatives_merged": (merged, present),
            "hard_negative_pairs_merged": which,
            "false_merge_groups": len(merges),
            "false_merge_examples": merges[:8],
        }
        if name == "ours":
            why = miss_examples(made, ours, missed)
            out[name]["miss_examples"] = why[:12]
            out[name]["missed_arrived_first"] = sum(e["arrived_first"] for e in why)
            out[name]["containment_sweep"] = containment_sweep(made, settings)
    return out
