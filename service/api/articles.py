"""Routes for articles: ingest, one-off clustering, read and takedown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.answer import ArticleAnswer, MatchOut
from service.api.body import Batch, read_articles, read_one
from service.api.deps import EngineDep, require_key
from service.api.schemas import ARTICLES_BODY, MATCH_BODY, ArticlesOut, ErrorOut
from service.article import MAX_ID_CHARS, check_id

router = APIRouter(prefix="/v1", tags=["articles"])
PathId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=3 * MAX_ID_CHARS,
        description="the client's article id, percent-encoded; it may hold '/'",
    ),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 413, 415, 422)
}


def _in_order(batch: Batch, answers: Sequence[ArticleAnswer]) -> dict[str, Any]:
    """One answer per item of the request (a repeated id answers as its first occurrence),
    and the repeats."""
    by_id = {a.id: a for a in answers}
    return {"articles": [by_id[i] for i in batch.order], "repeated": batch.repeated}


@router.post(
    "/articles",
    response_model=ArticlesOut,
    dependencies=[Depends(require_key)],
    openapi_extra={"requestBody": ARTICLES_BODY},
    responses=ERRORS,
    summary="Ingest a batch: assign, store and answer each article",
)
async def ingest(request: Request, engine: EngineDep) -> dict[str, Any]:
    batch = await read_articles(request, engine.settings)
    return _in_order(batch, await run_in_threadpool(engine.ingest, batch.articles))


@router.post(
    "/cluster",
    response_model=ArticlesOut,
    dependencies=[Depends(require_key)],
    openapi_extra={"requestBody": ARTICLES_BODY},
    responses=ERRORS,
    summary="Cluster only this batch; nothing is stored and ids are local to the answer",
)
async def cluster(request: Request, engine: EngineDep) -> dict[str, Any]:
    batch = await read_articles(request, engine.settings)
    run = await run_in_threadpool(engine.cluster_only, batch.articles)
    return _in_order(batch, run.answers)


@router.post(
    "/match",
    response_model=MatchOut,
    openapi_extra={"requestBody": MATCH_BODY},
    responses=ERRORS,
    summary="Which story is this text? Its stored copy group and nearest stories; "
    "nothing is stored",
)
async def match(
    request: Request,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=50, description="most stories to return")] = 5,
) -> MatchOut:
    article = await read_one(request, engine.settings)
    return await run_in_threadpool(engine.match, article, limit)


@router.get("/articles/{article_id:path}", response_model=ArticleAnswer, responses=ERRORS)
async def get_article(article_id: PathId, engine: EngineDep) -> ArticleAnswer:
    answers = await run_in_threadpool(engine.answers, [check_id(article_id, "article_id")])
    return answers[0]


@router.delete(
    "/articles/{article_id:path}",
    status_code=204,
    dependencies=[Depends(require_key)],
    responses=ERRORS,
    summary="Take an article down: from the store, the index, its group and story",
)
async def delete_article(article_id: PathId, engine: EngineDep) -> Response:
    await run_in_threadpool(engine.delete, check_id(article_id, "article_id"))
    return Response(status_code=204)
