"""Several API processes on one PostgreSQL store give the answers one process gives: they
take turns to write (the store's write lock) and replay each other's writes (the change
feed) before they use their in-memory state. Real model, real index, real PostgreSQL
(skipped, saying why, where there is no server)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.embedder import Embedder
from service.settings import Settings
from tests.planted import planted_events
from tests.server import free_port, serve, wait_ready


def _partition(answers: dict[str, dict[str, Any]], key: str) -> set[frozenset[str]]:
    """The article ids grouped by an answer field, whatever the ids are called."""
    by: dict[int, set[str]] = {}
    for article_id, answer in answers.items():
        by.setdefault(int(answer[key]), set()).add(article_id)
    return {frozenset(ids) for ids in by.values()}


def _post(client: Any, rows: list[dict[str, object]]) -> list[dict[str, Any]]:
    response = client.post("/v1/articles", json=rows)
    assert response.status_code == 200, response.text
    return list(response.json()["articles"])


def test_two_apps_on_one_store_answer_as_one_does(
    tmp_path: Path, postgres_url: str, model: Embedder
) -> None:
    """Every page posted alternately to two apps (each its own data directory, as two
    containers): the same groups and stories as one app over the same pages in the same
    order; a takedown through one is gone from the other's copy detection."""
    rows = planted_events(16, seed=5)
    one = Settings(data_dir=tmp_path / "one", database_url=f"sqlite:///{tmp_path / 'one.db'}")
    a = Settings(data_dir=tmp_path / "a", database_url=postgres_url)
    b = Settings(data_dir=tmp_path / "b", database_url=postgres_url)
    with TestClient(create_app(one, model)) as alone:
        expected = {str(row["id"]): _post(alone, [row])[0] for row in rows}
    with TestClient(create_app(a, model)) as first, TestClient(create_app(b, model)) as second:
        got: dict[str, dict[str, Any]] = {}
        for n, row in enumerate(rows):
            got[str(row["id"])] = _post(first if n % 2 == 0 else second, [row])[0]
        assert [got[r]["is_duplicate"] for r in got] == [expected[r]["is_duplicate"] for r in got]
        for key in ("duplicate_group", "story"):
            assert _partition(got, key) == _partition(expected, key)
        copies = [str(r["id"]) for r in rows if str(r["id"]).startswith("c")]
        assert all(got[c]["duplicate_group"] == got["o" + c[1:]]["duplicate_group"] for c in copies)
        # the second app wrote c1; the first takes c1 and o1 down: the text is new again
        assert first.delete("/v1/articles/c1").status_code == 204
        assert first.delete("/v1/articles/o1").status_code == 204
        original = next(r for r in rows if r["id"] == "o1")
        again = _post(second, [{**original, "id": "o1-again"}])[0]
        assert again["is_duplicate"] is False
        assert again["duplicate_group"] not in {
            got["o1"]["duplicate_group"],
            got["c1"]["duplicate_group"],
        }
        # and what the second app wrote, the first matches against
        found = first.post("/v1/match", json={**original, "id": "probe"}).json()
        assert found["duplicate_of"]["duplicate_group"] == again["duplicate_group"]


@pytest.fixture
def two_servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[list[str], list[Any]]]:
    """Two ``newsdedup serve`` processes on one PostgreSQL store and one data directory."""
    data = tmp_path / "data"
    data.mkdir()
    ports = [free_port(), free_port()]
    procs = [serve(data, port, database_url=postgres_url) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base, proc in zip(bases, procs, strict=True):
            wait_ready(base, proc)
        yield bases, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)


