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


def _random_sketch(rng: np.random.Generator, blocks: int) -> Sketch:
    sizes = rng.integers(0, 30, blocks)
    bounds = np.zeros(blocks + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    return Sketch(
        keys=rng.integers(-(2**63), 2**63 - 1, blocks, dtype=np.int64),
        heads=rng.integers(0, 2**32, blocks, dtype=np.uint32),
        sizes=sizes.astype(np.int32),
        inpage=rng.random(blocks) < 0.3,
        listed=rng.random(blocks) < 0.3,
        shingles=rng.integers(0, 2**32, int(bounds[-1]), dtype=np.uint32),
        bounds=bounds,
    )


FIELDS = ("keys", "heads", "sizes", "inpage", "listed", "shingles", "bounds")


def test_a_sketch_keeps_every_array_through_the_store_and_a_pickle() -> None:
    """A sketch is held as one bytes object in its own layout: each array comes back as
    given, from the store's layout and through a pickle (the pool and the engines send
    them between processes), and ``to_bytes`` writes the store's layout."""
    import pickle

    rng = np.random.default_rng(11)
    for blocks in [0, 1, 2, 3, 7, 40]:
        sketch = _random_sketch(rng, blocks)
        marks = sketch.inpage.astype(np.uint8) | (sketch.listed.astype(np.uint8) << 1)
        stored = b"".join(
            [
                np.array([blocks], np.int64).tobytes(),
                sketch.keys.tobytes(),
                sketch.heads.tobytes(),
                sketch.sizes.tobytes(),
                marks.tobytes(),
                sketch.bounds.tobytes(),
                sketch.shingles.tobytes(),
            ]
        )
        assert sketch.to_bytes() == stored
        for again in (Sketch.from_bytes(stored), pickle.loads(pickle.dumps(sketch))):
            assert len(again) == blocks
            for name in FIELDS:
                got, want = getattr(again, name), getattr(sketch, name)
                assert got.dtype == want.dtype and np.array_equal(got, want), name


def test_an_outline_keeps_the_blocks_and_refuses_its_shingles() -> None:
    """An outline (what the reindex holds once copies are known) answers every block
    array, mask, hash and word count as its sketch does, through a pickle too, and asking
    it for shingles (a copy test, a stored sketch) is an error, never an empty answer."""
    import pickle

    import pytest

    rng = np.random.default_rng(12)
    for blocks in [0, 1, 2, 7, 40]:
        sketch = _random_sketch(rng, blocks)
        for outline in (sketch.outline(), pickle.loads(pickle.dumps(sketch.outline()))):
            assert len(outline) == blocks and type(outline) is not Sketch
            for name in ("keys", "heads", "sizes", "inpage", "listed"):
                got, want = getattr(outline, name), getattr(sketch, name)
                assert got.dtype == want.dtype and np.array_equal(got, want), name
            kept = sketch.kept(rng.random(blocks) < 0.5)
            assert np.array_equal(outline.kept(), sketch.kept())
            assert outline.content_hash(kept) == sketch.content_hash(kept)
            assert outline.words(kept) == sketch.words(kept)
            with pytest.raises(ValueError, match="no shingles"):
                outline.shingles  # noqa: B018
            with pytest.raises(ValueError, match="no shingles"):
                outline.to_bytes()
            with pytest.raises(ValueError, match="no shingles"):
                outline.shingle_set(kept)
