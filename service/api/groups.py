"""Routes for reading duplicate groups and stories."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from service import queries
from service.api.articles import ERRORS
from service.api.deps import ReaderDep
from service.api.schemas import GroupOut, StoriesOut, StoryOut
from service.article import parse_datetime

router = APIRouter(prefix="/v1", tags=["groups"])
GroupId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a duplicate group id")]
StoryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a story id")]


@router.get("/duplicates/{group_id}", response_model=GroupOut, responses=ERRORS)
async def duplicate_group(group_id: GroupId, reader: ReaderDep) -> GroupOut:
    return await run_in_threadpool(queries.duplicate_group, reader, group_id)


@router.get("/stories/{story_id}", response_model=StoryOut, responses=ERRORS)
async def story(story_id: StoryId, reader: ReaderDep) -> StoryOut:
    return await run_in_threadpool(queries.story, reader, story_id)


@router.get("/stories", response_model=StoriesOut, responses=ERRORS)
async def stories(
    reader: ReaderDep,
    since: Annotated[
        str | None,
        Query(description="stories with articles ingested since (ISO 8601; no zone: UTC)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    sort: Annotated[
        queries.Sort,
        Query(
            description="size: most articles first; recent: latest article first; rising: "
            "most articles in the last 6 hours against the story's own rate over the 48 "
            "hours before (up to the latest article)"
        ),
    ] = "size",
) -> StoriesOut:
    when = parse_datetime(since, "since") if since is not None else None
    return await run_in_threadpool(queries.recent_stories, reader, when, limit, offset, sort)
