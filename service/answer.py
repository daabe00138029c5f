"""The output contract for one article: the same shape from ``cluster``, the API and the store."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.flags import Flag


class FlagOut(BaseModel):
    kind: str = Field(description="repeated_caption, caption, repeated_block or boilerplate")
    text: str
    count: int = Field(description="occurrences in this page")
    spans: list[list[int]] = Field(description="[start, end) character offsets in the text")
    pages: int | None = Field(
        None, description="boilerplate: distinct copy groups (overall or on the site) it recurs in"
    )

    @classmethod
    def of(cls, flag: Flag) -> FlagOut:
        return cls(
            kind=flag.kind,
            text=flag.text,
            count=flag.count,
            spans=[list(span) for span in flag.spans],
            pages=flag.pages,
        )


class ArticleAnswer(BaseModel):
    """Where one article went: its duplicate group, canonical copy and story, and its flags."""

    id: str
    duplicate_group: int
    canonical_id: str = Field(description="the group's earliest published member")
    story: int
    is_duplicate: bool = Field(description="it is a copy of the group's canonical text")
    similarity: float | None = Field(
        description="shingle containment for a copy, time-decayed cosine for a story join"
    )
    flags: list[FlagOut]

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")
