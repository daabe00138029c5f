"""The copy step reuses a page's stored fingerprint only while the page keeps the blocks it
was made from."""

from __future__ import annotations

import numpy as np

from service.article import Article
from service.items import item_of
from service.pipeline import _Fingerprints
from service.settings import Settings
from service.sketch import MinHasher, fingerprint

TEXT = (
    "The harbour board voted on Tuesday to close the north pier for repairs until spring.\n\n"
    "Fishing crews will move to the south quay, where berths are being cleared this week.\n\n"
    "Subscribe to our morning newsletter for the day's headlines in your inbox."
)


def test_a_stored_fingerprint_is_used_while_its_blocks_are_kept() -> None:
    config = Settings().pipeline
    minhasher = MinHasher(config.copies.num_perm)
    item = item_of(Article(id="a", text=TEXT), config)
    whole = item.sketch.kept()
    stored = fingerprint(item.sketch, whole, minhasher)
    prints = _Fingerprints([item], minhasher, [stored])
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


def test_a_fingerprint_made_with_other_permutations_is_made_anew() -> None:
    config = Settings().pipeline
    item = item_of(Article(id="a", text=TEXT), config)
    whole = item.sketch.kept()
    other = fingerprint(item.sketch, whole, MinHasher(config.copies.num_perm // 2))
    minhasher = MinHasher(config.copies.num_perm)
    made = _Fingerprints([item], minhasher, [other])(0, whole, whole.tobytes())
    assert made is not other
    assert np.array_equal(made.minhash, fingerprint(item.sketch, whole, minhasher).minhash)
