"""Reindex time and peak memory on synthetic stores with stored vectors (no re-embedding),
the index type chosen for each size, and recall@10 of that index against exact search.

    python scripts/reindex_bench.py --articles 100000 1000000 [--nights 2] [--json]
    python scripts/reindex_bench.py --articles 1000000 --engine local ray --json

Each size is seeded (scripts/service_seed.py), the model loaded on it once as the service
does when it starts (its one-time ONNX export, ``model_export_s``: not a reindex's cost),
and reindexed in its own process, so the peak resident memory reported is that run's alone.
The first run writes every article once (the evidence seeded rows lack, as the first run
after an upgrade does); with ``--nights N`` the same store is reindexed N - 1 times more, a
night with nothing new. With ``--json`` the last line is one JSON object: ``wall_s``,
``peak_rss_mib``, ``recall_at_10``, ``model_export_s`` and
``steps`` (seconds per step; ``peak_mib_by_step``: the peak RSS when each ended, so the
step that set the peak shows) of the first run, with ``articles``, ``groups``, ``index`` and
``next_nights`` (the same figures of each later run); for several sizes, an object with
``runs``, one such object per size. ``--engine local ray`` runs the first night on each
engine (the others on copies of the seeded store, under ``other_engines``); ``partition``
digests where every article went, so equal digests mean the engines wrote the same groups
and stories.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from service_seed import seed

from index.vector_index import FaissIndex, build_index, plan_for
from service.settings import Settings


def recall_at_10(
    vectors: np.ndarray, flat_max: int, queries: int = 1000, seed: int = 0
) -> tuple[str, float]:
    """Recall@10 of the planned index against exact search, on held vectors as queries."""
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    plan = plan_for(len(vectors), flat_max)
    approximate = build_index(ids, vectors, plan, vectors.shape[1])
    exact = FaissIndex(vectors.shape[1])
    exact.add(ids, vectors)
    rows = np.random.default_rng(seed).choice(
        len(vectors), size=min(queries, len(vectors)), replace=False
    )
    _, want = exact.search(vectors[rows], 10)
    _, got = approximate.search(vectors[rows], 10)
    hits = sum(len(set(w.tolist()) & set(g.tolist())) for w, g in zip(want, got, strict=True))
    return plan.describe(), hits / want.size


def child(data: Path, engine: str) -> None:
    """Run one reindex and print its report with this process's peak memory (on Ray, the
    driver's: the tasks' workers are the cluster's processes), and a digest of where every
    article went (group and story), so that two engines' runs can be compared."""
    from sqlalchemy import text

    from index.runners import runner_for
    from service.embedder import load_embedder
    from service.reindex import Reindex
    from service.store import Store, connect

    settings = Settings(data_dir=data, retention_days=3650)
    store = Store(connect(settings.store_url))
    runner = runner_for(engine)
    started = time.perf_counter()
    report = Reindex(settings.reindex, store, lambda: load_embedder(settings), runner=runner).run()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.id, a.group_id, g.story_id FROM articles a "
                "JOIN groups g ON g.id = a.group_id ORDER BY a.id"
            )
        )
        for row in rows:
            digest.update(f"{row[0]}\t{row[1]}\t{row[2]}\n".encode())
    print(
        json.dumps(
            {
                "report": report.to_json(),
                "seconds": seconds,
                "peak_mib": peak,
                "partition": digest.hexdigest()[:16],
            }
        )
    )


def export_model(data: Path) -> float:
    """Load the model on the seeded data dir as the service does when it starts there: a
    store the service filled holds the model's one-time ONNX export, and the seeder writes
    rows without starting the service. Answers the seconds it took (0 for a backend that
    exports nothing)."""
    from service.embedder import load_embedder

    started = time.perf_counter()
    load_embedder(Settings(data_dir=data))
    return time.perf_counter() - started


def reindex_once(data: Path, engine: str = "local") -> dict[str, Any]:
    """One reindex of the store under ``data`` in its own process."""
    run = subprocess.run(
        [sys.executable, __file__, "--child", str(data), "--engine", engine],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def figures(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "wall_s": round(result["seconds"], 2),
        "peak_rss_mib": round(result["peak_mib"], 1),
        "steps": result["report"]["steps"],
        "peak_mib_by_step": result["report"]["peak_mib"],
        "articles_changed": result["report"]["articles_changed"],
        "partition": result["partition"],
    }


def on_other_engines(data: Path, articles: int, engines: list[str]) -> list[dict[str, Any]]:
    """The first night again on each other engine, each on a copy of the seeded store."""
    out = []
    for engine in engines:
        copy = data.with_name(data.name + "-" + engine)
        shutil.copytree(data, copy)
        try:
            seen = {"engine": engine, **figures(reindex_once(copy, engine))}
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        print(f"{articles} articles on {engine}: {json.dumps(seen)}", flush=True)
        out.append(seen)
    return out


def measure(
    articles: int, nights: int, engines: list[str], page_bytes: int = 0
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        started = time.perf_counter()
        seed(Settings(data_dir=data), articles, page_bytes=page_bytes)
        seeded = time.perf_counter() - started
        exported = export_model(data)
        elsewhere = on_other_engines(data, articles, engines[1:])
        result = reindex_once(data, engines[0])
        report = result["report"]
        print(f"{articles} articles: {json.dumps(result)}", flush=True)
        later = [figures(reindex_once(data, engines[0])) for _ in range(nights - 1)]
        for night, seen in enumerate(later, start=2):
            print(f"{articles} articles, night {night}: {json.dumps(seen)}", flush=True)
        settings = Settings(data_dir=data)
        from service.store import Store, connect

        store = Store(connect(settings.store_url))
        ids = store.vector_ids(settings.vector_version)
        vectors = store.vectors(ids.tolist())
        _, recall = recall_at_10(vectors, settings.flat_max)
    print(
        f"{articles:>9} articles, {report['groups']:>8} groups: reindex {result['seconds']:7.1f} s, "
        f"peak {result['peak_mib']:7.0f} MiB, index {report['index']}, "
        f"recall@10 of the index vs exact {recall:.3f}, re-embedded {report['reembedded']}  "
        f"(steps {report['steps']}; seeding took {seeded:.0f} s, the model's export "
        f"{exported:.0f} s)",
        flush=True,
    )
    return {
        "articles": articles,
        "page_bytes": page_bytes,
        "groups": report["groups"],
        "index": report["index"],
        "engine": engines[0],
        **figures(result),
        "recall_at_10": round(recall, 4),
        "model_export_s": round(exported, 1),
        "next_nights": later,
        "other_engines": elsewhere,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument(
        "--nights",
        type=int,
        default=1,
        help="reindex the same store N times: the first writes what the seeded rows lack "
        "(as the first run after an upgrade does), the next are a night with nothing new",
    )
    parser.add_argument(
        "--engine",
        nargs="+",
        choices=("local", "ray"),
        default=["local"],
        help="run the first night on each engine, the first named being the one reported "
        "(the others under other_engines, each on a copy of the seeded store); ray starts a "
        "local cluster unless RAY_ADDRESS names one",
    )
    parser.add_argument(
        "--page-bytes",
        type=int,
        default=0,
        help="each seeded page's stored input and clean text this long, as a real page's "
        "are (0, the default: its title alone)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.engine[0])
        return
    runs = [
        measure(articles, max(args.nights, 1), args.engine, args.page_bytes)
        for articles in args.articles
    ]
    if args.json:
        print(json.dumps(runs[0] if len(runs) == 1 else {"runs": runs}))


if __name__ == "__main__":
    main()
