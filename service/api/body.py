"""The one input boundary of the HTTP API: a request body of articles, checked for content
type, size, encoding, nesting and JSON, then each item's fields (``service.article``).

A batch is all-or-nothing: one bad item rejects the request (422) with every problem
listed by item index and field, and nothing is stored. An id repeated inside a batch is
taken at its first occurrence; each later one is answered as that article and reported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import HTTPException, Request

from service.article import Article, ArticleError, parse_article
from service.settings import Settings

MAX_DEPTH = 32  # an article batch nests 3 levels deep; deeper JSON is refused before parsing
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_TYPES = ("application/json",)


def problem(status: int, message: str, items: list[dict[str, Any]] | None = None) -> HTTPException:
    detail: dict[str, Any] = {"message": message}
    if items is not None:
        detail["items"] = items
    return HTTPException(status_code=status, detail=detail)


def require_json(request: Request) -> None:
    """Writes take ``application/json`` only (or a ``+json`` type): a form or plain-text post
    is no simple cross-site request."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _JSON_TYPES and not kind.endswith("+json"):
        raise problem(415, f"send the body as application/json, not '{kind or 'nothing'}'")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise problem(
            413,
            f"request body is {declared} bytes; the limit is {limit} (NEWSDEDUP_MAX_BODY_BYTES)",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise problem(
                413, f"request body is over the limit of {limit} bytes (NEWSDEDUP_MAX_BODY_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def json_depth(raw: bytes) -> int:
    """How deep the brackets of a JSON text nest (outside strings), without parsing it."""
    outside = np.frombuffer(_STRINGS.sub(b'""', raw), dtype=np.uint8)
    steps = np.zeros(len(outside), dtype=np.int64)
    steps[(outside == ord("[")) | (outside == ord("{"))] = 1
    steps[(outside == ord("]")) | (outside == ord("}"))] = -1
    return int(np.cumsum(steps).max()) if len(steps) else 0


def decode_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise problem(400, f"request body is not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise problem(400, "request body is empty; send a JSON array of articles")
    depth = json_depth(raw)
    if depth > MAX_DEPTH:
        raise problem(400, f"request body nests {depth} levels deep; the limit is {MAX_DEPTH}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise problem(
            400, f"request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


@dataclass
class Batch:
    """The articles of a request in order, each id once, and the items that repeated an id
    (answered as its first occurrence)."""

    articles: list[Article] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # the id of every item, in order
    repeated: list[dict[str, Any]] = field(default_factory=list)


def parse_batch(data: Any, settings: Settings) -> Batch:
    """Articles from ``[...]`` or ``{"articles": [...]}``; every bad item is reported."""
    items = data.get("articles") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise problem(422, "send a JSON array of articles, or an object with an 'articles' array")
    if not items:
        raise problem(422, "the batch is empty")
    if len(items) > settings.max_batch:
        raise problem(
            413,
            f"the batch has {len(items)} articles; the limit is {settings.max_batch} (NEWSDEDUP_MAX_BATCH)",
        )
    batch = Batch()
    first: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            article = parse_article(item, settings.limits)
        except ArticleError as exc:
            errors.append({"index": index, "field": exc.field, "problem": exc.problem})
            continue
        batch.order.append(article.id)
        if article.id in first:
            batch.repeated.append({"id": article.id, "index": index, "first": first[article.id]})
            continue
        first[article.id] = index
        batch.articles.append(article)
    if errors:
        raise problem(
            422, f"{len(errors)} of {len(items)} articles are invalid; nothing was stored", errors
        )
    return batch


MATCH_ID = "(match)"


def parse_one(data: Any, settings: Settings) -> Article:
    """One article (a JSON object) to match; its ``id`` may be left out."""
    if not isinstance(data, dict):
        raise problem(422, "send one article as a JSON object")
    try:
        return parse_article({"id": MATCH_ID, **data}, settings.limits)
    except ArticleError as exc:
        raise problem(
            422,
            "the article is invalid",
            [{"index": 0, "field": exc.field, "problem": exc.problem}],
        ) from exc


async def read_one(request: Request, settings: Settings) -> Article:
    require_json(request)
    return parse_one(decode_json(await read_body(request, settings.max_body_bytes)), settings)


async def read_articles(request: Request, settings: Settings) -> Batch:
    require_json(request)
    return parse_batch(decode_json(await read_body(request, settings.max_body_bytes)), settings)
