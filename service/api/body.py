"""Reading a request body of articles: size, encoding, JSON and each item's fields.

A batch is all-or-nothing: one bad item rejects the request (422) with every problem
listed by item index and field, and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request

from service.article import Article, ArticleError, parse_article
from service.settings import Settings


def problem(status: int, message: str, items: list[dict[str, Any]] | None = None) -> HTTPException:
    detail: dict[str, Any] = {"message": message}
    if items is not None:
        detail["items"] = items
    return HTTPException(status_code=status, detail=detail)


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


def decode_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise problem(400, f"request body is not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise problem(400, "request body is empty; send a JSON array of articles")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise problem(
            400, f"request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def parse_batch(data: Any, settings: Settings) -> list[Article]:
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
    articles: list[Article] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            articles.append(parse_article(item, settings.limits))
        except ArticleError as exc:
            errors.append({"index": index, "field": exc.field, "problem": exc.problem})
    if errors:
        raise problem(
            422, f"{len(errors)} of {len(items)} articles are invalid; nothing was stored", errors
        )
    return articles


async def read_articles(request: Request, settings: Settings) -> list[Article]:
    return parse_batch(decode_json(await read_body(request, settings.max_body_bytes)), settings)
