"""The nightly reindex against a real store, model and index."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from samples.make_sample_feed import feed
from service.api.app import create_app
from service.article import parse_article
from service.embedder import Embedder
from service.items import item_of
from service.pipeline import cluster_corpus
from service.reindex import Reindex
from service.settings import PREPARATION_VERSION, Settings
from service.store import ArticleRow, ArticleSketchRow, GroupRow
from service.store.core import LIVE_SPANS
from service.store.lock import ReindexBusy, reindex_lock
from tests.stories import adversarial_feed


def bcubed_f1(predicted: Mapping[str, object], truth: Mapping[str, object]) -> float:
    """B-cubed F1 of a clustering against the planted truth."""
    precision = recall = 0.0
    for item in truth:
        same_pred = {o for o in truth if predicted[o] == predicted[item]}
        same_true = {o for o in truth if truth[o] == truth[item]}
        both = len(same_pred & same_true)
        precision += both / len(same_pred)
        recall += both / len(same_true)
    p, r = precision / len(truth), recall / len(truth)
    return 2 * p * r / (p + r)


def _undated(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [dict(row, published_at=None) for row in rows]


@pytest.fixture
def settings_for(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    def make(**kw: Any) -> Settings:
        base: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "reload_poll_seconds": 0.1,
        }
        return Settings(**(base | kw))

    return make


@pytest.fixture
def client(settings_for, model: Embedder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(), model)) as c:
        yield c


def _engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def _reindex(client: TestClient) -> dict[str, Any]:
    engine = _engine(client)
    report = Reindex(engine.settings.reindex, engine.store, lambda: engine.embedder).run()
    engine.refresh()  # or the service's own watcher already did
    assert engine.version == report.version
    return report.to_json()


def test_reindex_repairs_stories_split_by_arrival_order(settings_for, model: Embedder) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(story_similarity=0.5)
    rows = adversarial_feed()
    truth = {
        str(r["id"]): "storm" if str(r["id"]).startswith("storm") else str(r["id"]) for r in rows
    }
    with TestClient(create_app(settings, model)) as c:
        online = {}
        for row in rows:
            answer = c.post("/v1/articles", json=[row]).json()["articles"][0]
            online[answer["id"]] = answer["story"]
        assert len({online[i] for i in truth if truth[i] == "storm"}) > 1  # split online
        articles = [parse_article(r, settings.limits) for r in rows]
        batch = cluster_corpus(articles, settings.pipeline, model)
        clustered = {a.id: a.story for a in batch.answers}
        report = _reindex(c)
        after = {i: c.get(f"/v1/articles/{i}").json()["story"] for i in truth}
        assert bcubed_f1(after, truth) >= bcubed_f1(clustered, truth)
        assert bcubed_f1(after, truth) > bcubed_f1(online, truth)
        assert report["stories_merged"] >= 1
        lost = next(online[i] for i in truth if truth[i] == "storm" and online[i] != after[i])
        moved = c.get(f"/v1/stories/{lost}").json()
        assert moved["merged_from"] == lost and moved["id"] == after["storm-hub"]


def test_furniture_learned_after_ingest_re_embeds_the_groups_it_changes(
    client: TestClient,
) -> None:
    rows = _undated(feed())
    later = [r for r in rows if r["id"] == "westfield-1"]
    answers = client.post("/v1/articles", json=[r for r in rows if r not in later]).json()
    library = next(a for a in answers["articles"] if a["id"] == "library-1")
    assert not any(f["text"].startswith("Sign up") for f in library["flags"])  # 2nd of 3 pages
    client.post("/v1/articles", json=later)
    first = _reindex(client)
    assert first["reembedded"] >= 1  # its lead lost the newsletter line, so its vector is new
    library = client.get("/v1/articles/library-1").json()
    assert any(f["text"].startswith("Sign up") and f["pages"] == 3 for f in library["flags"])
    assert _reindex(client)["reembedded"] == 0


def test_a_changed_vector_version_re_embeds_exactly_the_stale_vectors(client: TestClient) -> None:
    answers = client.post("/v1/articles", json=_undated(feed())).json()["articles"]
    _reindex(client)  # what furniture learned since ingest changes is settled first
    stale = sorted({answers[0]["duplicate_group"], answers[4]["duplicate_group"]})
    engine = _engine(client)
    with engine.store.session() as s:
        s.execute(
            update(GroupRow)
            .where(GroupRow.id.in_(stale))
            .values(vector_version="old-model|prep0|lead120")
        )
    first = _reindex(client)
    assert first["reembedded"] == 2 and first["embedded_new"] == 0
    assert _reindex(client)["reembedded"] == 0
    assert client.get("/readyz").json()["vectors"] == 7
    again = client.post(
        "/v1/articles", json=[dict(feed()[4], id="harvest-copy", published_at=None)]
    ).json()
    assert again["articles"][0]["duplicate_group"] == answers[4]["duplicate_group"]


def test_a_night_with_nothing_new_writes_no_article(client: TestClient) -> None:
    """Stored evidence is compared by its text as each store gives it back: an unchanged
    window rewrites nothing, on either store."""
    client.post("/v1/articles", json=_undated(feed())).raise_for_status()
    _reindex(client)  # whatever the batch decides otherwise than the live path is written
    again = _reindex(client)
    assert again["articles"] == len(feed()) and again["articles_changed"] == 0
    assert gc.isenabled()  # the run paused the cycle collector, and only for itself
    # each step's time, and the peak memory when it ended (which step set it)
    assert list(again["peak_mib"]) == list(again["steps"])
    assert {"read", "cluster.copies", "cluster.stories", "write"} <= set(again["steps"])
    peaks = list(again["peak_mib"].values())
    assert peaks == sorted(peaks) and peaks[0] > 0


def test_pages_of_an_older_preparation_are_prepared_again_and_stored(
    client: TestClient,
) -> None:
    """A night after the preparation changed prepares every page again from its input and
    stores its new sketch; the groups and stories stay what the same pages made before."""
    rows = _undated(feed())
    client.post("/v1/articles", json=rows).raise_for_status()
    _reindex(client)
    before = {r["id"]: client.get(f"/v1/articles/{r['id']}").json() for r in rows}
    store = _engine(client).store
    with store.session() as s:
        s.execute(update(ArticleRow).values(prepared_with=PREPARATION_VERSION - 1))
        s.execute(update(ArticleSketchRow).values(sketch=b"stale"))
    report = _reindex(client)
    assert report["prepared_again"] == len(rows) == report["articles"]
    pipeline = _engine(client).settings.pipeline
    with store.session() as s:
        stored = dict(s.execute(select(ArticleRow.id, ArticleRow.prepared_with)).all())
        sketches = dict(
            s.execute(
                select(ArticleRow.id, ArticleSketchRow.sketch).join(
                    ArticleSketchRow, ArticleSketchRow.member == ArticleRow.member
                )
            ).all()
        )
    for row in rows:
        made = item_of(parse_article(row, _engine(client).settings.limits), pipeline).sketch
        assert sketches[row["id"]] == made.to_bytes()
        assert stored[row["id"]] == PREPARATION_VERSION
        after = client.get(f"/v1/articles/{row['id']}").json()
        for level in ("duplicate_group", "story"):
            assert after[level] == before[row["id"]][level], (row["id"], level)


def _group_rows(client: TestClient) -> dict[int, tuple[Any, ...]]:
    with _engine(client).store.session() as s:
        rows = s.execute(LIVE_SPANS).all()
    return {int(r[0]): tuple(r[1:]) for r in rows}


def _stories_and_spans(rows: dict[int, tuple[Any, ...]]) -> tuple[set[frozenset[int]], dict]:
    stories: dict[Any, set[int]] = {}
    for gid, (story, _, _) in rows.items():
        stories.setdefault(story, set()).add(gid)
    return {frozenset(g) for g in stories.values()}, {g: r[1:] for g, r in rows.items()}


def test_a_group_row_that_drifted_is_written_again(client: TestClient) -> None:
    """The write skips group rows that already hold their story and span: one that does
    not (here changed behind the reindex's back) is written again."""
    client.post("/v1/articles", json=_undated(feed())).raise_for_status()
    _reindex(client)
    before = _group_rows(client)
    want = _stories_and_spans(before)
    (gid, _), (_, (other, _, _)) = next(
        (a, b) for a in before.items() for b in before.items() if a[1][0] != b[1][0]
    )
    with _engine(client).store.session() as s:
        s.execute(
            update(GroupRow)
            .where(GroupRow.id == gid)
            .values(story_id=other, last_published=datetime(2026, 1, 1, tzinfo=UTC))
        )
    drifted = _stories_and_spans(_group_rows(client))
    assert drifted[0] != want[0] and drifted[1] != want[1]
    assert _reindex(client)["articles"] == len(feed())
    # the same groups share a story again (its id may be new), and every span is back
    assert _stories_and_spans(_group_rows(client)) == want


def test_clients_see_no_error_during_reindexes(client: TestClient) -> None:
    rows = _undated(feed())
    client.post("/v1/articles", json=rows[:5])
    errors: list[str] = []
    done = threading.Event()

    def reindex_loop() -> None:
        engine = _engine(client)
        while not done.is_set():
            try:
                Reindex(engine.settings.reindex, engine.store, lambda: engine.embedder).run()
            except ReindexBusy:
                pass
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))

    worker = threading.Thread(target=reindex_loop)
    worker.start()
    given: dict[str, dict[str, Any]] = {}
    try:
        for n in range(30):
            row = dict(rows[n % len(rows)], id=f"live-{n}")
            response = client.post("/v1/articles", json=[row])
            if response.status_code != 200:
                errors.append(f"POST {response.status_code} {response.text}")
                continue
            article_id = str(row["id"])
            given[article_id] = response.json()["articles"][0]
            for path in (
                "/v1/stories",
                f"/v1/articles/{article_id}",
                f"/v1/duplicates/{given[article_id]['duplicate_group']}",
            ):
                response = client.get(path)
                if response.status_code != 200:
                    errors.append(f"GET {path} {response.status_code}")
            time.sleep(0.02)
    finally:
        done.set()
        worker.join()
    assert errors == []
    assert _engine(client).version > 0
    for article_id, answer in given.items():
        assert client.get(f"/v1/articles/{article_id}").status_code == 200
        assert client.get(f"/v1/duplicates/{answer['duplicate_group']}").status_code == 200
        assert client.get(f"/v1/stories/{answer['story']}").status_code == 200


