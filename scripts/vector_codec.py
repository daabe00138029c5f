"""The vector index's codec: 16-bit floats against 32-bit ones, on real news vectors.

    python scripts/vector_codec.py DATA_DIR [--queries 2000]

Embeds the real paragraphs in DATA_DIR (as ``ivf_recall.py`` does) with the configured
model and builds the served index both ways, flat and IVF at the planned shape (the same
trained lists for both). Per codec: bytes held per vector, the time of one query at a time
(the live path's search) as a ratio to 32-bit in the same run, recall@10 against the same
index with 32-bit vectors, the largest cosine difference, and how many of the pairs a story
decision reads (neighbours at cosine >= the story threshold) change side.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from ivf_recall import paragraph_vectors

from index.vector_index import build_index, plan_for, trained_ivf
from service.settings import Settings


def timed_search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """One query per call, one thread (as the live service searches); seconds per query."""
    faiss.omp_set_num_threads(1)
    sims, ids = np.zeros((len(queries), k), np.float32), np.zeros((len(queries), k), np.int64)
    started = time.perf_counter()
    for row, query in enumerate(queries):
        s, i = index.search(query.reshape(1, -1), k)
        sims[row], ids[row] = s[0], i[0]
    return sims, ids, (time.perf_counter() - started) / len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    settings = Settings()
    vectors = paragraph_vectors(args.data_dir, settings)
    n, dim = vectors.shape
    ids = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(0)
    queries = vectors[rng.choice(n, size=min(args.queries, n), replace=False)]
    threshold = settings.pipeline.stories.threshold
    print(f"{n} real paragraphs, {len(queries)} queries, story threshold {threshold}")
    ivf_plan = plan_for(n, 0)
    trained = trained_ivf(vectors, ivf_plan, dim)
    wide = faiss.clone_index(trained)  # 32-bit vectors in the same lists
    wide.add_with_ids(vectors, ids)
    exact32 = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    exact32.add_with_ids(vectors, ids)
    pairs = {
        "flat": (exact32, build_index(ids, vectors, plan_for(n, n), dim).faiss_index),
        f"ivf ({ivf_plan.describe()})": (
            wide,
            build_index(ids, vectors, ivf_plan, dim, trained=trained).faiss_index,
        ),
    }
    for name, (full, half) in pairs.items():
        s32, i32, t32 = timed_search(full, queries, 10)
        s16, i16, t16 = timed_search(half, queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i32, i16, strict=True)])
        diff = float(np.abs(s16 - s32).max())
        sides = np.mean((s32 >= threshold) != (s16 >= threshold))
        size32 = len(faiss.serialize_index(full)) / n
        size16 = len(faiss.serialize_index(half)) / n
        print(
            f"{name}: bytes per vector {size32:.0f} -> {size16:.0f}; one query "
            f"{t32 * 1000:.2f} -> {t16 * 1000:.2f} ms ({t16 / t32:.2f}x); recall@10 of 16-bit "
            f"against 32-bit {recall:.4f}; largest cosine difference {diff:.1e}; neighbour "
            f"pairs changing side of the threshold {sides:.5f}"
        )


if __name__ == "__main__":
    main()
