"""The HTTP service end to end: real model, real FAISS, real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from index.snapshot import INDEX_FILE
from samples.make_sample_feed import feed
from service.api.app import create_app
from service.embedder import Embedder
from service.settings import Settings
from service.store import ArticleRow

FEED = feed()


def _settings(tmp_path: Path, database_url: str, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, **kw)  # type: ignore[arg-type]


@pytest.fixture
def settings_for(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    return lambda **kw: _settings(tmp_path, database_url, **kw)


@pytest.fixture
def client(settings_for, model: Embedder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(), model)) as c:
        yield c


def _ingest(client: TestClient, rows: list[dict[str, object]]) -> dict[str, dict[str, Any]]:
    response = client.post("/v1/articles", json=rows)
    assert response.status_code == 200, response.text
    return {a["id"]: a for a in response.json()["articles"]}


def _stored(client: TestClient) -> int:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(ArticleRow)))


def test_ingest_groups_copies_and_stories_and_is_idempotent(client: TestClient) -> None:
    first = _ingest(client, FEED[:5])
    # an answer built from the batch just written is the answer the store gives back
    assert _ingest(client, FEED[:5]) == first
    rest = _ingest(client, FEED[5:])
    assert _ingest(client, FEED[5:]) == rest
    answers = first | rest
    group = {i: a["duplicate_group"] for i, a in answers.items()}
    story = {i: a["story"] for i, a in answers.items()}
    assert (
        group["bridge-wire-1"]
        == group["bridge-wire-2"]
        == group["bridge-wire-3"]
        != group["bridge-own-1"]
    )
    assert story["bridge-wire-1"] == story["bridge-own-1"] != story["harvest-wire-1"]
    assert group["harvest-wire-2"] == group["harvest-wire-1"]
    assert (
        answers["bridge-wire-2"]["is_duplicate"]
        and answers["bridge-wire-2"]["canonical_id"] == "bridge-wire-1"
    )
    assert len(set(story.values())) == 5
    again = _ingest(client, FEED[:3] + FEED[:1])
    assert [again[i] == answers[i] for i in again] == [True, True, True]
    assert _stored(client) == len(FEED)


def test_read_back_groups_and_stories(client: TestClient) -> None:
    answers = _ingest(client, FEED)
    group = answers["bridge-wire-2"]["duplicate_group"]
    dup = client.get(f"/v1/duplicates/{group}").json()
    assert dup["canonical_id"] == "bridge-wire-1" and dup["size"] == 3
    assert dup["sources"] == ["north-post.example", "valley-news.example", "wire.example"]
    story = client.get(f"/v1/stories/{answers['bridge-own-1']['story']}").json()
    assert story["size"] == 4 and len(story["groups"]) == 2
    assert story["first_seen"].startswith("2026-06-04T08:00")
    page = client.get("/v1/stories", params={"limit": 2}).json()
    assert [s["articles"] for s in page["stories"]] == [4, 3] and page["next_offset"] == 2
    tail = client.get("/v1/stories", params={"limit": 2, "offset": 4}).json()
    assert len(tail["stories"]) == 1 and tail["next_offset"] is None
    assert (
        client.get("/v1/stories", params={"since": "2999-01-01T00:00:00Z"}).json()["stories"] == []
    )
    now = datetime.now(UTC)
    ahead = (now + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert client.get("/v1/stories", params={"since": ahead}).json()["stories"] == []
    behind = (now - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=2))).isoformat()
    assert len(client.get("/v1/stories", params={"since": behind}).json()["stories"]) == 5
    assert client.get("/v1/articles/chess-1").json()["story"] == answers["chess-1"]["story"]
    for path in ("/v1/articles/nope", "/v1/duplicates/999", "/v1/stories/999"):
        response = client.get(path)
        assert response.status_code == 404 and "no " in response.json()["detail"]["message"]


def test_takedown_moves_the_canonical_and_removes_empty_groups(client: TestClient) -> None:
    answers = _ingest(client, FEED)
    group = answers["bridge-wire-1"]["duplicate_group"]
    assert client.delete("/v1/articles/bridge-wire-1").status_code == 204
    assert client.get("/v1/articles/bridge-wire-1").status_code == 404
    dup = client.get(f"/v1/duplicates/{group}").json()
    assert dup["canonical_id"] == "bridge-wire-2" and dup["size"] == 2
    assert client.get("/v1/articles/bridge-wire-3").json()["canonical_id"] == "bridge-wire-2"
    chess = answers["chess-1"]
    assert client.delete("/v1/articles/chess-1").status_code == 204
    assert client.get(f"/v1/duplicates/{chess['duplicate_group']}").status_code == 404
    assert client.get(f"/v1/stories/{chess['story']}").status_code == 404
    assert client.delete("/v1/articles/chess-1").status_code == 404
    again = _ingest(client, [FEED[0]])["bridge-wire-1"]
    assert again["duplicate_group"] == group and again["is_duplicate"]


def test_restart_keeps_every_id_and_rebuilds_a_damaged_index(
    settings_for,
    model: Embedder,  # type: ignore[no-untyped-def]
) -> None:
    settings = settings_for()
    with TestClient(create_app(settings, model)) as c:
        before = _ingest(c, FEED[:4] + FEED[6:])
    with TestClient(create_app(settings, model)) as c:
        assert [c.get(f"/v1/articles/{i}").json() == a for i, a in before.items()] == [True] * len(
            before
        )
        late = _ingest(c, FEED[4:6])
        assert (
            late["harvest-wire-2"]["duplicate_group"] == late["harvest-wire-1"]["duplicate_group"]
        )
        assert late["harvest-wire-1"]["duplicate_group"] > max(
            a["duplicate_group"] for a in before.values()
        )
    (settings.index_dir / INDEX_FILE).write_bytes(b"not an index")
    with TestClient(create_app(settings, model)) as c:
        assert c.get("/readyz").json()["vectors"] == 7
        copy = dict(FEED[1], id="bridge-wire-9")
        assert (
            _ingest(c, [copy])["bridge-wire-9"]["duplicate_group"]
            == before["bridge-wire-1"]["duplicate_group"]
        )
        own = dict(
            FEED[3],
            id="bridge-own-9",
            text=str(FEED[3]["text"]).replace("Riverton drivers", "Drivers in Riverton"),
        )
        assert _ingest(c, [own])["bridge-own-9"]["story"] == before["bridge-wire-1"]["story"]


def test_cluster_endpoint_stores_nothing(client: TestClient) -> None:
    response = client.post("/v1/cluster", json={"articles": FEED})
    rows = response.json()["articles"]
    assert len(rows) == len(FEED) and rows[1]["is_duplicate"]
    assert _stored(client) == 0


def test_parallel_clients_never_split_one_story(client: TestClient) -> None:
    copies = [dict(FEED[0], id=f"copy-{n}") for n in range(8)]
    results: list[dict[str, object]] = []

    def post(rows: list[dict[str, object]]) -> None:
        results.extend(client.post("/v1/articles", json=rows).json()["articles"])

    threads = [threading.Thread(target=post, args=([row],)) for row in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert len({r["duplicate_group"] for r in results}) == 1
    assert sum(not r["is_duplicate"] for r in results) == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"\xff\xfe[]", 400, "not valid UTF-8"),
        (b'[{"id": "a", "text": ', 400, "not JSON"),
        (b"", 400, "empty"),
        (b'{"id": "a"}', 422, "'articles' array"),
        (b"[]", 422, "empty"),
        (b'[{"text": "x"}]', 422, '"field": "id"'),
        (b'[{"id": "a", "text": 5}]', 422, "must be a string"),
        (b'[{"id": "a", "text": "x", "published_at": "tomorrow"}]', 422, "ISO 8601"),
        (b'[{"id": "a", "text": "ok"}, {"id": "b"}]', 422, "1 of 2 articles are invalid"),
    ],
)
def test_bad_requests_get_a_clear_4xx_and_store_nothing(
    client: TestClient, body: bytes, status: int, words: str
) -> None:
    response = client.post(
        "/v1/articles", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert words in json.dumps(response.json())
    assert _stored(client) == 0


def test_limits_methods_and_unknown_paths(settings_for, model: Embedder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(max_batch=2, max_body_bytes=5000), model)) as c:
        too_many = c.post("/v1/articles", json=[{"id": str(i), "text": "x"} for i in range(3)])
        assert too_many.status_code == 413 and "limit is 2" in too_many.json()["detail"]["message"]
        too_big = c.post("/v1/articles", json=[{"id": "a", "text": "x" * 6000}])
        assert too_big.status_code == 413 and "limit is 5000" in too_big.json()["detail"]["message"]
        assert c.get("/v1/nothing").status_code == 404
        assert c.put("/v1/articles").status_code == 405
        assert _stored(c) == 0


def test_api_key_protects_writes(settings_for, model: Embedder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(api_key="s3cret"), model)) as c:
        missing = c.post("/v1/articles", json=FEED[:1])
        assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]["message"]
        assert (
            c.post("/v1/articles", json=FEED[:1], headers={"X-API-Key": "wrong"}).status_code == 401
        )
        assert (
            c.post("/v1/articles", json=FEED[:1], headers={"X-API-Key": "s3cret"}).status_code
            == 200
        )
        bearer = {"Authorization": "Bearer s3cret"}
        assert c.delete("/v1/articles/bridge-wire-1", headers=bearer).status_code == 204
        assert c.delete("/v1/articles/x").status_code == 401
        assert c.get("/v1/stories").status_code == 200


def test_operations_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    _ingest(client, FEED[:3])
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["vectors"] == 1
    metrics = client.get("/metrics").text
    assert (
        'newsdedup_requests_total{method="POST",route="/v1/articles",status="200"} 1.0' in metrics
    )
    assert "newsdedup_copies_ingested 2.0" in metrics
    assert "newsdedup_texts_embedded 1.0" in metrics
    docs = client.get("/openapi.json").json()
    assert {
        "/v1/articles",
        "/v1/cluster",
        "/v1/match",
        "/v1/stories",
        "/v1/stories/{story_id}",
    } <= set(docs["paths"])
    schemas = docs["components"]["schemas"]
    story = schemas["StoryOut"]["properties"]
    for name in ("title", "sources", "first_reporter", "timeline", "keywords"):
        assert name in story and name in schemas["StorySummary"]["properties"]
    for name in ("title", "timeline", "keywords"):
        assert story[name].get("examples"), name
    for name in ("Evidence", "SourcesOut", "ReporterOut"):
        assert schemas[name].get("examples"), name
    assert "evidence" in schemas["ArticleAnswer"]["properties"]
    assert "canonical_reason" in schemas["GroupOut"]["properties"]
    sorts = next(
        p for p in docs["paths"]["/v1/stories"]["get"]["parameters"] if p["name"] == "sort"
    )
    assert sorts["schema"]["enum"] == ["size", "recent", "rising"]
    assert client.get("/docs").status_code == 200


def test_the_docs_pages_load_everything_from_this_process(client: TestClient) -> None:
    """/docs and /redoc name no outside host (a machine without internet access shows
    them whole), and every script, stylesheet and icon they name is served here."""
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "://" not in page.text and "//" + "cdn" not in page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(assets) >= 2
        for asset in assets:
            assert asset.startswith("/docs-assets/"), asset
            served = client.get(asset)
            assert served.status_code == 200 and len(served.content) > 1000, asset
