from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from service.article import ArticleError, parse_article
from service.feed import FeedError, read_feed
from service.settings import Settings


def _feed(*lines: bytes) -> io.BytesIO:
    return io.BytesIO(b"\n".join(lines) + b"\n")


def _line(**obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("obj", "field", "words"),
    [
        ({"text": "x"}, "id", "required"),
        ({"id": 7, "text": "x"}, "id", "non-empty string"),
        ({"id": " ", "text": "x"}, "id", "non-empty string"),
        ({"id": "a"}, "text", "one of 'text' or 'html'"),
        ({"id": "a", "text": "x", "html": "<p>x</p>"}, "html", "not both"),
        ({"id": "a", "text": ["x"]}, "text", "must be a string"),
        ({"id": "a", "text": "x", "title": 3}, "title", "must be a string"),
        ({"id": "a", "text": "x", "published_at": "yesterday"}, "published_at", "ISO 8601"),
        ({"id": "a", "text": "x", "published_at": 20240101}, "published_at", "ISO 8601"),
        ({"id": "a", "text": "x", "captions": "one"}, "captions", "list of strings"),
        ({"id": "a", "text": "x", "captions": [1]}, "captions", "list of strings"),
        ([1, 2], "(article)", "JSON object"),
    ],
)
def test_bad_articles_name_the_field(
    settings: Settings, obj: object, field: str, words: str
) -> None:
    with pytest.raises(ArticleError) as err:
        parse_article(obj, settings.limits)
    assert err.value.field == field
    assert words in str(err.value)


def test_huge_text_is_rejected_with_the_limit() -> None:
    settings = Settings(max_text_chars=1000)
    with pytest.raises(ArticleError, match="limit is 1000"):
        parse_article({"id": "a", "text": "x" * 1001}, settings.limits)


def test_dates_are_utc_and_unknown_fields_ignored(settings: Settings) -> None:
    article = parse_article(
        {"id": "a", "text": "", "published_at": "2026-06-04T10:00:00+02:00", "extra": {"x": 1}},
        settings.limits,
    )
    assert article.published_at == datetime(2026, 6, 4, 8, tzinfo=UTC)
    assert parse_article(
        {"id": "b", "text": "t", "published_at": "2026-06-04"}, settings.limits
    ).published_at == (datetime(2026, 6, 4, tzinfo=UTC))


def test_bad_lines_are_reported_and_good_ones_kept(settings: Settings) -> None:
    feed = read_feed(
        _feed(
            _line(id="a", text="one"),
            b'{"id": "b", "text": ',
            b'{"id": "c", "text": "caf\xe9"}',
            _line(id="d"),
            b"",
            _line(id="e", text="two"),
        ),
        settings.limits,
    )
    assert [a.id for a in feed.articles] == ["a", "e"]
    assert [(b.line, b.field) for b in feed.bad] == [(2, "(line)"), (3, "(line)"), (4, "text")]
    assert "malformed JSON" in str(feed.bad[0])
    assert "invalid UTF-8 at byte" in str(feed.bad[1])


def test_strict_mode_stops_at_the_first_bad_line(settings: Settings) -> None:
    with pytest.raises(FeedError, match="line 2: field 'id'"):
        read_feed(
            _feed(_line(id="a", text="x"), _line(text="y"), _line(id="c", text="z")),
            settings.limits,
            strict=True,
        )


def test_repeated_id_keeps_its_first_line(settings: Settings) -> None:
    feed = read_feed(
        _feed(_line(id="a", text="old"), _line(id="b", text="b"), _line(id="a", text="new")),
        settings.limits,
    )
    assert [(a.id, a.text) for a in feed.articles] == [("a", "old"), ("b", "b")]
    assert feed.repeated == [("a", 1, 3)]
