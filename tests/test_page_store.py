"""Copy detection asks the store: band keys and headline terms in indexed tables, kept in
step by every write, and given to the pages of a store written before them."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from service.api.app import create_app
from service.embedder import Embedder
from service.settings import Settings
from service.store import ArticleRow, ArticleSketchRow, ArticleTextRow, MetaRow, Store, connect
from service.store.schema import CopyBandRow, HeadlineTermRow
from tests.planted import planted_events


def _count(store: Store, table: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_pages_of_an_older_store_are_indexed_at_start_and_leave_with_their_article(
    tmp_path: Path, database_url: str, model: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    rows = planted_events(4, seed=21)
    originals = [r for r in rows if str(r["id"]).startswith("o")]
    with TestClient(create_app(settings, model)) as client:
        assert client.post("/v1/articles", json=originals).status_code == 200
    store = Store(connect(settings.store_url))
    bands = _count(store, CopyBandRow)
    assert bands > 0
    with store.session() as s:  # as a store written before the copy index
        s.execute(delete(CopyBandRow))
        s.execute(delete(HeadlineTermRow))
        s.execute(delete(MetaRow).where(MetaRow.key == "copy_index"))
    with TestClient(create_app(settings, model)) as client:
        assert _count(store, CopyBandRow) == bands
        copies = [r for r in rows if str(r["id"]).startswith("c")]
        answers = client.post("/v1/articles", json=copies).json()["articles"]
        assert all(a["is_duplicate"] for a in answers)
        assert client.delete("/v1/articles/o0").status_code == 204
        assert client.delete("/v1/articles/c0").status_code == 204
    with store.session() as s:  # the taken-down pages' terms went with them
        for table in (CopyBandRow, HeadlineTermRow, ArticleTextRow, ArticleSketchRow):
            orphans = s.scalar(
                select(func.count())
                .select_from(table)
                .where(~table.member.in_(select(ArticleRow.member)))
            )
            assert orphans == 0
    assert 0 < _count(store, CopyBandRow) < bands * 2
    store.engine.dispose()
