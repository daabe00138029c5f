"""Recall of the IVF index the store plans (``index.vector_index.plan_for``) on real news
vectors, against exact search, at the planned probe count and at smaller ones.

    python scripts/ivf_recall.py DATA_DIR [--queries 3000]

The seeded stores of ``reindex_bench.py`` draw vectors around topics far apart, so every
probe count finds every neighbour there; real vectors are not so kind. This embeds the
paragraphs (25 words or more) of the real bodies in DATA_DIR (the extraction benchmark's
gold bodies, SemEval's texts and L3S-GN1's annotated pages) with the configured model, and
searches them with IVF lists of 4 and 8 x sqrt(n), probing 1/8 of the lists to
1/256. Two recalls: of the 10 nearest (the issue's figure) and of the neighbours among the
20 nearest at cosine >= the story threshold (what the story step keeps). Small n and an
undertrained quantizer (FAISS warns): a proxy for a million vectors, not a measurement of
one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np
from l3s import page_lines
from sources import l3s_pages, semeval_records, semeval_sources, zyte_pages, zyte_sources

from service.embedder import load_embedder
from service.settings import Settings

FRACTIONS = (8, 16, 32, 64, 88, 128, 256)


def paragraphs(data_dir: Path, words: int, min_words: int = 25) -> list[str]:
    """Distinct real paragraphs of at least ``min_words`` words, cut at ``words``."""
    found: list[str] = []
    for source in [
        *zyte_sources(zyte_pages(data_dir)),
        *semeval_sources(semeval_records(data_dir)),
    ]:
        found.extend(source.paragraphs)
    for page in l3s_pages(data_dir):
        found.extend(line.text for line in page_lines(page.html))
    cut = (" ".join(text.split()[:words]) for text in found if len(text.split()) >= min_words)
    return list(dict.fromkeys(cut))


def paragraph_vectors(data_dir: Path, settings: Settings) -> np.ndarray:
    """The real paragraphs' vectors, as the configured model makes them (cut at the lead's
    length, as a group's vector is)."""
    texts = paragraphs(data_dir, settings.lead_words)
    started = time.perf_counter()
    vectors = load_embedder(settings).embed(texts).astype(np.float32)
    print(f"{len(texts)} real paragraphs embedded in {time.perf_counter() - started:.1f} s")
    return vectors


def recalls(
    want: np.ndarray, want_sims: np.ndarray, got: np.ndarray, threshold: float
) -> tuple[float, float]:
    """(recall@10, recall of the 20 nearest at cosine >= threshold) of the search results
    ``got`` against the exact ``want`` (similarities ``want_sims``), the query itself left
    out."""
    top = [
        len(set(w[1:11].tolist()) & set(g.tolist())) / 10 for w, g in zip(want, got, strict=True)
    ]
    close = hit = 0
    for sims, w, g in zip(want_sims, want, got, strict=True):
        near = set(w[1:][sims[1:] >= threshold].tolist())
        close += len(near)
        hit += len(near & set(g.tolist()))
    return float(np.mean(top)), hit / max(close, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--queries", type=int, default=3000)
    args = parser.parse_args()
    settings = Settings()
    vectors = paragraph_vectors(args.data_dir, settings)
    queries = np.random.default_rng(0).choice(
        len(vectors), size=min(args.queries, len(vectors)), replace=False
    )
    threshold = settings.pipeline.stories.threshold
    dim = vectors.shape[1]
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    want_sims, want = exact.search(vectors[queries], 21)
    print(f"{'lists':>6} {'probes':>7} {'share':>7} {'recall@10':>10} {f'cos>={threshold}':>10}")
    for scale in (4, 8):
        lists = int(scale * np.sqrt(len(vectors)))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors)
        ivf.add(vectors)
        for fraction in FRACTIONS:
            ivf.nprobe = max(1, round(lists / fraction))
            _, got = ivf.search(vectors[queries], 21)
            top, close = recalls(want, want_sims, got, threshold)
            share = f"1/{fraction}"
            print(f"{lists:>6} {ivf.nprobe:>7} {share:>7} {top:>10.3f} {close:>10.3f}")


if __name__ == "__main__":
    main()
