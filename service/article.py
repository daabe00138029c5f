"""The input article: one JSON object, validated into a typed record.

Validation lives here so the CLI and the HTTP API reject bad input with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.config import InputLimits

_STRING_FIELDS = ("title", "url", "source", "language")
MAX_ID_CHARS = 512


class ArticleError(ValueError):
    """A field of an input article is missing or malformed; the message says how to fix it."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"field '{field_name}': {problem}")
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class Article:
    """An article as the client sent it. Exactly one of ``text`` and ``html`` is the body."""

    id: str
    text: str | None = None
    html: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    captions: tuple[str, ...] = field(default_factory=tuple)
    language: str | None = None


def parse_datetime(value: str, name: str = "published_at") -> datetime:
    """Parse ISO 8601 into UTC; a date without a zone is taken as UTC so all times compare.
    Every date the service reads comes through here: a date that is not one, or that
    overflows when converted to UTC (year 1 east of Greenwich, year 9999 west of it), is
    an ``ArticleError`` naming the field."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except ValueError as exc:
        raise ArticleError(name, f"'{value[:40]}' is not an ISO 8601 date") from exc
    except OverflowError as exc:
        raise ArticleError(name, f"'{value[:40]}' is out of range once converted to UTC") from exc


def clean_string(name: str, value: str) -> str:
    """A text as the store can keep it: NUL characters (a scraping leftover no database text
    column holds) are removed; a lone surrogate (half of a UTF-16 pair: no character at
    all) is refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArticleError(name, f"holds a lone surrogate at character {exc.start}") from exc
    return value.replace("\x00", "")


def check_id(value: object, name: str = "id") -> str:
    """An article id: any non-empty string of at most MAX_ID_CHARS characters without NUL,
    other control characters or lone surrogates. It is kept exactly as given, and every id
    the API accepts can be read and taken down (ids may hold "/")."""
    if not isinstance(value, str) or not value.strip():
        raise ArticleError(name, "must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise ArticleError(name, f"is {len(value)} characters; the limit is {MAX_ID_CHARS}")
    if clean_string(name, value) != value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ArticleError(name, "holds a control character")
    return value


def _optional_str(obj: dict[str, Any], name: str, limit: int) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArticleError(name, f"must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise ArticleError(name, f"is {len(value)} characters; the limit is {limit}")
    return clean_string(name, value)


def parse_article(obj: Any, limits: InputLimits) -> Article:
    """Validate one decoded JSON value as an article. Unknown fields are ignored."""
    if not isinstance(obj, dict):
        raise ArticleError("(article)", f"must be a JSON object, got {type(obj).__name__}")
    raw_id = obj.get("id")
    if raw_id is None:
        raise ArticleError("id", "is required")
    raw_id = check_id(raw_id)
    text = _optional_str(obj, "text", limits.max_text_chars)
    html = _optional_str(obj, "html", limits.max_text_chars)
    if text is None and html is None:
        raise ArticleError("text", "one of 'text' or 'html' is required")
    if text is not None and html is not None:
        raise ArticleError("html", "give 'text' or 'html', not both")
    strings = {name: _optional_str(obj, name, limits.max_title_chars) for name in _STRING_FIELDS}
    published = obj.get("published_at")
    if published is not None and not isinstance(published, str):
        raise ArticleError("published_at", "must be an ISO 8601 string")
    captions = obj.get("captions")
    if captions is None:
        captions = []
    if not isinstance(captions, list) or not all(isinstance(c, str) for c in captions):
        raise ArticleError("captions", "must be a list of strings")
    if len(captions) > limits.max_captions:
        raise ArticleError(
            "captions", f"has {len(captions)} items; the limit is {limits.max_captions}"
        )
    return Article(
        id=raw_id,
        text=text,
        html=html,
        published_at=parse_datetime(published) if published else None,
        captions=tuple(clean_string(f"captions[{n}]", c) for n, c in enumerate(captions)),
        **strings,
    )
