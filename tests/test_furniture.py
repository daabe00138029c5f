"""How a corpus's furniture converges with its copy groups (``service.furniture.learn``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from service.config import FurnitureRules
from service.furniture import Decision, first_of_runs, learn
from service.sketch import Sketch
from service.text import key_hash

SITE = key_hash("outlet.example")


def _page(key: int, shingles: int, start: int) -> Sketch:
    return Sketch.single(np.arange(start, start + shingles, dtype=np.uint32), shingles, key)


def test_furniture_that_takes_the_only_text_of_its_pages_settles_instead_of_flipping() -> None:
    """Two pages of one site whose one block is the same line, in two groups: the line is on
    two groups of the site, so furniture; as furniture it leaves both pages without text, so
    they count for nothing and it is content again. The rounds would flip until
    ``max_rounds``; the cycle is seen and settled (furniture in any state of it is
    furniture), the same whichever round would have been the last."""
    pages = [_page(7, 40, 0), _page(7, 40, 1000), _page(8, 40, 2000)]
    calls: list[int] = []

    def group(masks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        counted = np.array([not m.all() for m in masks], dtype=bool)
        return np.arange(len(masks), dtype=np.int64), counted

    decided = {}
    for rounds in (5, 6):
        calls.clear()
        rules = replace(FurnitureRules(), max_rounds=rounds)
        decided[rounds] = learn(pages, [SITE, SITE, SITE], rules, group)
        assert len(calls) == 3, "two rounds see the state come back, one walks the cycle"
    for five, six in zip(decided[5], decided[6], strict=True):
        assert five.furniture.tolist() == six.furniture.tolist()
        assert five.counts.tolist() == six.counts.tolist()
    assert [d.furniture.tolist() for d in decided[6]] == [[True], [True], [False]]
    assert [d.counts.tolist() for d in decided[6]] == [[2], [2], [0]]


def test_furniture_that_holds_ends_the_rounds_at_once() -> None:
    """A line on pages of two groups that keep other text stays furniture: one round."""
    pages = [_page(7, 40, 0), _page(7, 40, 1000)]
    calls: list[int] = []

    def group(masks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return np.arange(len(masks), dtype=np.int64), np.ones(len(masks), dtype=bool)

    decided = learn(pages, [SITE, SITE], FurnitureRules(), group)
    assert len(calls) == 1
    assert [d.furniture.tolist() for d in decided] == [[True], [True]]


def test_first_of_runs_is_each_runs_first_mark() -> None:
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 6, 60)
    bounds = np.r_[0, np.cumsum(sizes)]
    marks = rng.random(int(bounds[-1])) < 0.3
    want = [
        int(np.argmax(marks[a:b])) if marks[a:b].any() else -1
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]
    assert first_of_runs(marks, bounds).tolist() == want


def test_a_decision_within_a_corpus_reads_its_own_run() -> None:
    furniture = np.array([True, False, False, True, True])
    counts = np.array([3, 0, 0, 2, 4])
    bounds = np.array([0, 2, 2, 5])
    for page, (low, high) in enumerate([(0, 2), (2, 2), (2, 5)]):
        d = Decision.within(furniture, counts, bounds, page, lead=page - 1)
        assert d.furniture.tolist() == furniture[low:high].tolist()
        assert d.counts.tolist() == counts[low:high].tolist() and d.lead == page - 1
    alone = Decision(furniture, counts, 1)
    assert alone.furniture is furniture and alone.counts is counts
