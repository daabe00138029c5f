from __future__ import annotations

import faiss
import numpy as np
import pytest

from index.neighbour_join import lists_of
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


def _members(index: FaissIndex) -> list[list[int]]:
    """Each list's ids, in the order they were added."""
    ivf = index.faiss_index
    return [
        faiss.rev_swig_ptr(ivf.invlists.get_ids(j), ivf.invlists.list_size(j)).tolist()
        for j in range(ivf.nlist)
    ]


def test_an_index_given_the_lists_its_vectors_lie_in_is_the_one_it_would_build() -> None:
    vectors = _unit(np.random.default_rng(2).normal(size=(3000, 16)))
    story = trained_ivf(vectors, plan_for(3000, 100, STORY_PROBES), 16)
    served, ids = plan_for(3000, 100), np.arange(7, 3007)
    searched = build_index(ids, vectors, served, 16, trained=story)
    assigned = lists_of(vectors, story).assigned()
    given = build_index(ids, vectors, served, 16, trained=story, assigned=assigned)
    assert _members(given) == _members(searched)
    assert sum(map(len, _members(given))) == 3000
    queries = vectors[:50]
    assert np.array_equal(given.search(queries, 10)[1], searched.search(queries, 10)[1])
    # lists that are not the nearest are kept as given: the index does not search again
    moved = build_index(ids, vectors, served, 16, trained=story, assigned=(assigned + 1) % 16)
    assert _members(moved) != _members(searched)
    with pytest.raises(ValueError, match="2999 lists for 3000 ids, 3000 vectors"):
        build_index(ids, vectors, served, 16, trained=story, assigned=assigned[1:])
    with pytest.raises(ValueError, match="a list outside"):
        build_index(ids, vectors, served, 16, trained=story, assigned=assigned + story.nlist)
