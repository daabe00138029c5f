"""A group's story vector is heard from its canonical and its next differently titled copy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from service.article import parse_article
from service.embedder import Embedder
from service.items import item_of
from service.pipeline import Embedding, Known, cluster_items, stored_bands
from service.settings import Settings
from service.sketch import Fingerprint, MinHasher, fingerprint
from service.voices import combine, group_key, headline_form, same_headline, voices
from tests.stories import ANGLES, HUB


def test_the_canonical_speaks_first_then_each_new_headline() -> None:
    titles = [
        "Bridge closes for repairs",
        "WATCH: BRIDGE closes for repairs! | The Courier",
        None,
        "Bridge shut for six weeks",
        "Council fines contractor",
    ]
    assert same_headline(headline_form(titles[0]), headline_form(titles[1]))
    assert not same_headline(headline_form("Bridge closes"), headline_form("Bridge shut"))
    assert not same_headline(headline_form(None), headline_form(titles[0]))
    assert voices([1, 0, 3, 2, 4], titles, 2) == [1, 3]  # 0 repeats 1's headline
    assert voices([1, 0, 3, 2, 4], titles, 4) == [1, 3, 2, 4]
    assert voices([2, 1], titles, 1) == [2]


def test_keys_and_means() -> None:
    assert group_key(["a"]) == "a"
    assert group_key(["a", "b"]) != group_key(["b", "a"]) != "a"
    x, y = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    mean = combine([x, None, y])
    assert mean is not None and np.allclose(mean, np.array([1, 1]) / np.sqrt(2))
    assert combine([None]) is None and combine([x]) is x


def test_a_furniture_title_on_the_canonical_does_not_speak_alone(model: Embedder) -> None:
    """The wire story's earliest page carries a newsletter box as its scraped title; the
    group's vector also hears its copy's headline, and sits closer to another outlet's
    write-up of the same event than the canonical's vector alone."""
    settings = Settings()
    config = settings.pipeline
    rows = [
        {"id": "wire-1", "title": "Sign up to our newsletter", "text": HUB[1]},
        {"id": "wire-2", "title": HUB[0], "text": HUB[1]},
        {"id": "angle-1", "title": ANGLES[0][0], "text": ANGLES[0][1]},
    ]
    for i, row in enumerate(rows):
        row["published_at"] = f"2026-03-01T{8 + i:02d}:00:00Z"
    items = [item_of(parse_article(r, settings.limits), config) for r in rows]
    result = cluster_items(items, config, Embedding(model, config.lead_words))
    wire, angle = result.placements[0].group, result.placements[2].group
    assert result.placements[1].group == wire and result.canonical[wire] == 0
    assert result.voices[wire] == [0, 1]
    alone, heard = (
        Embedding(model, config.lead_words).each(
            [[(items[i], items[i].sketch.kept(result.placements[i].decision.furniture))]]
        )[0]
        for i in (0, 1)
    )
    assert alone is not None and heard is not None
    both = combine([alone, heard])
    assert both is not None and np.allclose(result.vectors[wire], both, atol=1e-6)
    assert float(result.vectors[wire] @ result.vectors[angle]) > float(
        alone @ result.vectors[angle]
    )


def test_known_fingerprints_place_as_made_ones_and_are_let_go(model: Embedder) -> None:
    """The reindex hands the batch the store's fingerprints: the placements are those of
    fingerprints made anew (a copy's similarity too, where its set is made from its sketch),
    the list is emptied after the copy step, and a placement keeps only the hash and word
    count of a reused one (its arrays were the store's)."""
    settings = Settings()
    config = settings.pipeline
    rows = [
        {"id": "wire-1", "title": HUB[0], "text": HUB[1]},
        {"id": "wire-2", "title": HUB[0], "text": HUB[1] + "\n\nMore to follow."},
        {"id": "wire-3", "title": "Copy", "text": HUB[1]},
        {"id": "angle-1", "title": ANGLES[0][0], "text": ANGLES[0][1]},
    ]
    items = [item_of(parse_article(r, settings.limits), config) for r in rows]
    minhasher = MinHasher(config.copies.num_perm)
    known: list[Fingerprint | None] = [
        fingerprint(it.sketch, it.sketch.kept(), minhasher) for it in items
    ]
    known[3] = None  # an article prepared again has none
    # as the reindex holds a stored one: band keys for its minhash, its sketch for its set
    bands, fits = stored_bands(
        [fp.minhash if fp else np.zeros(0, np.uint32) for fp in known], config.copies
    )
    assert fits.tolist() == [True, True, True, False]
    held = known[1]
    assert held is not None
    empty = np.zeros(0, np.uint32)
    known[1] = replace(held, shingles=empty, minhash=empty, count=len(held.shingles))
    stored = list(known)
    given = Known(known, bands)
    with_known = cluster_items(items, config, Embedding(model, config.lead_words), known=given)
    made = cluster_items(items, config, Embedding(model, config.lead_words))
    assert given.prints == [] and given.bands.size == 0 and given.bands.base is None
    copies = with_known.placements[:3]
    assert len({p.group for p in copies}) == 1 and sum(p.is_duplicate for p in copies) == 2
    for a, b, fp in zip(with_known.placements, made.placements, stored, strict=True):
        assert (a.group, a.story, a.is_duplicate, a.similarity, a.why) == (
            b.group,
            b.story,
            b.is_duplicate,
            b.similarity,
            b.why,
        )
        assert a.fingerprint.content_hash == b.fingerprint.content_hash
        assert a.fingerprint.words == b.fingerprint.words
        if fp is not None:
            assert len(a.fingerprint.shingles) == len(a.fingerprint.minhash) == 0
        else:
            assert np.array_equal(a.fingerprint.shingles, b.fingerprint.shingles)
