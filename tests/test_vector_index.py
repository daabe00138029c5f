from __future__ import annotations

import numpy as np
import pytest

from index.vector_index import STORY_PROBES, FaissIndex, build_index, plan_for, trained_ivf


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_search_returns_our_ids_and_cosines() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(50, 16)))
    ids = np.arange(1000, 1050)
    index = FaissIndex(16)
    index.add(ids, vectors)
    sims, found = index.search(vectors[[3, 7]], 1)
    assert found[:, 0].tolist() == [1003, 1007]
    assert np.allclose(sims[:, 0], 1.0, atol=5e-4)  # kept as 16-bit floats: 2^-11 relative


def test_remove_and_empty_search() -> None:
    index = FaissIndex(4)
    _, ids = index.search(np.eye(4, dtype=np.float32)[:1], 3)
    assert ids.tolist() == [[-1, -1, -1]]
    index.add(np.array([5, 6]), np.eye(4)[:2])
    assert index.remove(np.array([5, 42])) == 1
    assert len(index) == 1
    assert index.search(np.eye(4, dtype=np.float32)[:1], 2)[1][0].tolist() == [6, -1]


def test_wrong_shapes_are_refused() -> None:
    index = FaissIndex(4)
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        index.add(np.array([1]), np.ones((1, 5)))
    with pytest.raises(ValueError, match="2 ids for 1 vectors"):
        index.add(np.array([1, 2]), np.ones((1, 4)))


def test_an_index_from_a_trained_ivf_keeps_its_lists_and_takes_the_plans_probes() -> None:
    vectors = _unit(np.random.default_rng(1).normal(size=(3000, 16)))
    story = trained_ivf(vectors, plan_for(3000, 100, STORY_PROBES), 16)
    served = plan_for(3000, 100)
    built = build_index(np.arange(3000), vectors, served, 16, trained=story)
    ivf = built.faiss_index
    assert ivf.nprobe == served.nprobe > story.nprobe
    assert np.array_equal(
        ivf.quantizer.reconstruct_n(0, ivf.nlist), story.quantizer.reconstruct_n(0, story.nlist)
    )
    assert len(built) == 3000 and story.ntotal == 0  # the story step's copy stays empty
