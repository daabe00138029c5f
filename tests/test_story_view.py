"""What people read: story titles, sources, timelines, keywords, the rising sort, evidence
per article and the canonical policy; real model, FAISS and store, through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from samples.make_sample_feed import feed
from service.api.app import create_app
from service.embedder import Embedder
from service.settings import Settings

FEED = feed()


@pytest.fixture
def make_client(tmp_path: Path, database_url: str, model: Embedder) -> Iterator[Any]:
    opened: list[TestClient] = []

    def make(**kw: Any) -> TestClient:
        settings = Settings(
            data_dir=tmp_path / f"data{len(opened)}", database_url=database_url, **kw
        )
        client = TestClient(create_app(settings, model))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _post(client: TestClient, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    response = client.post("/v1/articles", json=rows)
    assert response.status_code == 200, response.text
    return {a["id"]: a for a in response.json()["articles"]}


def test_a_story_has_a_title_sources_a_first_reporter_a_timeline_and_keywords(
    make_client: Any,
) -> None:
    client = make_client()
    answers = _post(client, FEED)
    story = client.get(f"/v1/stories/{answers['bridge-own-1']['story']}").json()
    titles = {r["id"]: r["title"] for r in FEED}
    canonicals = {g["canonical_id"] for g in story["groups"]}
    assert story["title"] in {titles[c] for c in canonicals}
    assert story["sources"]["count"] == 4
    assert {s["source"]: s["articles"] for s in story["sources"]["items"]} == {
        "wire.example": 1,
        "north-post.example": 1,
        "valley-news.example": 1,
        "city-herald.example": 1,
    }
    assert story["first_reporter"]["id"] == "bridge-wire-1"
    assert story["first_reporter"]["source"] == "wire.example"
    # hourly from 08:00 to 12:00, the empty 10:00 included; the counts add up to the size
    assert [start for start, _ in story["timeline"]] == [
        f"2026-06-04T{h:02d}:00:00Z" for h in range(8, 13)
    ]
    assert [n for _, n in story["timeline"]] == [1, 1, 0, 1, 1]
    assert sum(n for _, n in story["timeline"]) == story["size"] == 4
    assert "halvard" in story["keywords"] and "riverton" in story["keywords"]
    other = client.get(f"/v1/stories/{answers['harvest-wire-1']['story']}").json()
    assert "frost" in other["keywords"] and "halvard" not in other["keywords"]
    # a week apart: per day
    listed = client.get("/v1/stories", params={"limit": 10}).json()["stories"]
    by_id = {s["id"]: s for s in listed}
    assert by_id[story["id"]]["title"] == story["title"]
    assert by_id[story["id"]]["keywords"] == story["keywords"]
    for summary in listed:
        assert sum(n for _, n in summary["timeline"]) == summary["articles"]


def test_the_central_group_titles_the_story(make_client: Any) -> None:
    """Three write-ups of the bridge story: the one nearest the story's centre titles it,
    not the first or the largest."""
    client = make_client()
    answers = _post(client, FEED[:4])
    story = client.get(f"/v1/stories/{answers['bridge-own-1']['story']}").json()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    import numpy as np

    groups = [g["id"] for g in story["groups"]]
    vectors = engine.store.vectors(groups)
    centre = vectors.mean(axis=0)
    central = groups[int(np.argmax(vectors @ centre))]
    head = next(g["canonical_id"] for g in story["groups"] if g["id"] == central)
    assert story["title"] == next(r["title"] for r in FEED if r["id"] == head)


def _copies(base: dict[str, Any], name: str, times: list[datetime]) -> list[dict[str, Any]]:
    return [
        {**base, "id": f"{name}-{n}", "published_at": t.isoformat()} for n, t in enumerate(times)
    ]


def test_rising_puts_a_planted_burst_first(make_client: Any) -> None:
    client = make_client()
    latest = datetime(2026, 6, 4, 12, tzinfo=UTC)
    steady = _copies(
        FEED[4], "steady", [latest - timedelta(hours=1 + 8 * k) for k in range(6)]
    )  # one in the last six hours, five in the two days before
    burst = _copies(FEED[7], "burst", [latest - timedelta(hours=h) for h in (3, 2, 0)])
    answers = _post(client, steady + burst)
    steady_story, burst_story = answers["steady-0"]["story"], answers["burst-0"]["story"]

    def order(sort: str) -> list[int]:
        page = client.get("/v1/stories", params={"sort": sort}).json()["stories"]
        return [s["id"] for s in page]

    assert order("size") == [steady_story, burst_story]
    assert order("rising") == [burst_story, steady_story]
    assert order("recent") == [burst_story, steady_story]
    assert client.get("/v1/stories", params={"sort": "loudest"}).status_code == 422


def test_evidence_holds_what_decided_on_every_path(make_client: Any) -> None:
    client = make_client()
    # undated (contemporaneous), so the reindex's window of the last 30 days holds them
    undated = [{k: v for k, v in row.items() if k != "published_at"} for row in FEED]
    answers = _post(client, undated)
    copy = answers["bridge-wire-2"]
    assert copy["evidence"]["match"] == "near_copy"
    assert copy["evidence"]["matched_id"] == "bridge-wire-1"
    assert copy["evidence"]["matched_group"] == copy["duplicate_group"]
    assert copy["evidence"]["containment"] == copy["similarity"]
    assert copy["evidence"]["threshold"] == 0.5
    joined = answers["bridge-own-1"]
    assert joined["evidence"]["match"] == "story"
    assert joined["evidence"]["matched_group"] == answers["bridge-wire-1"]["duplicate_group"]
    assert joined["evidence"]["decayed_cosine"] == joined["similarity"]
    assert joined["evidence"]["cosine"] >= joined["evidence"]["decayed_cosine"] >= 0.6
    assert joined["evidence"]["threshold"] == 0.6
    assert answers["chess-1"]["evidence"]["match"] == "new"
    exact = _post(client, [{**undated[0], "id": "bridge-again"}])["bridge-again"]
    assert exact["evidence"]["match"] == "exact" and exact["evidence"]["containment"] == 1.0
    assert client.get("/v1/articles/bridge-again").json()["evidence"] == exact["evidence"]
    rules = {f["kind"]: f["rule"] for f in answers["bridge-wire-3"]["flags"]}
    assert "repeated in the page" in rules["repeated_caption"]
    assert any("recurring" in f["rule"] for f in answers["library-1"]["flags"])
    # the batch: copies name their canonical, a story join its group
    batch = client.post("/v1/cluster", json=undated).json()["articles"]
    by_id = {a["id"]: a for a in batch}
    assert by_id["bridge-wire-3"]["evidence"]["match"] == "near_copy"
    assert by_id["bridge-wire-3"]["evidence"]["matched_id"] == "bridge-wire-1"
    assert by_id["bridge-own-1"]["evidence"]["match"] == "story"
    assert (
        by_id["bridge-own-1"]["evidence"]["matched_group"]
        == by_id["bridge-wire-1"]["duplicate_group"]
    )
    # the reindex writes the batch's evidence for answers stored without it (before it was
    # kept); a second reindex changes nothing
    from sqlalchemy import update

    from service.store import ArticleRow

    with client.app.state.engine.store.session() as s:  # type: ignore[attr-defined]
        s.execute(update(ArticleRow).values(evidence=None))
    assert client.get("/v1/articles/bridge-wire-3").json()["evidence"] is None
    assert _reindex(client)["articles_changed"] >= len(undated) + 1
    after = client.get("/v1/articles/bridge-wire-3").json()
    # undated, the longest text leads, then the smallest id: the exact copy posted later
    assert after["canonical_id"] == "bridge-again"
    assert after["evidence"]["match"] == "near_copy"
    assert after["evidence"]["matched_id"] == after["canonical_id"]
    assert _reindex(client)["articles_changed"] == 0


def _reindex(client: TestClient) -> dict[str, Any]:
    assert client.post("/v1/reindex").status_code == 202
    for _ in range(1200):
        last = client.get("/v1/reindex/last").json()
        if last["status"] != "running":
            break
        time.sleep(0.1)
    assert last["status"] == "done", last
    report: dict[str, Any] = last["report"]
    return report


def _planted_group(day: str) -> list[dict[str, Any]]:
    """One wire story three times: a scraper's repost first, then the agency's credited
    copy, then a copy on a preferred outlet."""
    body = FEED[0]["text"]
    assert isinstance(body, str)
    return [
        {
            "id": "repost",
            "title": "Bridge to close",
            "text": body + "\n\nSource link",
            "source": "scraper.example",
            "published_at": f"{day}T07:00:00Z",
        },
        {
            "id": "wire",
            "title": "Bridge to close",
            "text": "RIVERTON (AP) \u2014 " + body,
            "source": "wire.example",
            "published_at": f"{day}T08:00:00Z",
        },
        {
            "id": "preferred",
            "title": "Bridge to close",
            "text": body,
            "url": "https://www.favoured.example/bridge",
            "published_at": f"{day}T09:00:00Z",
        },
    ]


@pytest.mark.parametrize(
    ("policy", "chosen", "reason"),
    [
        ("earliest", "repost", "earliest published"),
        ("wire", "wire", "wire copy: credits AP, earliest such"),
        ("preferred", "preferred", "preferred source 2: favoured.example, earliest such"),
    ],
)
def test_each_canonical_policy_picks_its_copy(
    make_client: Any, policy: str, chosen: str, reason: str
) -> None:
    client = make_client(
        canonical=policy, preferred_sources=("nowhere.example", "favoured.example")
    )
    answers = _post(client, _planted_group("2026-06-04"))
    assert len({a["duplicate_group"] for a in answers.values()}) == 1
    assert {a["canonical_id"] for a in answers.values()} == {chosen}
    group = client.get(f"/v1/duplicates/{answers['wire']['duplicate_group']}").json()
    assert group["canonical_id"] == chosen and group["canonical_reason"] == reason
    batch = client.post("/v1/cluster", json=_planted_group("2026-06-04")).json()["articles"]
    assert {a["canonical_id"] for a in batch} == {chosen}
    assert [a["is_duplicate"] for a in batch] == [a["id"] != chosen for a in batch]


def _counts(client: TestClient) -> tuple[int, ...]:
    from sqlalchemy import func, select

    from service.store import ArticleRow, GroupRow, StoryRow

    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.store.session() as s:
        rows = tuple(
            int(s.scalar(select(func.count()).select_from(t)))
            for t in (ArticleRow, GroupRow, StoryRow)
        )
    return (*rows, engine.vectors)


def test_match_says_which_story_a_text_is_and_stores_nothing(make_client: Any) -> None:
    client = make_client()
    answers = _post(client, FEED)
    before = _counts(client)
    copy = {k: v for k, v in FEED[2].items() if k != "id"}  # a copy of the bridge wire story
    found = client.post("/v1/match", json=copy).json()
    bridge = answers["bridge-wire-1"]
    assert found["duplicate_of"]["duplicate_group"] == bridge["duplicate_group"]
    assert found["duplicate_of"]["story"] == bridge["story"]
    assert found["duplicate_of"]["canonical_id"] == "bridge-wire-1"
    assert found["duplicate_of"]["evidence"]["match"] in {"exact", "near_copy"}
    assert found["stories"][0]["story"] == bridge["story"] and found["stories"][0]["joins"]
    assert found["stories"][0]["evidence"]["match"] == "story"
    assert [f["kind"] for f in found["flags"]] == ["repeated_caption"]
    write_up = {
        "title": "Riverton bridge shut for weeks over corroded cables",
        "text": "Riverton will shut the Halvard Bridge for six weeks after inspectors found "
        "corroded support cables, leaving drivers to face long detours, the city said.",
        "published_at": "2026-06-04T13:00:00Z",
    }
    near = client.post("/v1/match", json=write_up, params={"limit": 2}).json()
    assert near["duplicate_of"] is None
    assert near["stories"][0]["story"] == bridge["story"] and len(near["stories"]) <= 2
    assert _counts(client) == before
    assert client.post("/v1/match", json={"title": "no body"}).status_code == 422
    assert client.post("/v1/match", json=[write_up]).status_code == 422
    assert client.post("/v1/match", content=b"text=x").status_code == 415
    # what it said is where ingesting the text puts it
    stored = _post(client, [{**copy, "id": "bridge-copy"}])["bridge-copy"]
    assert stored["duplicate_group"] == found["duplicate_of"]["duplicate_group"]
