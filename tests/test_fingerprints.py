"""The copy step reuses a page's stored fingerprint only while the page keeps the blocks it
was made from."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from index.copy_graph import band_keys
from service.article import Article
from service.items import item_of
from service.pipeline import _band_keys, _Fingerprints, stored_bands
from service.settings import Settings
from service.sketch import MinHasher, Sketch, fingerprint

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


def test_stored_band_keys_stand_for_the_minhash_they_were_made_from() -> None:
    """The reindex holds a stored fingerprint's band keys, not its minhash: the copy step
    looks pages up by the same keys either way, whichever pages hold which; a minhash made
    with other permutations has none (its page is fingerprinted anew)."""
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
    held = stored_bands([fp.minhash for fp in fps], rules)
    assert all(h is not None for h in held)
    mixed = [
        replace(fp, minhash=np.zeros(0, np.uint32), bands=h) if i % 3 else fp
        for i, (fp, h) in enumerate(zip(fps, held, strict=True))
    ]
    assert np.array_equal(_band_keys(mixed, bands, rows), want)
    assert stored_bands([fps[0].minhash[: rules.num_perm // 2], fps[1].minhash], rules)[0] is None
    item = item_of(Article(id="a", text=TEXT), config)
    whole = item.sketch.kept()
    stored = fingerprint(item.sketch, whole, minhasher)
    slim = replace(
        stored, minhash=np.zeros(0, np.uint32), bands=stored_bands([stored.minhash], rules)[0]
    )
    assert _Fingerprints([item], minhasher, [slim])(0, whole, whole.tobytes()) is slim
