"""Routes for articles: ingest, one-off clustering, read and takedown."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.answer import ArticleAnswer
from service.api.body import read_articles
from service.api.deps import EngineDep, require_key
from service.api.schemas import ARTICLES_BODY, ArticlesOut, ErrorOut
from service.article import MAX_ID_CHARS

router = APIRouter(prefix="/v1", tags=["articles"])
ArticleId = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_CHARS, description="the client's article id")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 413, 422)
}


@router.post(
    "/articles",
    response_model=ArticlesOut,
    dependencies=[Depends(require_key)],
    openapi_extra={"requestBody": ARTICLES_BODY},
    responses=ERRORS,
    summary="Ingest a batch: assign, store and answer each article",
)
async def ingest(request: Request, engine: EngineDep) -> dict[str, Any]:
    articles = await read_articles(request, engine.settings)
    return {"articles": await run_in_threadpool(engine.ingest, articles)}


@router.post(
    "/cluster",
    response_model=ArticlesOut,
    dependencies=[Depends(require_key)],
    openapi_extra={"requestBody": ARTICLES_BODY},
    responses=ERRORS,
    summary="Cluster only this batch; nothing is stored and ids are local to the answer",
)
async def cluster(request: Request, engine: EngineDep) -> dict[str, Any]:
    articles = await read_articles(request, engine.settings)
    run = await run_in_threadpool(engine.cluster_only, articles)
    return {"articles": run.answers}


@router.get("/articles/{article_id}", response_model=ArticleAnswer, responses=ERRORS)
async def get_article(article_id: ArticleId, engine: EngineDep) -> ArticleAnswer:
    answers = await run_in_threadpool(engine.answers, [article_id])
    return answers[0]


@router.delete(
    "/articles/{article_id}",
    status_code=204,
    dependencies=[Depends(require_key)],
    responses=ERRORS,
    summary="Take an article down: from the store, the index, its group and story",
)
async def delete_article(article_id: ArticleId, engine: EngineDep) -> Response:
    await run_in_threadpool(engine.delete, article_id)
    return Response(status_code=204)
