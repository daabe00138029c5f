"""A page's sketch: the shingles of any choice of its blocks, without the page."""

from __future__ import annotations

import numpy as np

from service.article import Article
from service.config import PipelineConfig
from service.items import item_of
from service.sketch import Sketch
from tests.pages import scraped_page


def test_the_shingle_set_of_kept_blocks_is_the_union_of_their_shingles() -> None:
    sketch = item_of(Article(id="p", text=scraped_page()), PipelineConfig()).sketch
    rng = np.random.default_rng(5)
    for kept in [
        np.zeros(len(sketch), bool),
        np.ones(len(sketch), bool),
        *(rng.random(len(sketch)) < 0.5 for _ in range(20)),
    ]:
        blocks = [
            sketch.shingles[sketch.bounds[i] : sketch.bounds[i + 1]] for i in np.flatnonzero(kept)
        ]
        want = np.unique(np.concatenate(blocks)) if blocks else np.zeros(0, np.uint32)
        got = sketch.shingle_set(kept)
        assert got.dtype == np.uint32 and np.array_equal(got, want)
    again = Sketch.from_bytes(sketch.to_bytes())
    assert np.array_equal(again.shingle_set(sketch.kept()), sketch.shingle_set(sketch.kept()))
