"""Pages prepared on a pool of processes are the pages prepared one by one, in input order,
and the input is read as it is consumed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from service.article import Article, parse_article
from service.config import PoolRules
from service.items import Item, item_of, items_of
from service.settings import Settings
from tests.pages import scraped_page, template_feed
from tests.stories import adversarial_feed


def _articles(settings: Settings) -> list[Article]:
    rows = [*template_feed(), *adversarial_feed()]
    rows.append({"id": "scraped", "text": scraped_page(), "title": "A scraped page"})
    return [parse_article(r, settings.limits) for r in rows]


def _same(a: Item, b: Item) -> bool:
    return (
        (a.id, a.site, a.published_at, a.title, a.page, a.origin)
        == (b.id, b.site, b.published_at, b.title, b.page, b.origin)
        and a.sketch.to_bytes() == b.sketch.to_bytes()
        and (a.headline.key, a.headline.own) == (b.headline.key, b.headline.own)
        and np.array_equal(a.headline.shingles, b.headline.shingles)
    )


def test_the_pool_gives_the_serial_items_in_order() -> None:
    settings = Settings()
    articles = _articles(settings)
    pooled = replace(settings.pipeline, preparing=PoolRules(workers=2, serial_max=2, chunk=3))
    serial = [item_of(a, settings.pipeline) for a in articles]
    got = list(items_of(articles, pooled))
    assert [it.id for it in got] == [a.id for a in articles]
    assert all(_same(a, b) for a, b in zip(got, serial, strict=True))
    assert not hasattr(got[0].page.blocks[0], "words")  # type: ignore[union-attr]


def test_the_input_is_read_as_it_is_consumed() -> None:
    settings = Settings()
    base = _articles(settings)
    pulled = 0

    def endless() -> Iterator[Article]:
        nonlocal pulled
        for n in range(10_000):
            pulled += 1
            yield replace(base[n % len(base)], id=f"a{n}")

    rules = PoolRules(workers=2, serial_max=4, chunk=5)
    items = items_of(endless(), replace(settings.pipeline, preparing=rules))
    taken = [next(items) for _ in range(30)]
    assert [it.id for it in taken] == [f"a{n}" for n in range(30)]
    # beyond what was taken: at most the chunks in flight (two per worker and the next)
    assert pulled <= len(taken) + (2 * rules.workers + 1) * rules.chunk + 1
    items.close()  # type: ignore[attr-defined]
