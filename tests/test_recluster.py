from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.copy_graph import (
    CopyTest,
    band_keys,
    both_keep,
    copy_components,
    exact_copies,
    kept_links,
)
from index.recluster import average_link, map_ids
from service.article import Article
from service.config import PipelineConfig
from service.items import item_of
from service.sketch import MinHasher, fingerprint
from tests.pages import PARAGRAPHS


def _unit(rows: list[list[float]]) -> np.ndarray:
    v = np.array(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_average_link_does_not_chain_through_one_bridge() -> None:
    # a, b close (0.8); c close to b (0.75) but not to a (0.2); d far from all.
    # Single-link at 0.7 would chain a-b-c; the average of c to {a, b} is 0.47.
    v = _unit([[1, 0, 0], [0.8, 0.6, 0], [0.2, 0.98, 0], [0, 0, 1]])
    pairs = [(0, 1), (1, 2), (0, 2), (2, 3)]
    assert average_link(v, pairs, 0.7).tolist() == [0, 0, 1, 2]
    assert average_link(v, pairs, 0.45).tolist() == [0, 0, 0, 1]


def test_average_link_needs_a_proposed_pair() -> None:
    v = _unit([[1, 0], [1, 0.01]])
    assert average_link(v, [], 0.5).tolist() == [0, 1]


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(6)))
def test_average_link_is_independent_of_order(order: list[int]) -> None:
    rng = np.random.default_rng(3)
    v = _unit(
        (rng.normal(size=(6, 4)) + np.array([[3, 0, 0, 0]] * 3 + [[0, 3, 0, 0]] * 3)).tolist()
    )
    pairs = list(itertools.combinations(range(6), 2))
    base = average_link(v, pairs, 0.6)
    perm = np.array(order)
    shuffled = average_link(
        v[perm],
        [(int(np.where(perm == a)[0][0]), int(np.where(perm == b)[0][0])) for a, b in pairs],
        0.6,
    )
    assert len(set(zip(base[perm].tolist(), shuffled.tolist(), strict=True))) == len(
        set(base.tolist())
    )


def _components(texts: list[str]) -> list[int]:
    config = PipelineConfig()
    minhasher = MinHasher(config.copies.num_perm)
    items = [item_of(Article(id=str(i), text=t), config) for i, t in enumerate(texts)]
    fps = [fingerprint(it.sketch, it.sketch.kept(), minhasher) for it in items]
    test = CopyTest(0.6, 0.2, 8)
    bands, rows = config.copies.bands
    return copy_components(
        [f.content_hash for f in fps],
        [f.shingles for f in fps],
        band_keys(np.stack([f.minhash for f in fps]), bands, rows),
        lambda a, b: test.linked(fps[a].shingles, fps[b].shingles),
    ).tolist()


def test_copy_components_join_through_a_bridging_copy() -> None:
    words = " ".join(PARAGRAPHS).split()
    half = len(words) // 2
    texts = [
        " ".join(words[: half + 10]),
        " ".join(words),
        " ".join(words[half - 10 :]),
        "A different text about something else entirely, long enough to shingle well.",
    ]
    assert _components(texts) == [0, 0, 0, 1]


def test_a_page_quoting_unrelated_texts_does_not_chain_them() -> None:
    one, two, three = PARAGRAPHS[0], PARAGRAPHS[3], PARAGRAPHS[2]
    labels = _components([one, " ".join([one, two]), two])
    assert labels[0] != labels[2]  # the page keeps its dominant region at most
    labels = _components([one, two, three, "\n".join([one, two, three])])
    assert len(set(labels)) == 4  # no region dominates: it joins none


def test_map_ids_keeps_ids_merges_to_the_oldest_and_splits_to_the_largest() -> None:
    old = np.array([5, 5, 7, 7, 9, 9, 9, 9])
    new = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    mapping = map_ids(old, new, itertools.count(100))
    assert mapping.ids == {0: 5, 1: 9, 2: 100}
    assert mapping.merged == {7: 5}
    assert mapping.split == {9}
    assert mapping.created == {100}


def _kept_by_sets(
    ends: list[tuple[int, int]], shingles: list[np.ndarray], rank: np.ndarray
) -> list[bool]:
    """Each link kept by both its pages, as a set of kept others per page decides it."""
    around: dict[int, list[int]] = {}
    for a, b in ends:
        around.setdefault(a, []).append(b)
        around.setdefault(b, []).append(a)
    keeps = {
        node: {
            others[i]
            for i in kept_links(
                shingles[node], [shingles[o] for o in others], [int(rank[o]) for o in others]
            )
        }
        for node, others in around.items()
    }
    return [b in keeps[a] and a in keeps[b] for a, b in ends]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_both_keep_is_what_per_page_sets_decide(seed: int) -> None:
    """Pages made of one to three of a few texts (so some quote several and drop links),
    linked at random: the arrays decide every link as the per-page sets did."""
    rng = np.random.default_rng(seed)
    texts = [
        np.arange(t * 1000, t * 1000 + int(rng.integers(20, 200)), dtype=np.uint32)
        for t in range(5)
    ]
    shingles = []
    for _ in range(30):
        chosen = rng.choice(5, size=int(rng.integers(1, 4)), replace=False)
        parts = [texts[t][: int(rng.integers(10, len(texts[t]) + 1))] for t in chosen]
        shingles.append(np.unique(np.concatenate(parts)))
    rank = rng.integers(0, 2**40, size=30)
    pairs = sorted({(int(a), int(b)) for a, b in rng.integers(0, 30, size=(80, 2)) if a < b})
    order = rng.permutation(len(pairs))  # links come in candidate order, not sorted
    ends = [pairs[i] for i in order]
    got = both_keep(np.array(ends, dtype=np.int64).reshape(-1, 2), shingles, rank)
    assert got.tolist() == _kept_by_sets(ends, shingles, rank)


def test_both_keep_drops_a_page_quoting_two_texts_evenly() -> None:
    one, two = np.arange(0, 100, dtype=np.uint32), np.arange(1000, 1100, dtype=np.uint32)
    both = np.concatenate([one, two])
    shingles = [one, two, both]
    ends = np.array([[0, 2], [1, 2]], dtype=np.int64)
    assert both_keep(ends, shingles, np.arange(3)).tolist() == [False, False]
    assert both_keep(np.zeros((0, 2), np.int64), shingles, np.arange(3)).tolist() == []


def test_exact_copies_are_the_counted_texts_sharing_a_hash() -> None:
    """Texts sharing a hash, told apart by the whole hash where their leading digits (the
    rank) collide; texts not counted join nothing."""
    rng = np.random.default_rng(9)
    hashes = [f"{int(rng.integers(0, 6)):015x}{int(rng.integers(0, 3)):017x}" for _ in range(200)]
    rank = np.array([int(h[:15], 16) for h in hashes], dtype=np.int64)
    counted = rng.random(200) < 0.8
    want: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        if counted[i]:
            want.setdefault(h, []).append(i)
    got = exact_copies(hashes, rank, counted)
    assert sorted(got) == sorted(same for same in want.values() if len(same) > 1)
    assert len({rank[same[0]] for same in got}) < len(got)  # some ranks did collide
    assert exact_copies([], np.zeros(0, np.int64), np.zeros(0, bool)) == []