def _failed_run(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, step: str, error: Exception
) -> dict[str, Any]:
    """Ingest the feed, then run a reindex whose ``step`` (a name in ``service.reindex``)
    raises ``error``: the run fails, says why, and version 0 still serves. Answers an
    article as it stood before the run."""
    client.post("/v1/articles", json=_undated(feed()))
    engine = _engine(client)
    before: dict[str, Any] = client.get("/v1/articles/harvest-own-1").json()

    def fail(*_args: object, **_kw: object) -> None:
        raise error

    monkeypatch.setattr(f"service.reindex.{step}", fail)
    with pytest.raises(type(error)):
        Reindex(engine.settings.reindex, engine.store, lambda: engine.embedder).run()
    assert engine.store.index_version() == 0
    last = client.get("/v1/reindex/last").json()
    assert last["status"] == "failed" and str(error) in last["report"]["error"]
    monkeypatch.undo()
    return before


def test_a_crash_before_the_switch_leaves_the_old_version(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _failed_run(client, monkeypatch, "write_reindex", RuntimeError("killed mid-write"))
    assert _reindex(client)["version"] == 1
    after = client.get("/v1/articles/harvest-own-1").json()

    # The reindex hears the group's differently titled copies, so the story cosine it reports
    # may move; where the article stands, and how it was matched, does not.
    def placed(answer: dict[str, Any]) -> dict[str, Any]:
        why = {k: answer["evidence"][k] for k in ("match", "matched_id", "matched_group")}
        return {**answer, "similarity": None, "evidence": why}

    assert placed(after) == placed(before)


def test_a_snapshot_that_fails_to_save_leaves_the_old_version(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version pointer must never name a snapshot that was not written whole."""
    before = _failed_run(client, monkeypatch, "save_snapshot", OSError("no space left"))
    assert client.get("/v1/articles/harvest-own-1").json() == before  # no row was switched
    assert _reindex(client)["version"] == 1


def test_one_reindex_at_a_time_and_a_dead_holder_frees_the_lock(client: TestClient) -> None:
    engine = _engine(client)
    with reindex_lock(engine.settings.data_dir, engine.store):
        with pytest.raises(ReindexBusy):
            Reindex(engine.settings.reindex, engine.store, lambda: engine.embedder).run()
        assert client.post("/v1/reindex").status_code == 409
    if engine.store.engine.dialect.name == "sqlite":
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                str(engine.settings.data_dir / "reindex.lock"),
            ],
            stdout=subprocess.PIPE,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        with pytest.raises(ReindexBusy):
            Reindex(engine.settings.reindex, engine.store, lambda: engine.embedder).run()
        holder.kill()
        holder.wait()
    assert client.post("/v1/reindex").status_code == 202
    deadline = time.monotonic() + 30
    while (
        client.get("/v1/reindex/last").json()["status"] == "running" and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    last = client.get("/v1/reindex/last").json()
    assert last["status"] == "done"
    while engine.version != last["report"]["version"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the background run switches the engine before it ends
    assert engine.version == last["report"]["version"]


def test_a_copy_bridging_two_groups_merges_them_and_old_ids_answer(client: TestClient) -> None:
    words = " ".join(str(r["text"]) for r in feed()[:1] + feed()[4:5]).split()
    cut = len(words) * 6 // 10
    head = {"id": "head", "title": "Head", "text": " ".join(words[:cut])}
    tail = {"id": "tail", "title": "Tail", "text": " ".join(words[-cut:])}
    full = {"id": "full", "title": "Full", "text": " ".join(words)}
    first = {a["id"]: a for a in client.post("/v1/articles", json=[head, tail]).json()["articles"]}
    assert first["head"]["duplicate_group"] != first["tail"]["duplicate_group"]
    bridge = client.post("/v1/articles", json=[full]).json()["articles"][0]
    survivor = min(first["head"]["duplicate_group"], first["tail"]["duplicate_group"])
    assert bridge["duplicate_group"] == survivor and bridge["is_duplicate"]  # joined online
    gone = max(first["head"]["duplicate_group"], first["tail"]["duplicate_group"])
    merged = client.get(f"/v1/duplicates/{gone}").json()
    assert merged["id"] == survivor and merged["merged_from"] == gone and merged["size"] == 3
    assert _reindex(client)["groups_merged"] == 0  # nothing left to repair
    after = {i: client.get(f"/v1/articles/{i}").json()["duplicate_group"] for i in first}
    assert set(after.values()) == {survivor}


def test_writes_between_build_and_switch_are_replayed(client: TestClient) -> None:
    rows = _undated(feed())
    client.post("/v1/articles", json=rows[:4])
    engine = _engine(client)
    engine._journaling = True  # as refresh() does
    state = engine._build()  # a refresh has read the store ...
    late = client.post("/v1/articles", json=rows[4:7]).json()["articles"]  # ... then writes land
    assert client.delete("/v1/articles/bridge-own-1").status_code == 204
    with engine._lock:
        engine._install(state)
    copy = client.post("/v1/articles", json=[dict(rows[4], id="harvest-again")]).json()["articles"][
        0
    ]
    assert copy["duplicate_group"] == late[0]["duplicate_group"] and copy["is_duplicate"]
    own = client.post("/v1/articles", json=[dict(rows[3], id="own-again")]).json()["articles"][0]
    assert not own["is_duplicate"]
    story = client.post(
        "/v1/articles",
        json=[
            dict(rows[6], id="harvest-own-2", text=str(rows[6]["text"]) + " Growers met on Friday.")
        ],
    ).json()
    assert story["articles"][0]["story"] == late[0]["story"]


def test_a_takedown_leaves_no_voice_of_the_page_in_its_group_vector(client: TestClient) -> None:
    """After a reindex the bridge group's vector hears its canonical and a copy with another
    headline; taking that copy down (not the group's first member) makes the vector again
    from the first member alone."""
    answers = client.post("/v1/articles", json=_undated(feed())).json()["articles"]
    group = next(a for a in answers if a["id"] == "bridge-wire-1")["duplicate_group"]
    assert _reindex(client)["reembedded"] >= 1
    engine = _engine(client)

    def stored() -> tuple[bytes, str | None]:
        with engine.store.session() as s:
            row = s.get(GroupRow, group)
            assert row is not None and row.vector is not None
            return bytes(row.vector), row.vector_key

    heard = stored()
    assert client.delete("/v1/articles/bridge-wire-2").status_code == 204
    alone = stored()
    assert alone[0] != heard[0] and alone[1] not in (heard[1], None)
    with engine.store.session() as s:
        first = s.get(ArticleRow, "bridge-wire-1")
        assert first is not None
        expected = engine.embedder.embed([first.lead])[0]
    assert np.array_equal(np.frombuffer(alone[0], dtype=np.float32), expected)
    # the vector is now the first member's alone (its key, from its stored sketch, says
    # so): taking down another copy leaves it as it is
    assert client.delete("/v1/articles/bridge-wire-3").status_code == 204
    assert stored() == alone
