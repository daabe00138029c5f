"""Reading and writing JSONL feeds: the file edge of ``newsdedup cluster``.

A bad line is reported with its number and field and skipped (or stops the run in strict
mode); a repeated id keeps its first line, and each later one is reported and skipped (the
API does the same inside a batch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from service.article import Article, ArticleError, parse_article
from service.config import InputLimits


@dataclass(frozen=True)
class BadLine:
    """A line that was not taken, and why."""

    line: int
    field: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: field '{self.field}': {self.problem}"


class FeedError(ValueError):
    """A bad line in strict mode."""

    def __init__(self, bad: BadLine) -> None:
        super().__init__(str(bad))
        self.bad = bad


@dataclass
class Feed:
    """The good articles in file order (a repeated id at its first line), and what went
    wrong: bad lines, and repeats as (id, first line, repeating line)."""

    articles: list[Article] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    repeated: list[tuple[str, int, int]] = field(default_factory=list)


def _parse_line(number: int, raw: bytes, limits: InputLimits) -> Article:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeedError(BadLine(number, "(line)", f"invalid UTF-8 at byte {exc.start}")) from exc
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FeedError(
            BadLine(number, "(line)", f"malformed JSON: {exc.msg} at column {exc.colno}")
        ) from exc
    try:
        return parse_article(obj, limits)
    except ArticleError as exc:
        raise FeedError(BadLine(number, exc.field, exc.problem)) from exc


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, start=1):
        stripped = raw.strip()
        if stripped:
            yield number, stripped


def stream_feed(
    stream: BinaryIO, limits: InputLimits, into: Feed, *, strict: bool = False
) -> Iterator[Article]:
    """The good articles of a JSONL stream as they are read; bad lines and repeats are
    noted in ``into`` (whose ``articles`` stay empty: the caller holds what it needs)."""
    first: dict[str, int] = {}
    for number, raw in _lines(stream):
        try:
            article = _parse_line(number, raw, limits)
        except FeedError as exc:
            if strict:
                raise
            into.bad.append(exc.bad)
            continue
        if article.id in first:
            into.repeated.append((article.id, first[article.id], number))
            continue
        first[article.id] = number
        yield article


def read_feed(stream: BinaryIO, limits: InputLimits, *, strict: bool = False) -> Feed:
    """Parse a JSONL stream of articles."""
    feed = Feed()
    feed.articles.extend(stream_feed(stream, limits, feed, strict=strict))
    return feed


def write_jsonl(rows: Iterable[dict[str, object]], out: TextIO) -> None:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
