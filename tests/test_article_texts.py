"""A page's input, clean text and flags (``article_texts``), and its sketch and fingerprint
(``article_sketches``), each in a table of their own: written with the article, read back as
given, and gone with it (takedown, purge); stores written before them are moved over by the
migrations and back by their downgrades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, func, insert, select, text

from service.api.app import create_app
from service.embedder import Embedder
from service.reindex import Reindex
from service.settings import Settings
from service.store import ArticleRow, ArticleSketchRow, ArticleTextRow, Store, connect
from service.store.migrate import alembic_config
from service.store.schema import CopyBandRow, HeadlineTermRow
from tests.pages import CAPTION, PARAGRAPHS, scraped_page


def _migrate(store: Store, to: str, down: bool = False) -> None:
    config = alembic_config(store.engine)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, to)


def _count(store: Store, table: Any, where: Any = None) -> int:
    query = select(func.count()).select_from(table)
    with store.session() as s:
        return int(s.scalar(query if where is None else query.where(where)) or 0)


def test_the_upgrades_move_each_page_to_its_own_tables_and_the_downgrades_back(
    database_url: str,
) -> None:
    store = Store(connect(database_url))
    _migrate(store, "0004")  # a store written before the texts and sketches had tables
    stamp = datetime(2026, 1, 2, tzinfo=UTC)
    with store.engine.begin() as conn:
        tables = {t: Table(t, MetaData(), autoload_with=conn) for t in ("articles", "copy_bands")}
        conn.execute(text("INSERT INTO stories (id, created_at) VALUES (1, :t)"), {"t": stamp})
        conn.execute(
            text("INSERT INTO groups (id, story_id, created_at) VALUES (2, 1, :t)"), {"t": stamp}
        )
        page = {"raw": "<p>Page</p>", "raw_kind": "html", "clean_text": "Page"}
        sketched = {"sketch": b"sketch", "shingles": b"\x01\x00\x00\x00", "minhash": b"mh"}
        json = {"captions": [CAPTION], "flags": [{"kind": "repeated_caption", "text": CAPTION}]}
        conn.execute(
            insert(tables["articles"]),
            [
                {
                    "id": "old",
                    "member": 7,
                    "group_id": 2,
                    "is_duplicate": False,
                    "ingested_at": stamp,
                    "words": 1,
                    "content_hash": "h",
                    **sketched,
                    "prepared_with": 1,
                    "lead": "Page",
                    "repost": False,
                    **page,
                    **json,
                }
            ],
        )
        conn.execute(insert(tables["copy_bands"]), [{"key": 5, "member": 7}])
    _migrate(store, "head")
    stored = store.input_of("old")
    assert stored is not None
    assert (stored.raw, stored.raw_kind, stored.captions) == ("<p>Page</p>", "html", [CAPTION])
    assert store.flags([7]) == {7: json["flags"]}
    with store.session() as s:
        assert s.get(ArticleTextRow, 7).clean_text == "Page"  # type: ignore[union-attr]
        moved = s.get(ArticleSketchRow, 7)
        assert moved is not None
        assert (moved.sketch, moved.shingles, moved.minhash) == tuple(sketched.values())
    assert _count(store, CopyBandRow) == 1  # the articles table was altered, not rebuilt
    left = {c.name for c in Table("articles", MetaData(), autoload_with=store.engine).c}
    assert not left & {"raw", "sketch", "shingles", "minhash"}
    _migrate(store, "0004", down=True)
    with store.engine.connect() as conn:
        back = conn.execute(
            text("SELECT raw, raw_kind, clean_text, sketch, shingles, minhash FROM articles")
        ).one()
    assert tuple(back) == ("<p>Page</p>", "html", "Page", *sketched.values())
    store.engine.dispose()


def _article(key: str, published: datetime, lead: int) -> dict[str, object]:
    paragraphs = [PARAGRAPHS[lead], *PARAGRAPHS[:lead], *PARAGRAPHS[lead + 1 :]]
    return {
        "id": key,
        "title": f"Story {key}",
        "text": "\n\n".join([CAPTION, CAPTION, *paragraphs, f"Filed as {key}."]),
        "captions": [CAPTION],
        "published_at": published.isoformat(),
    }


def test_an_article_keeps_its_page_and_sketch_apart_and_they_go_with_the_article(
    tmp_path: Path, database_url: str, model: Embedder
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        retention_days=30,
        purge_outside_window=True,
    )
    recent = datetime.now(UTC) - timedelta(days=1)
    old = recent - timedelta(days=400)
    with TestClient(create_app(settings, model)) as client:
        html = f"<html><body>{scraped_page()}</body></html>"
        body = [
            _article("recent", recent, 0),
            _article("old", old, 1),
            {"id": "html", "html": html},
        ]
        answers = client.post("/v1/articles", json=body).json()["articles"]
        assert any(f["kind"] == "repeated_caption" for f in answers[0]["flags"])
        store = Store(connect(settings.store_url))
        assert _count(store, ArticleTextRow) == _count(store, ArticleSketchRow) == 3
        stored = store.input_of("html")
        assert stored is not None and stored.raw_kind == "html"
        assert stored.raw == html
        # the stored answer carries the flags kept beside the page
        assert client.get("/v1/articles/recent").json()["flags"] == answers[0]["flags"]
        assert "Filed as recent" in client.get("/articles/recent").text
        assert client.delete("/v1/articles/html").status_code == 204
        assert store.input_of("html") is None and _count(store, ArticleTextRow) == 2
        assert _count(store, ArticleSketchRow) == 2
        engine = client.app.state.engine  # type: ignore[attr-defined]
        report = Reindex(settings.reindex, store, lambda: engine.embedder).run()
    assert report.purged == 1
    assert store.input_of("old") is None and store.input_of("recent") is not None
    assert _count(store, ArticleTextRow) == _count(store, ArticleRow) == 1
    assert _count(store, ArticleSketchRow) == 1
    for table in (ArticleTextRow, ArticleSketchRow, CopyBandRow, HeadlineTermRow):
        orphan = ~table.member.in_(select(ArticleRow.member))
        assert _count(store, table, orphan) == 0
    store.engine.dispose()