def test_copies_posted_at_once_to_two_processes_end_in_one_group(
    two_servers: tuple[list[str], list[Any]],
) -> None:
    """Each original, and its exact copy under another id, posted at the same moment to
    the two processes; then the wire copies, alternately and concurrently: one group per
    text, every copy in its original's group, no 5xx."""
    bases, _ = two_servers
    rows = planted_events(12, seed=8)
    originals = [r for r in rows if str(r["id"]).startswith("o")]
    others = [r for r in rows if not str(r["id"]).startswith("o")]
    answers: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def post(base: str, batch: list[dict[str, object]]) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            got = _post(client, batch)
        with lock:
            answers.update({a["id"]: a for a in got})

    with ThreadPoolExecutor(8) as pool:
        jobs = []
        for row in originals:  # the same text, at once, to both
            jobs.append(pool.submit(post, bases[0], [row]))
            jobs.append(pool.submit(post, bases[1], [{**row, "id": f"{row['id']}-same"}]))
        for job in jobs:
            job.result()
        jobs = [pool.submit(post, bases[n % 2], [row]) for n, row in enumerate(others)]
        for job in jobs:
            job.result()
    assert len(answers) == len(rows) + len(originals)
    for row in originals:
        n = str(row["id"])[1:]
        same = {answers[i]["duplicate_group"] for i in (f"o{n}", f"o{n}-same", f"c{n}")}
        assert len(same) == 1, f"event {n} split into groups {same}"
        assert answers[f"o{n}"]["story"] == answers[f"c{n}"]["story"]
    groups = {answers[str(r["id"])]["duplicate_group"] for r in originals}
    assert len(groups) == len(originals)  # no two texts joined


def test_a_killed_process_loses_nothing_it_acknowledged(
    two_servers: tuple[list[str], list[Any]],
) -> None:
    """One process is killed (SIGKILL) while both take pages: everything either
    acknowledged is stored and readable from the other, which goes on placing copies in
    the groups the dead one opened."""
    bases, procs = two_servers
    rows = planted_events(20, seed=9)
    originals = [r for r in rows if str(r["id"]).startswith("o")]
    acknowledged: dict[str, dict[str, Any]] = {}
    failures: list[int] = []

    def feed(base: str, batch: list[dict[str, object]]) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            for row in batch:
                try:
                    response = client.post("/v1/articles", json=[row])
                except httpx.TransportError:
                    return  # it died: nothing acknowledged
                if response.status_code >= 500:
                    failures.append(response.status_code)
                    continue
                assert response.status_code == 200, response.text
                acknowledged[str(row["id"])] = response.json()["articles"][0]

    victim = threading.Thread(target=feed, args=(bases[0], originals))
    victim.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(procs[0].pid, signal.SIGKILL)
    procs[0].wait(timeout=30)
    victim.join(timeout=120)
    assert len(acknowledged) >= 5
    with httpx.Client(base_url=bases[1], timeout=120) as survivor:
        for article_id, answer in acknowledged.items():
            stored = survivor.get(f"/v1/articles/{article_id}")
            assert stored.status_code == 200, article_id
            assert stored.json()["duplicate_group"] == answer["duplicate_group"]
        wanted = {"c" + k[1:] for k in acknowledged}
        copies = [r for r in rows if r["id"] in wanted]
        for row in copies:
            got = _post(survivor, [row])[0]
            assert got["is_duplicate"] is True
            original = acknowledged["o" + str(row["id"])[1:]]
            assert got["duplicate_group"] == original["duplicate_group"]
    assert failures == []


def test_serve_runs_workers_that_share_one_store(tmp_path: Path, postgres_url: str) -> None:
    """``newsdedup serve --workers 2``: two processes on one port; copies of one text posted
    at once by many clients land in one group."""
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    proc = serve(data, port, ["--workers", "2"], database_url=postgres_url)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        row = planted_events(1, seed=3)[0]

        def post(n: int) -> dict[str, Any]:
            with httpx.Client(base_url=base, timeout=120) as client:
                return _post(client, [{**row, "id": f"copy-{n}"}])[0]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(16)))
        assert len({a["duplicate_group"] for a in answers}) == 1
        assert sum(not a["is_duplicate"] for a in answers) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    said = (data / f"serve-{port}.log").read_text()
    assert said.count("Started server process") == 2


def test_workers_on_sqlite_are_refused_naming_postgresql(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    proc = serve(data, free_port(), ["--workers", "2"])
    assert proc.wait(timeout=60) == 2
    said = next(data.glob("serve-*.log")).read_text()
    assert "needs PostgreSQL" in said and "SQLite serves one process" in said
