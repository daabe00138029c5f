"""Quality of the engine against a naive baseline measured in the same run, on public data.

    python scripts/evaluate.py DATA_DIR [--seeds 1 2 3 4 5] [--orders publication ...]
                                        [--limit N] [--sections abcde] [--out F.json]

a. duplicate groups and stories on the three paths users run (``cluster``, the live service
   over HTTP, the store after ``newsdedup reindex``), every seed of the dev feed
   (scripts/syndicate.py) in every arrival order, minimum and mean;
b. same-story similarity on SemEval-2022 English pairs;
c. flags against the human block labels of L3S-GN1;
d. clean text against the zyte benchmark's gold bodies;
e. duplicate groups of ``cluster`` in detail on the first seed: misses by edit, hard
   negatives, a containment sweep.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dup_eval import evaluate as evaluate_duplicates
from extract_eval import evaluate as evaluate_extraction
from flag_eval import evaluate as evaluate_flags
from paths_eval import FIGURES, ORDERS, PATHS
from paths_eval import evaluate as evaluate_paths
from report import engine_version, table
from sources import l3s_pages, semeval_articles, semeval_pairs, semeval_records, zyte_pages
from story_eval import evaluate as evaluate_stories
from syndicate import dev_feed

from service.embedder import Embedder, load_embedder
from service.settings import Settings


def section_a(data_dir: Path, settings: Settings, model: Embedder, args: Any) -> dict[str, Any]:
    out = evaluate_paths(data_dir, args.seeds, args.orders, settings, model)
    summary = out["summary"]
    print(f"\n{len(out['runs'])} runs (seeds {args.seeds} x orders {args.orders}): min / mean")
    print(
        table(
            ["path", *FIGURES],
            [
                [
                    path,
                    *(
                        f"{summary[path][f]['min']:.3f} / {summary[path][f]['mean']:.3f}"
                        for f in FIGURES
                    ),
                ]
                for path in PATHS
            ],
        )
    )
    check = summary["checks"]["reindex_story_f1_at_least_service"]
    print(f"story F1 after reindex >= live service's: {check['mean']:.0%} of runs")
    return out


def section_e(data_dir: Path, settings: Settings, model: Embedder, args: Any) -> dict[str, Any]:
    made = dev_feed(data_dir, args.seeds[0])
    out = evaluate_duplicates(made, settings, model, semeval_pairs(data_dir))
    ours, naive = out["ours"], out["naive"]
    print(
        f"{out['articles']} articles, {out['copies']} copies "
        f"({out['copies'] / out['articles']:.0%}), seed {args.seeds[0]}, publication order"
    )
    rows = [
        [
            name,
            side["pairwise"]["precision"],
            side["pairwise"]["recall"],
            side["pairwise"]["f1"],
            side["bcubed_f1"],
            side["ari"],
            side["groups"],
            side["embedded"],
            side["seconds"],
        ]
        for name, side in (
            (f"ours (containment >= {settings.duplicate_containment})", ours),
            (f"naive (cosine >= {naive['threshold']}, its best)", naive),
        )
    ]
    print(
        table(
            [
                "system",
                "pair P",
                "pair R",
                "pair F1",
                "B3 F1",
                "ARI",
                "groups",
                "embedded",
                "seconds",
            ],
            rows,
        )
    )
    picks = [t for t in naive["sweep"] if round(t * 100) % 5 == 0 or t == naive["threshold"]]
    print(
        "naive pairwise F1 by threshold: "
        + ", ".join(f"{t:.2f}: {naive['sweep'][t]['f1']:.3f}" for t in picks)
    )
    edits = sorted(set(ours["miss_rate_by_edit"]) | set(naive["miss_rate_by_edit"]))
    print("\ncopies that missed their original's group, by edit carried:")
    print(
        table(
            ["edit", "copies", "ours missed", "naive missed"],
            [
                [
                    e,
                    ours["miss_rate_by_edit"].get(e, (0, 0.0))[0],
                    f"{ours['miss_rate_by_edit'].get(e, (0, 0.0))[1]:.1%}",
                    f"{naive['miss_rate_by_edit'].get(e, (0, 0.0))[1]:.1%}",
                ]
                for e in edits
            ],
        )
    )
    for name, side in (("ours", ours), ("naive", naive)):
        merged, present = side["hard_negatives_merged"]
        print(
            f"{name}: copies missed {side['copies_missed']}/{out['copies']}; "
            f"SemEval same-story/related pairs merged into one group {merged}/{present}; "
            f"predicted groups mixing distinct originals {side['false_merge_groups']}"
        )
    print(
        f"ours: of {ours['copies_missed']} missed copies, {ours['missed_arrived_first']} "
        "arrived before their original"
    )
    print(
        table(
            [
                "duplicate_containment",
                "pair P",
                "pair R",
                "pair F1",
                "B3 F1",
                "ARI",
                "missed",
                "mixed groups",
            ],
            [
                [
                    v,
                    s["pairwise"]["precision"],
                    s["pairwise"]["recall"],
                    s["pairwise"]["f1"],
                    s["bcubed_f1"],
                    s["ari"],
                    s["copies_missed"],
                    s["false_merge_groups"],
                ]
                for v, s in ours["containment_sweep"].items()
            ],
        )
    )
    for example in ours["miss_examples"][:8]:
        print(f"  missed: {example}")
    for ids in ours["false_merge_examples"]:
        print(f"  merged distinct originals {ids}")
    return out


def section_b(data_dir: Path, settings: Settings, model: Embedder, args: Any) -> dict[str, Any]:
    pairs = semeval_pairs(data_dir)[: args.limit]
    wanted = {i for p in pairs for i in (p.id1, p.id2)}
    articles = [a for a in semeval_articles(semeval_records(data_dir)) if a.id in wanted]
    out = evaluate_stories(articles, pairs, settings, model)
    t = settings.story_similarity
    print(
        f"{out['pairs']} pairs; decision scored on {out['clear_pairs']} clear pairs "
        f"({out['positives']} same story: overall <= 1.5; rest different: overall > 2.5)"
    )
    rows = []
    for name, key in (
        ("ours: lead cosine", "ours"),
        ("ours: time-decayed", "ours_time_decayed"),
        ("naive: raw title+text", "naive"),
    ):
        d = out[key]["at_default"]
        rows.append(
            [
                name,
                out[key]["pearson_vs_overall"],
                d["precision"],
                d["recall"],
                d["f1"],
                d["accuracy"],
            ]
        )
    e = out["engine_story_clusters"]
    rows.append(
        ["ours: same story cluster (full run)", "", e["precision"], e["recall"], e["f1"], ""]
    )
    print(table(["similarity", "Pearson r", f"P@{t}", f"R@{t}", f"F1@{t}", f"acc@{t}"], rows))
    print("(Pearson r against the rating: 1 = same story, 4 = unrelated, so agreement is negative)")
    print(
        table(
            [
                "threshold",
                "ours P",
                "ours R",
                "ours F1",
                "ours acc",
                "naive P",
                "naive R",
                "naive F1",
                "naive acc",
            ],
            [
                [
                    f"{th:.2f}",
                    *(
                        out["ours"]["sweep"][th][k]
                        for k in ("precision", "recall", "f1", "accuracy")
                    ),
                    *(
                        out["naive"]["sweep"][th][k]
                        for k in ("precision", "recall", "f1", "accuracy")
                    ),
                ]
                for th in out["ours"]["sweep"]
            ],
        )
    )
    print(
        f"time decay as the story index applies it (window {settings.story_window_days} days), "
        f"at threshold {t}, by story_half_life_days:"
    )
    print(
        table(
            ["half-life days", "Pearson r", "P", "R", "F1", "acc"],
            [
                [
                    days,
                    r["pearson_vs_overall"],
                    *(r["at_default"][k] for k in ("precision", "recall", "f1", "accuracy")),
                ]
                for days, r in out["half_life_sweep"].items()
            ],
        )
    )
    return out


def section_c(data_dir: Path, settings: Settings, _model: Embedder, args: Any) -> dict[str, Any]:
    pages = l3s_pages(data_dir)[: args.limit]
    out = evaluate_flags(pages, settings)
    print(
        f"{len(pages)} pages, {out['lines']} lines, one corpus run "
        f"(boilerplate_min_groups={settings.boilerplate_min_groups}). Positive = a line labelled "
        "anything but headline/full text\n(not content, supplemental, related, comments; "
        "unlabelled text counts as not content). 'flagged' = a flag span touches the line;\n"
        "'removed' = the line is left out of the clean text (a repeated block of >= "
        f"keep_repeat_words={settings.keep_repeat_words} words is flagged but keeps one copy)."
    )
    f, r = out["flagged_vs_not_content"], out["removed_vs_not_content"]
    rows: list[list[object]] = [
        ["precision: lines that are not article text", f["precision"], r["precision"]],
        ["recall: non-article lines caught", f["recall"], r["recall"]],
        ["F1", f["f1"], r["f1"]],
        [
            "damage: share of flagged lines that are full text",
            out["full_text_share_of_flagged"],
            "",
        ],
    ]
    rows += [
        [f"share of '{lab}' lines", share, out["removed_by_label"][lab]]
        for lab, share in out["flagged_by_label"].items()
    ]
    print(table(["figure", "flagged", "removed"], rows))
    labels = list(out["labels"].values())
    print(
        table(
            ["flag kind (lines)", *labels],
            [
                [kind, *(counts.get(lab, 0) for lab in labels)]
                for kind, counts in out["by_kind"].items()
            ],
        )
    )
    for name, runs in out["sweeps"].items():
        print(
            table(
                [
                    name,
                    "flagged P",
                    "flagged R",
                    "removed P",
                    "removed R",
                    "full text removed",
                    "supplemental removed",
                ],
                [
                    [
                        v,
                        s["flagged"]["precision"],
                        s["flagged"]["recall"],
                        s["removed"]["precision"],
                        s["removed"]["recall"],
                        s["full_text_removed"],
                        s["supplemental_removed"],
                    ]
                    for v, s in runs.items()
                ],
            )
        )
    for key in (
        "full_text_flagged_examples",
        "supplemental_flagged_examples",
        "supplemental_missed_examples",
    ):
        print(f"{key}:")
        for line in out[key][:8]:
            print(f"  {line}")
    return out


def section_d(data_dir: Path, settings: Settings, _model: Embedder, args: Any) -> dict[str, Any]:
    pages = zyte_pages(data_dir)[: args.limit]
    out = evaluate_extraction(pages, settings)
    print(
        f"{out['pages']} pages; token P/R averaged over pages (benchmark: 4-gram shingles, "
        "case kept; bag: lowercase words)"
    )
    print(
        table(
            ["text", "4g P", "4g R", "4g F1", "bag P", "bag R", "bag F1"],
            [
                [
                    name,
                    *(s["benchmark_4gram"][k] for k in ("precision", "recall", "f1")),
                    *(s["bag_of_words"][k] for k in ("precision", "recall", "f1")),
                ]
                for name, s in out["variants"].items()
            ],
        )
    )
    print(
        table(
            ["keep_repeat_words (page flags)", "4g P", "4g R", "4g F1", "bag P", "bag R", "bag F1"],
            [
                [
                    w,
                    *(s["benchmark_4gram"][k] for k in ("precision", "recall", "f1")),
                    *(s["bag_of_words"][k] for k in ("precision", "recall", "f1")),
                ]
                for w, s in out["keep_repeat_words_sweep"].items()
            ],
        )
    )
    damage = out["flag_damage"]
    print(
        f"flags by kind: {damage['flags']}; of them standing inside the gold body: "
        f"{damage['flags_inside_gold']}"
    )
    for line in damage["examples"][:8]:
        print(f"  removed gold text: {line}")
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in out["seconds"].items()))
    return out


SECTIONS: dict[str, tuple[str, Callable[[Path, Settings, Embedder, Any], dict[str, Any]]]] = {
    "a": ("a. duplicate groups and stories: cluster, live service, after reindex", section_a),
    "b": ("b. same story, SemEval-2022 en", section_b),
    "c": ("c. flags vs L3S-GN1 labels", section_c),
    "d": ("d. clean text vs zyte gold bodies", section_d),
    "e": ("e. duplicate groups of cluster in detail, first seed", section_e),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--orders", nargs="+", choices=ORDERS, default=list(ORDERS))
    parser.add_argument("--limit", type=int, default=None, help="items per section (quick run)")
    parser.add_argument("--sections", default="abcde")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    settings = Settings()
    print(f"engine: {engine_version()}")
    print(
        "settings: "
        + ", ".join(
            f"{k}={getattr(settings, k)}"
            for k in (
                "model",
                "backend",
                "lead_words",
                "duplicate_containment",
                "lsh_jaccard",
                "story_similarity",
                "boilerplate_min_groups",
            )
        )
    )
    started = time.perf_counter()
    model = load_embedder(settings)
    print(f"model loaded in {time.perf_counter() - started:.1f} s")
    figures: dict[str, Any] = {"seeds": args.seeds, "limit": args.limit, "seconds": {}}
    for key in args.sections:
        title, run = SECTIONS[key]
        print(f"\n=== {title} ===")
        began = time.perf_counter()
        figures[key] = run(args.data_dir, settings, model, args)
        figures["seconds"][key] = round(time.perf_counter() - began, 1)
        print(f"[section {key}: {figures['seconds'][key]} s]")
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
