"""prepare: turn an input article into a page of blocks, flags and clean text.

HTML goes through trafilatura (main text and title) and lxml (figure captions); plain text
is taken as scraped. Spans in flags index into ``Page.text``: the text as given, or the
text extracted from the HTML.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import lxml.html
import numpy as np
from lxml.etree import ParserError

from service.article import Article
from service.config import PageRules
from service.flags import Flag, page_flags
from service.text import Block, Line, split_blocks, words_of


@dataclass(frozen=True, slots=True)
class Page:
    """A prepared article: its lines, what was flagged and what is left to compare. Its
    words live in its sketch, hashed (``prepared``); ``title_lines`` are the lines that
    repeat the title word for word, which the lead skips.

    A corpus run holds every page from preparing to answering, so a page keeps its text
    deflated (news text is rarely pure ASCII, so a string holds it at two bytes a
    character; deflated UTF-8 is under a third of that) and its lines as spans into it;
    the text and lines are made again when read (the lead of a page the model reads, its
    flags, its clean text)."""

    packed: bytes
    title: str | None
    spans: bytes  # int32 start and end of each line in the text, one pair after another
    flags: tuple[Flag, ...] = ()
    dropped: frozenset[int] = field(default_factory=frozenset)
    title_lines: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        text: str,
        title: str | None,
        lines: Sequence[Line],
        flags: tuple[Flag, ...] = (),
        dropped: frozenset[int] = frozenset(),
        title_lines: frozenset[int] = frozenset(),
    ) -> Page:
        spans = np.array([(line.start, line.end) for line in lines], dtype=np.int32).tobytes()
        packed = zlib.compress(text.encode("utf-8"), 1)
        return cls(packed, title, spans, flags, dropped, title_lines)

    @property
    def text(self) -> str:
        return zlib.decompress(self.packed).decode("utf-8")

    @property
    def blocks(self) -> list[Line]:
        text = self.text
        pairs = np.frombuffer(self.spans, dtype=np.int32).reshape(-1, 2).tolist()
        return [Line(i, a, b, text[a:b]) for i, (a, b) in enumerate(pairs)]

    @property
    def kept(self) -> list[Line]:
        return [b for b in self.blocks if b.index not in self.dropped]

    @property
    def clean_text(self) -> str:
        """The page without its flagged blocks, one block a line."""
        return "\n".join(b.text for b in self.kept)

    def lead(self, words: int, kept_mask: np.ndarray | None = None) -> str:
        """Title and the first ``words`` words of the clean text (the page's own flags, or
        the blocks ``kept_mask`` keeps): what the model reads."""
        kept = self.kept if kept_mask is None else [b for b in self.blocks if kept_mask[b.index]]
        title = self.title or ""
        if kept and title and kept[0].index in self.title_lines:
            kept = kept[1:]
        body: list[str] = []
        for block in kept:
            body.extend(block.text.split())
            if len(body) >= words:
                break
        return (title + "\n" + " ".join(body[:words])).strip()


def _figure_captions(html: str) -> list[str]:
    try:
        tree = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return []
    found = (" ".join(el.text_content().split()) for el in tree.iter("figcaption"))
    return [text for text in found if text]


def extract_html(html: str) -> tuple[str, str | None, list[str]]:
    """Main text, title and figure captions of an HTML page ('' when nothing is found)."""
    import trafilatura  # only HTML needs it: a text-only run starts without it

    document = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=True
    )
    if document is None:
        return "", None, _figure_captions(html)
    if isinstance(document, dict):
        return document.get("text") or "", document.get("title"), _figure_captions(html)
    return document.text or "", document.title, _figure_captions(html)


def prepared(article: Article, rules: PageRules) -> tuple[Page, tuple[Block, ...]]:
    """Lines and in-page flags of one article (no corpus knowledge yet), and its blocks
    with their words, for its sketch: the page itself keeps no word lists."""
    captions = list(article.captions)
    title = article.title
    if article.html is not None:
        text, found_title, figure_captions = extract_html(article.html)
        captions.extend(figure_captions)
        title = title or found_title
    else:
        text = article.text or ""
    blocks = tuple(split_blocks(text))
    flags, dropped = page_flags(
        blocks,
        captions,
        caption_max_words=rules.caption_max_words,
        repeat_min_words=rules.repeat_min_words,
        keep_repeat_words=rules.keep_repeat_words,
    )
    title_words = words_of(title) if title else ()
    page = Page.of(
        text,
        title,
        blocks,
        flags=tuple(flags),
        dropped=frozenset(dropped),
        title_lines=frozenset(b.index for b in blocks if title_words and b.words == title_words),
    )
    return page, blocks


def prepare(article: Article, rules: PageRules) -> Page:
    """The prepared page of one article."""
    return prepared(article, rules)[0]
