"""The story step's neighbour join against the search it replaced, in one run.

    python scripts/join_bench.py --vectors 60000 200000 [--repeat 2]

For each size: unit vectors drawn around topics and stories (as the seeded stores draw
them), the planned IVF trained once; then every vector's 21 nearest at cosine >= 0.6 found
by the join over the lists (``index.neighbour_join.ivf_join``) and by FAISS's IVF search of
an index with the same lists and probes. Prints both times (best of ``--repeat``), the
ratio, and how many of the search's pairs the join found (ties at the 21st place aside,
all of them).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from index.neighbour_join import ivf_join
from index.vector_index import STORY_PROBES, build_index, plan_for, trained_ivf

DIM, K, FLOOR = 384, 21, 0.6
T = TypeVar("T")


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(max(2 * n // 500, 1), DIM)).astype(np.float32)
    stories = topics[rng.integers(0, len(topics), n // 3)]
    stories += rng.normal(scale=0.7, size=stories.shape).astype(np.float32)
    vectors = stories[rng.integers(0, len(stories), n)]
    vectors += rng.normal(scale=0.5, size=vectors.shape).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def timed(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The best wall time of ``repeat`` runs, and the last run's answer."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - started)
    return min(times), out


def measure(n: int, repeat: int) -> str:
    vectors = clustered(n)
    plan = plan_for(n, 0, STORY_PROBES)
    trained = trained_ivf(vectors, plan, DIM)
    index = build_index(np.arange(n), vectors, plan, DIM, trained=trained)
    searched, (sims, ids) = timed(repeat, lambda: index.search(vectors, K))
    joined, (rows, others, _) = timed(repeat, lambda: ivf_join(vectors, trained, K, FLOOR))
    keep = (ids.reshape(-1) >= 0) & (sims.reshape(-1) >= FLOOR)
    asked = np.repeat(np.arange(n), K)[keep].tolist()
    want = set(zip(asked, ids.reshape(-1)[keep].tolist(), strict=True))
    got = set(zip(rows.tolist(), others.tolist(), strict=True))
    found = len(want & got) / max(len(want), 1)
    return (
        f"{n:>8} {plan.describe():>24} {searched:>9.1f} {joined:>7.1f} "
        f"{searched / joined:>5.2f}x {found:>7.5f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, nargs="+", default=[60_000, 200_000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'vectors':>8} {'plan':>24} {'search s':>9} {'join s':>7} {'ratio':>6} {'found':>7}")
    for n in args.vectors:
        print(measure(n, args.repeat), flush=True)


if __name__ == "__main__":
    main()
