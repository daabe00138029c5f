"""Documented shapes of requests and answers (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.answer import ArticleAnswer

EXAMPLE_ARTICLE: dict[str, Any] = {
    "id": "wire-2026-06-04-0001",
    "title": "Riverton's Halvard Bridge to close for cable repairs",
    "text": "RIVERTON (Wire) -- The Halvard Bridge will close for six weeks from Monday...",
    "source": "north-post.example",
    "url": "https://north-post.example/bridge",
    "published_at": "2026-06-04T08:00:00Z",
    "captions": ["Traffic on the Halvard Bridge (Photo: Wire)"],
}


class ArticleIn(BaseModel):
    """One article. Exactly one of ``text`` (as scraped) and ``html`` is the body."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLE_ARTICLE]})

    id: str = Field(min_length=1)
    text: str | None = None
    html: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: str | None = Field(None, description="ISO 8601; without a zone, UTC")
    captions: list[str] | None = None
    language: str | None = None


class RepeatOut(BaseModel):
    id: str
    index: int = Field(description="the position of the repeat in the request")
    first: int = Field(description="the position of the item it repeats (the one taken)")


class ArticlesOut(BaseModel):
    articles: list[ArticleAnswer] = Field(description="one answer per item of the request")
    repeated: list[RepeatOut] = Field(
        default_factory=list,
        description="items whose id an earlier item of the request has: the first is taken, "
        "and each repeat is answered as it",
    )


class MemberOut(BaseModel):
    id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: datetime | None
    is_duplicate: bool
    similarity: float | None


class GroupOut(BaseModel):
    id: int
    story: int
    canonical_id: str
    canonical_reason: str = Field(
        description="why the canonical leads the group, under NEWSDEDUP_CANONICAL",
        examples=["wire copy: credits AP, earliest such"],
    )
    size: int
    sources: list[str]
    members: list[MemberOut]
    merged_from: int | None = Field(
        None, description="the id asked for, when it was merged into this one"
    )


class SourceCount(BaseModel):
    source: str
    articles: int


class SourcesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 2,
                    "items": [
                        {"source": "wire.example", "articles": 3},
                        {"source": "north-post.example", "articles": 1},
                    ],
                }
            ]
        }
    )

    count: int = Field(description="distinct sources (an article without one counts as none)")
    items: list[SourceCount] = Field(description="articles per source, most first")


class ReporterOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "wire-2026-06-04-0001",
                    "source": "wire.example",
                    "title": "Riverton's Halvard Bridge to close for cable repairs",
                    "published_at": "2026-06-04T08:00:00Z",
                }
            ]
        }
    )

    id: str
    source: str | None
    title: str | None
    published_at: datetime | None


class StoryFields(BaseModel):
    """What a story shows people: its title, who reported it, when, and its words."""

    title: str | None = Field(
        description="the canonical headline of the story's most central duplicate group",
        examples=["Riverton's Halvard Bridge to close for cable repairs"],
    )
    first_seen: datetime | None = Field(description="the earliest publication time")
    last_seen: datetime | None = Field(description="the latest publication time")
    sources: SourcesOut
    first_reporter: ReporterOut | None = Field(
        description="the earliest published article (else the first ingested)"
    )
    timeline: list[tuple[datetime, int]] = Field(
        description="[start, articles] per hour, per day when the story spans over a week; "
        "by publication time, else ingestion time; the counts add up to the story's size",
        examples=[[["2026-06-04T08:00:00Z", 3], ["2026-06-04T09:00:00Z", 1]]],
    )
    keywords: list[str] = Field(
        description="terms that set the story apart from the rest of the window "
        "(class-based TF-IDF over its groups' leads)",
        examples=[["halvard", "bridge", "cable", "riverton"]],
    )


class StoryOut(StoryFields):
    id: int
    size: int
    groups: list[GroupOut]
    merged_from: int | None = None


class StorySummary(StoryFields):
    id: int
    articles: int
    headline: str | None = Field(description="the title of the story's first article")


class StoriesOut(BaseModel):
    stories: list[StorySummary]
    next_offset: int | None


class ErrorOut(BaseModel):
    detail: dict[str, object] | str | list[object]


ARTICLES_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "array", "items": ArticleIn.model_json_schema(), "minItems": 1},
                    {
                        "type": "object",
                        "properties": {
                            "articles": {"type": "array", "items": ArticleIn.model_json_schema()}
                        },
                        "required": ["articles"],
                    },
                ]
            },
            "example": [EXAMPLE_ARTICLE],
        }
    },
}


MATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {**ArticleIn.model_json_schema(), "required": []},
            "example": {k: v for k, v in EXAMPLE_ARTICLE.items() if k != "id"},
        }
    },
}
