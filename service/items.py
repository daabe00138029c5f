"""Items: articles prepared for the pipeline (page, sketch, headline, origin), one by one
or, for a large corpus, on a pool of processes beside the caller.

Preparing a page (splitting, in-page flags, shingles) is pure Python, so threads would
share one core: forked processes run it on every core while the caller consumes the
items in input order. The pool starts only once a corpus is larger than ``serial_max``
articles (a small run does not pay for it), holds at most a few chunks in flight (the
input is read as it is consumed, not all at once), and gives the same items as the serial
path: each is a pure function of its article and the configuration.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from service.article import Article
from service.canonical import Origin, origin_of
from service.config import PipelineConfig
from service.copies import Headline, headline_of
from service.furniture import site_key, site_of
from service.prepare import Page, prepared
from service.sketch import Sketch, sketch_of


@dataclass(frozen=True, slots=True)
class Item:
    """One article on its way through: its sketch, and its prepared page when the text is
    at hand (the reindex works from stored sketches and prepares a page only when needed)."""

    id: str
    site: int | None
    published_at: datetime | None
    title: str | None
    sketch: Sketch
    headline: Headline
    page: Page | None = None
    origin: Origin = field(default_factory=Origin)


def item_of(article: Article, config: PipelineConfig) -> Item:
    """Prepare an article: its page (lines and in-page flags) and sketch."""
    page, blocks = prepared(article, config.page)
    sketch = sketch_of(blocks, page.dropped, config.copies.shingle_words)
    site = site_of(article.source, article.url)
    return Item(
        article.id,
        site_key(site),
        article.published_at,
        page.title,
        sketch,
        headline_of(page.title, sketch, config.copies.shingle_words),
        page,
        origin_of(site, [b.text for b in blocks]),
    )


_config: PipelineConfig | None = None


def _start(config: PipelineConfig) -> None:
    global _config
    _config = config


def _chunk(articles: list[Article]) -> list[Item]:
    assert _config is not None, "the pool's initializer sets the configuration"
    return [item_of(a, _config) for a in articles]


def _may_fork() -> bool:
    """Workers are forked (they start at once, with the code already loaded, and need no
    import guard in the caller's script), which is safe only while this process runs one
    thread: a fork copies another thread's locks mid-flight. A server with its threads
    prepares in its own process."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def items_of(articles: Iterable[Article], config: PipelineConfig) -> Iterator[Item]:
    """``item_of`` of every article, in input order."""
    rules = config.preparing
    stream = iter(articles)
    for article in itertools.islice(stream, rules.serial_max):
        yield item_of(article, config)
    first = next(stream, None)
    if first is None:
        return
    rest = itertools.chain([first], stream)
    if rules.workers <= 1 or not _may_fork():
        yield from (item_of(a, config) for a in rest)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        rules.workers, mp_context=context, initializer=_start, initargs=(config,)
    ) as pool:
        pending: deque[Future[list[Item]]] = deque()
        chunks = iter(lambda: list(itertools.islice(rest, rules.chunk)), [])
        for chunk in itertools.islice(chunks, 2 * rules.workers):
            pending.append(pool.submit(_chunk, chunk))
        while pending:
            done = pending.popleft().result()
            for chunk in itertools.islice(chunks, 1):
                pending.append(pool.submit(_chunk, chunk))
            yield from done
