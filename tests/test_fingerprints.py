"""The copy step reuses a page's stored fingerprint only while the page keeps the blocks it
was made from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from index.copy_graph import band_keys, candidate_pairs
from service.article import Article
from service.config import CopyRules
from service.items import item_of
from service.pipeline import Known, _band_keys, _Fingerprints, stored_bands
from service.settings import Settings
from service.sketch import Fingerprint, MinHasher, Sketch, fingerprint

TEXT = (
    "The harbour board voted on Tuesday to close the north pier for repairs until spring.\n\n"
    "Fishing crews will move to the south quay, where berths are being cleared this week.\n\n"
    "Subscribe to our morning newsletter for the day's headlines in your inbox."
)


def _known(prints: Sequence[Fingerprint | None], rules: CopyRules) -> Known:
    minhashes = [fp.minhash if fp else np.zeros(0, np.uint32) for fp in prints]
    return Known(list(prints), stored_bands(minhashes, rules)[0])


def test_a_stored_fingerprint_is_used_while_its_blocks_are_kept() -> None:
    config = Settings().pipeline
    minhasher = MinHasher(config.copies.num_perm)
    item = item_of(Article(id="a", text=TEXT), config)
    whole = item.sketch.kept()
    stored = fingerprint(item.sketch, whole, minhasher)
    prints = _Fingerprints([item], minhasher, _known([stored], config.copies))
    assert prints(0, whole, whole.tobytes()) is stored

    # the last block is furniture now: the stored print no longer describes the page
    furniture = np.zeros(len(whole), dtype=bool)
    furniture[-1] = True
    kept = item.sketch.kept(furniture)
    made = prints(0, kept, kept.tobytes())
    want = fingerprint(item.sketch, kept, minhasher)
    assert made is not stored and made.content_hash == want.content_hash != stored.content_hash
    assert np.array_equal(made.shingles, want.shingles)
    assert np.array_equal(made.minhash, want.minhash)


def test_a_minhash_made_with_other_permutations_has_no_band_keys() -> None:
    """A stored minhash of another number of permutations has no band keys: the reindex
    gives its page no known fingerprint, and the page is fingerprinted anew."""
    config = Settings().pipeline
    item = item_of(Article(id="a", text=TEXT), config)
    whole = item.sketch.kept()
    other = fingerprint(item.sketch, whole, MinHasher(config.copies.num_perm // 2))
    minhasher = MinHasher(config.copies.num_perm)
    right = fingerprint(item.sketch, whole, minhasher)
    keys, fits = stored_bands([other.minhash, right.minhash], config.copies)
    assert fits.tolist() == [False, True] and not keys[0].any()
    made = _Fingerprints([item], minhasher, Known([None], keys[:1]))(0, whole, whole.tobytes())
    assert made is not other
    assert np.array_equal(made.minhash, right.minhash)


def test_stored_band_keys_stand_for_the_minhash_they_were_made_from() -> None:
    """The reindex holds a stored fingerprint's band keys (one matrix), not its minhash:
    the copy step looks pages up by the same keys either way, with the pages fingerprinted
    anew laid over the stored keys, whichever pages those are."""
    config = Settings().pipeline
    rules = config.copies
    bands, rows = rules.bands
    minhasher = MinHasher(rules.num_perm)
    rng = np.random.default_rng(3)
    fps = [
        fingerprint(
            Sketch.single(np.unique(rng.integers(0, 2**32, 80)), 80), np.ones(1, bool), minhasher
        )
        for _ in range(12)
    ]
    want = band_keys(np.stack([fp.minhash for fp in fps]), bands, rows)
    empty = np.zeros(0, np.uint32)
    slim = [replace(fp, minhash=empty) for fp in fps]
    known = _known(fps, rules)
    known.prints[:] = slim
    # pages 0, 3, 6, 9 fingerprinted anew (the batch holds them, not the known ones)
    mixed = [fp if i % 3 == 0 else slim[i] for i, fp in enumerate(fps)]
    keys = _band_keys(mixed, known, bands, rows)
    assert keys.at.tolist() == [0, 3, 6, 9]
    got = np.stack([keys.column(b) for b in range(bands)], axis=1)
    assert np.array_equal(got, want)
    # a known row's keys are wrong where its page is fingerprinted anew: laid over
    known.bands[::3] = 0
    got = np.stack([keys.column(b) for b in range(bands)], axis=1)
    assert np.array_equal(got, want)
    assert np.array_equal(
        candidate_pairs(keys, 64, np.arange(12)), candidate_pairs(want, 64, np.arange(12))
    )
    alone = _band_keys(fps, None, bands, rows)
    assert np.array_equal(alone.base, want) and not len(alone.at)
