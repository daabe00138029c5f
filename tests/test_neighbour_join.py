"""The neighbour join against the searches it stands for: FAISS's IVF search with the same
quantizer and probes, and exact search, each cut at the floor."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from index.neighbour_join import _ranked, askers_of, ivf_join, neighbours
from index.vector_index import IndexPlan, trained_ivf


def _clustered(seed: int, n: int, dim: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 40, dim))
    v = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _as_pairs(
    rows: np.ndarray, others: np.ndarray, cosines: np.ndarray
) -> dict[tuple[int, int], float]:
    return {
        (a, b): c for a, b, c in zip(rows.tolist(), others.tolist(), cosines.tolist(), strict=True)
    }


def _searched(
    index: faiss.Index, vectors: np.ndarray, k: int, floor: float
) -> dict[tuple[int, int], float]:
    sims, found = index.search(vectors, k)
    rows = np.repeat(np.arange(len(vectors)), k)
    keep = (found.reshape(-1) >= 0) & (sims.reshape(-1) >= floor)
    return _as_pairs(rows[keep], found.reshape(-1)[keep], sims.reshape(-1)[keep])


@pytest.mark.parametrize("seed", [0, 1])
def test_the_join_finds_what_ivf_search_finds(seed: int) -> None:
    vectors = _clustered(seed, 2000)
    ivf = trained_ivf(vectors, IndexPlan("ivf", nlist=25, nprobe=3), 32)
    searched = faiss.clone_index(ivf)
    searched.add(vectors)
    expected = _searched(searched, vectors, 11, 0.5)
    rows, others, cosines = ivf_join(vectors, ivf, 11, 0.5)
    got = _as_pairs(rows, others, cosines)
    assert got.keys() == expected.keys()
    assert max(abs(got[p] - expected[p]) for p in got) < 1e-5
    # rows ascending, cosines descending within a row, every row finds itself
    assert np.all(np.diff(rows) >= 0)
    assert all((a, a) in got for a in range(len(vectors)))
    counts = np.bincount(rows, minlength=len(vectors))
    assert counts.max() == 11 and counts.min() < 11  # the k cut and the floor both bite
    same_row = rows[1:] == rows[:-1]
    assert np.all(cosines[1:][same_row] <= cosines[:-1][same_row])


def test_probing_every_list_is_exact_search() -> None:
    vectors = _clustered(2, 1500)
    exact = faiss.IndexFlatIP(32)
    exact.add(vectors)
    expected = _searched(exact, vectors, 8, 0.4)
    flat = _as_pairs(*neighbours(vectors, IndexPlan("flat"), 8, 0.4))
    every = _as_pairs(*neighbours(vectors, IndexPlan("ivf", nlist=20, nprobe=20), 8, 0.4))
    assert flat.keys() == expected.keys() == every.keys()


def test_nothing_in_nothing_out() -> None:
    for plan in (IndexPlan("flat"), IndexPlan("ivf", nlist=4, nprobe=2)):
        rows, others, cosines = neighbours(np.zeros((0, 8), np.float32), plan, 5, 0.5)
        assert len(rows) == len(others) == len(cosines) == 0


@pytest.mark.parametrize(("dtype", "rows"), [(np.int16, 7), (np.int32, 1000), (np.int16, 1)])
def test_askers_are_every_row_that_probes_each_list_ascending(dtype: type, rows: int) -> None:
    """The chunked counting sort against the one stable sort it replaced, across chunk
    edges (7 rows, 1 row) and in one chunk."""
    rng = np.random.default_rng(3)
    nlist, nprobe, n = 50, 6, 300
    probes: np.ndarray = np.stack(
        [rng.choice(nlist, nprobe, replace=False) for _ in range(n)]
    ).astype(dtype)
    askers, bounds = askers_of(probes, nlist, rows)
    want = np.argsort(probes.reshape(-1), kind="stable") // nprobe
    assert askers.dtype == np.int32
    assert askers.tolist() == want.tolist()
    assert (
        bounds.tolist()
        == np.r_[0, np.cumsum(np.bincount(probes.reshape(-1), minlength=nlist))].tolist()
    )
    for j in range(nlist):
        run = askers[bounds[j] : bounds[j + 1]]
        assert run.tolist() == np.flatnonzero((probes == j).any(axis=1)).tolist()


@pytest.mark.parametrize("step", [1, 7, 65_536])
def test_neighbours_are_ranked_alike_in_slices_of_rows(step: int) -> None:
    """Each row's places sorted by cosine, descending, ties to the smaller id, cut at the
    floor, whatever number of rows is sorted at once."""
    rng = np.random.default_rng(step)
    size, k, first, floor = 40, 5, 100, 0.3
    best = rng.choice(np.array([-np.inf, 0.1, 0.3, 0.5, 0.9], np.float32), (size, k))
    ids = rng.integers(0, 1000, (size, k))
    rows, others, cosines = _ranked(best, ids, first, floor, step)
    want = [
        (first + r, int(i), float(c))
        for r in range(size)
        for c, i in sorted(
            zip(best[r].tolist(), ids[r].tolist(), strict=True), key=lambda p: (-p[0], p[1])
        )
        if c >= floor
    ]
    got = list(zip(rows.tolist(), others.tolist(), cosines.tolist(), strict=True))
    assert got == want and rows.dtype == others.dtype == np.int64 and cosines.dtype == np.float32
