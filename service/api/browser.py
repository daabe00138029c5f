"""The story browser: server-rendered pages over the same read views as the API.

Plain links and forms (no script at all: the pages send a policy that forbids it), every
text from an article escaped by the templates, and a layout that reads on a phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service import queries
from service.answer import FlagOut, MatchOut
from service.api.body import parse_one, read_body
from service.api.deps import EngineDep, ReaderDep
from service.article import check_id
from service.engine import Engine, NotFound
from service.prepare import prepare
from service.reindex import article_of

TEMPLATES = Jinja2Templates(directory=FilePath(__file__).with_name("templates"))
TEMPLATES.env.autoescape = True
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
FORM_LIMIT = 2_000_000  # bytes of a pasted text


def spark_points(timeline: Sequence[tuple[datetime, int]]) -> str:
    """SVG polyline points for a timeline in a 100 x 20 box."""
    counts = [n for _, n in timeline] or [0]
    if len(counts) == 1:
        counts = counts * 2
    top = max(counts) or 1
    step = 100 / (len(counts) - 1)
    return " ".join(f"{i * step:.1f},{20 - 18 * n / top:.1f}" for i, n in enumerate(counts))


def segments(text: str, flags: Sequence[FlagOut]) -> list[tuple[str, FlagOut | None]]:
    """The text cut at its flags' spans: (part, the flag marking it or None), in order."""
    spans = sorted(
        (max(0, s), min(len(text), e), f) for f in flags for s, e in f.spans if 0 <= s < e
    )
    out: list[tuple[str, FlagOut | None]] = []
    at = 0
    for start, end, flag in spans:
        if start < at or end <= start:
            continue
        if start > at:
            out.append((text[at:start], None))
        out.append((text[start:end], flag))
        at = end
    if at < len(text):
        out.append((text[at:], None))
    return out


def counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


TEMPLATES.env.filters["spark_points"] = spark_points
TEMPLATES.env.filters["counted"] = counted
TEMPLATES.env.filters["urlencode_id"] = lambda value: quote(str(value), safe="")

router = APIRouter(tags=["browser"], default_response_class=HTMLResponse)


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _missing(request: Request, what: str) -> HTMLResponse:
    return _page(request, "match.html", 404, error=f"No {what}.", result=None)


@router.get("/", summary="The stories of the window, as a page")
async def stories_page(
    request: Request,
    reader: ReaderDep,
    sort: Annotated[queries.Sort, Query()] = "size",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    found = await run_in_threadpool(queries.recent_stories, reader, None, 20, offset, sort)
    return _page(
        request, "stories.html", stories=found.stories, next_offset=found.next_offset, sort=sort
    )


@router.get("/stories/{story_id}", summary="One story, as a page")
async def story_page(
    request: Request, reader: ReaderDep, story_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> HTMLResponse:
    try:
        story = await run_in_threadpool(queries.story, reader, story_id)
    except queries.Missing:
        return _missing(request, f"story {story_id}")
    return _page(request, "story.html", story=story)


def _article_view(engine: Engine, article_id: str) -> dict[str, Any]:
    answer = engine.answers([article_id])[0]
    row = engine.store.input_of(article_id)
    if row is None:  # taken down in between
        raise NotFound(f"no article '{article_id}'")
    page = prepare(article_of(row), engine.config.page)
    return {
        "answer": answer,
        "title": row.title,
        "source": row.source,
        "published_at": row.published_at,
        "segments": segments(page.text, answer.flags),
    }


@router.get("/articles/{article_id:path}", summary="One article, its flags and evidence")
async def article_page(request: Request, engine: EngineDep, article_id: str) -> HTMLResponse:
    try:
        view = await run_in_threadpool(_article_view, engine, check_id(article_id, "article_id"))
    except NotFound:
        return _missing(request, f"article '{article_id}'")
    return _page(request, "article.html", **view)


@router.get("/match", summary="A form to match a text")
async def match_form(request: Request) -> HTMLResponse:
    return _page(request, "match.html", result=None)


def _titles(reader: queries.Reader, result: MatchOut) -> dict[int, str | None]:
    wanted = {s.story for s in result.stories}
    return {s: queries.story(reader, s).title for s in wanted}


@router.post(
    "/match",
    summary="Match a pasted text (a form post; nothing is stored)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"title": {"type": "string"}, "text": {"type": "string"}},
                        "required": ["text"],
                    }
                }
            }
        }
    },
)
async def match_page(request: Request, engine: EngineDep, reader: ReaderDep) -> HTMLResponse:
    raw = await read_body(request, FORM_LIMIT)
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, {"message": "send the form as UTF-8 url-encoded fields"}) from None
    title, text = (form.get("title") or [""])[0], (form.get("text") or [""])[0]
    fields = {"title": title or None, "text": text}
    try:
        article = parse_one(fields, engine.settings)
    except HTTPException as exc:
        detail: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {}
        problems: list[dict[str, Any]] = detail.get("items") or [detail]
        said = "; ".join(str(p.get("problem") or p.get("message")) for p in problems)
        return _page(
            request,
            "match.html",
            422,
            error=f"That text cannot be matched: {said}",
            result=None,
            form_title=title,
            form_text=text,
        )
    result = await run_in_threadpool(engine.match, article)
    titles = await run_in_threadpool(_titles, reader, result)
    return _page(
        request,
        "match.html",
        result=result,
        titles=titles,
        form_title=title,
        form_text=text,
    )
