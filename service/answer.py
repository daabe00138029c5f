"""The output contract for one article: the same shape from ``cluster``, the API and the store."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.flags import Flag


class FlagOut(BaseModel):
    kind: str = Field(description="repeated_caption, caption, repeated_block or boilerplate")
    text: str
    count: int = Field(description="occurrences in this page")
    spans: list[list[int]] = Field(description="[start, end) character offsets in the text")
    pages: int | None = Field(
        None, description="boilerplate: distinct copy groups (overall or on the site) it recurs in"
    )
    rule: str | None = Field(None, description="which rule flagged it, in words")

    @classmethod
    def of(cls, flag: Flag) -> FlagOut:
        return cls(
            kind=flag.kind,
            text=flag.text,
            count=flag.count,
            spans=[list(span) for span in flag.spans],
            pages=flag.pages,
            rule=flag.rule,
        )


Match = Literal["exact", "near_copy", "story", "new"]


class Evidence(BaseModel):
    """Why an article went where it did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "match": "near_copy",
                    "matched_id": "wire-2026-06-04-0001",
                    "matched_group": 17,
                    "containment": 0.971,
                    "cosine": None,
                    "decayed_cosine": None,
                    "threshold": 0.5,
                },
                {
                    "match": "story",
                    "matched_id": None,
                    "matched_group": 12,
                    "containment": None,
                    "cosine": 0.74,
                    "decayed_cosine": 0.7253,
                    "threshold": 0.6,
                },
            ]
        }
    )

    match: Match = Field(
        description="exact: the same text as the matched copy; near_copy: its shingles lie in "
        "the matched copy's (containment); story: its group joined a story at a decayed "
        "cosine; new: it opened a group and a story"
    )
    matched_id: str | None = Field(None, description="the copy it was matched to")
    matched_group: int | None = Field(
        None, description="the duplicate group it joined, or the group whose story it joined"
    )
    containment: float | None = Field(None, description="copy: shingle containment")
    cosine: float | None = Field(None, description="story: cosine of the two group vectors")
    decayed_cosine: float | None = Field(
        None, description="story: the cosine discounted by the days between the groups"
    )
    threshold: float | None = Field(None, description="the figure the match had to reach")


class ArticleAnswer(BaseModel):
    """Where one article went: its duplicate group, canonical copy and story, and its flags."""

    id: str
    duplicate_group: int
    canonical_id: str = Field(
        description="the group's canonical member under NEWSDEDUP_CANONICAL (by default the "
        "earliest published)"
    )
    story: int
    is_duplicate: bool = Field(description="it is a copy of the group's canonical text")
    similarity: float | None = Field(
        description="shingle containment for a copy, time-decayed cosine for a story join"
    )
    flags: list[FlagOut]
    evidence: Evidence | None = Field(
        None, description="how it was matched (none for answers stored before evidence was kept)"
    )

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class CopyOfOut(BaseModel):
    duplicate_group: int
    story: int
    canonical_id: str
    evidence: Evidence


class StoryNearOut(BaseModel):
    story: int
    score: float = Field(description="the decayed cosine to the story's nearest group")
    joins: bool = Field(description="the score reaches the story threshold: it would join")
    evidence: Evidence


class MatchOut(BaseModel):
    """Where an article would go; nothing is stored."""

    duplicate_of: CopyOfOut | None = Field(description="the stored group it is a copy of")
    stories: list[StoryNearOut] = Field(description="the nearest stories, best first")
    flags: list[FlagOut]
