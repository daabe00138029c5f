"""Dependencies shared by the routes: the engine, and the API key for writes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from service.api.body import problem
from service.engine import Engine
from service.queries import Reader


def engine_of(request: Request) -> Engine:
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise problem(503, "the service is still starting")
    return engine


def require_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Writes need ``X-API-Key`` (or ``Authorization: Bearer``) when NEWSDEDUP_API_KEY is set."""
    expected = request.app.state.settings.api_key
    if not expected:
        return
    given = x_api_key
    auth = request.headers.get("authorization", "")
    if given is None and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if given is None:
        raise problem(401, "this endpoint needs an API key: send it in the X-API-Key header")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise problem(401, "the API key is not valid")


EngineDep = Annotated[Engine, Depends(engine_of)]


def reader_of(request: Request) -> Reader:
    """The read views' context, made with the engine at start."""
    reader: Reader | None = getattr(request.app.state, "reader", None)
    if reader is None:
        raise problem(503, "the service is still starting")
    return reader


ReaderDep = Annotated[Reader, Depends(reader_of)]
