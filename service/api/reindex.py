"""Routes for the reindex: start one in the background, and read the last run's report."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service.api.articles import ERRORS
from service.api.body import problem
from service.api.deps import EngineDep, require_key
from service.api.schemas import ErrorOut
from service.engine import Engine
from service.reindex import Reindex
from service.store import utc
from service.store.lock import ReindexBusy

router = APIRouter(prefix="/v1/reindex", tags=["reindex"])
log = logging.getLogger(__name__)


def _run(
    engine: Engine, started: threading.Event, busy: threading.Event, ended: threading.Event
) -> None:
    try:
        job = Reindex(engine.settings.reindex, engine.store, lambda: engine.embedder)
        job.run(on_start=started.set)
        engine.refresh()
    except ReindexBusy:
        busy.set()
    except Exception:
        log.exception("reindex failed")
    finally:
        ended.set()


@router.post(
    "",
    status_code=202,
    dependencies=[Depends(require_key)],
    responses={**ERRORS, 409: {"model": ErrorOut}},
    summary="Start a reindex in the background (one at a time); see /v1/reindex/last",
)
async def start(engine: EngineDep) -> JSONResponse:
    started, busy, ended = threading.Event(), threading.Event(), threading.Event()
    worker = threading.Thread(
        target=_run, args=(engine, started, busy, ended), name="reindex", daemon=True
    )
    worker.start()
    while not (started.is_set() or ended.is_set()):
        await asyncio.sleep(0.02)
    if busy.is_set():
        raise problem(409, "a reindex is already running")
    if not started.is_set():
        raise problem(503, "the reindex could not start; see the service log")
    return JSONResponse(status_code=202, content={"status": "started"})


@router.get("/last", responses=ERRORS, summary="What the last reindex changed")
async def last(engine: EngineDep) -> dict[str, Any]:
    row = await run_in_threadpool(engine.store.last_reindex)
    if row is None:
        raise problem(404, "no reindex has run yet")
    return {
        "id": row.id,
        "started_at": utc(row.started_at),
        "finished_at": utc(row.finished_at),
        "status": row.status,
        "report": row.report,
    }
