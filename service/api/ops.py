"""Routes for operators: liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.metrics import Metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Model and index loaded, store reachable", responses={503: {}})
async def readyz(request: Request, response: Response) -> dict[str, Any]:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        response.status_code = 503
        return {"status": "starting"}
    try:
        await run_in_threadpool(engine.store.ping)
    except Exception as exc:
        response.status_code = 503
        return {"status": "store unreachable", "error": type(exc).__name__}
    return {"status": "ready", "model": engine.embedder.name, "vectors": engine.vectors}


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    m: Metrics = request.app.state.metrics
    engine = getattr(request.app.state, "engine", None)
    if engine is not None:
        m.articles.set(engine.stats.articles)
        m.copies.set(engine.stats.copies)
        m.embedded.set(engine.stats.embedded)
        m.model_seconds.set(engine.stats.model_seconds)
        m.vectors.set(engine.vectors)
        m.index_version.set(engine.version)
        last = await run_in_threadpool(engine.store.last_reindex)
        if last is not None and last.finished_at is not None:
            for figure, value in last.report.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    m.reindex.labels(figure).set(value)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
