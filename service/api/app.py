"""The FastAPI application: lifespan (store, model, engine), errors and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from service import __version__
from service.api import articles, browser, groups, ops, reindex
from service.api.docs import add_docs
from service.article import ArticleError
from service.embedder import Embedder, load_embedder
from service.engine import Engine, NotFound, Recovering
from service.heap import tune_heap
from service.metrics import Metrics
from service.queries import KeywordBackground, Missing, Reader
from service.settings import Settings
from service.store import Store, StoreUnavailable, connect
from service.store.lock import StoreBusy, WriteBusy, serve_lock, settle_interrupted_runs
from service.store.migrate import upgrade
from service.store.wal import background_checkpoints

log = logging.getLogger(__name__)


async def _watch_versions(engine: Engine, every: float) -> None:
    """Swap in each new index version a reindex writes, without a restart."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(engine.refresh)
        except Exception:
            log.exception("could not switch to the new index version; still serving the old one")


def create_app(settings: Settings, embedder: Embedder | None = None) -> FastAPI:
    """The app; the model, store and index load in its lifespan, not at import."""
    tune_heap()  # before the request threads exist (service.heap says why)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = connect(settings.store_url, checkpoints=False)  # a thread of ours does (store.wal)
        upgrade(engine)
        store = Store(engine)
        try:
            with serve_lock(store, settings.data_dir), background_checkpoints(engine):
                settle_interrupted_runs(settings.data_dir, store)
                app.state.engine = Engine(settings, store, embedder or load_embedder(settings))
                app.state.reader = Reader(
                    store, settings.pipeline.canonical, KeywordBackground(store)
                )
                watcher = asyncio.create_task(
                    _watch_versions(app.state.engine, settings.reload_poll_seconds)
                )
                log.info("ready", extra={"store": engine.url.render_as_string(hide_password=True)})
                try:
                    yield
                finally:
                    watcher.cancel()
                    app.state.engine.snapshot()
                    app.state.engine.close()
                    app.state.engine = app.state.reader = None
        except StoreBusy as exc:
            log.error(str(exc))
            raise
        finally:
            engine.dispose()
        log.info("stopped")

    app = FastAPI(
        title="newsdedup",
        version=__version__,
        description="Duplicate groups, story clusters and caption/boilerplate flags for news articles.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    add_docs(app)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.engine = app.state.reader = None
    for router in (articles.router, groups.router, reindex.router, ops.router, browser.router):
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["content-type", "x-api-key", "authorization"],
        )

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics: Metrics = app.state.metrics
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(NotFound)
    @app.exception_handler(Missing)
    async def not_found(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": {"message": str(exc.args[0])}})

    @app.exception_handler(ArticleError)
    async def bad_value(_request: Request, exc: ArticleError) -> JSONResponse:
        return JSONResponse(
            status_code=422, content={"detail": {"message": str(exc), "field": exc.field}}
        )

    @app.exception_handler(Recovering)
    @app.exception_handler(WriteBusy)
    async def recovering(_request: Request, exc: Recovering | WriteBusy) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": str(max(1, round(exc.seconds)))},
            content={"detail": {"message": str(exc)}},
        )

    @app.exception_handler(StoreUnavailable)
    async def store_down(_request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("store unavailable", extra={"error": str(exc.orig)})
        return JSONResponse(
            status_code=503, content={"detail": {"message": "the store is unavailable; retry"}}
        )

    return app


def app_from_environment() -> FastAPI:
    """The app of one of ``newsdedup serve --workers N``'s processes, its settings read
    from the environment as the command's were."""
    from service.logs import configure

    configure()
    return create_app(Settings())
