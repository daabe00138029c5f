"""Hostile and malformed requests: a clear 4xx, never a 5xx, never a stalled writer, and
nothing stored that cannot be read back and taken down. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from service.api.app import create_app
from service.embedder import Embedder
from service.settings import Settings
from service.store import ArticleRow, ReindexRow, now
from tests.pages import PARAGRAPHS
from tests.server import free_port, serve, wait_ready

KEY = "s3cret-key"
HEADERS = {"X-API-Key": KEY, "Content-Type": "application/json"}
TEXT = " ".join(PARAGRAPHS)


@pytest.fixture
def client(tmp_path: Path, database_url: str, model: Embedder) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, api_key=KEY)
    with TestClient(create_app(settings, model), raise_server_exceptions=False) as c:
        yield c


def _engine(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def _stored(client: TestClient) -> int:
    with _engine(client).store.session() as s:
        return int(s.scalar(select(func.count()).select_from(ArticleRow)))


def _post(client: TestClient, body: str | bytes, path: str = "/v1/articles", **headers: str) -> Any:
    return client.post(path, content=body, headers={**HEADERS, **headers})


def _article(**fields: Any) -> dict[str, Any]:
    return {"id": "a1", "text": TEXT, **fields}


def test_deep_nesting_is_refused_before_parsing(client: TestClient) -> None:
    for body in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        response = _post(client, body)
        assert response.status_code == 400
        assert "nests" in response.json()["detail"]["message"]
    assert _stored(client) == 0


@pytest.mark.parametrize("field", ["id", "text", "title"])
def test_a_lone_surrogate_is_refused_naming_its_field_and_reloads_nothing(
    client: TestClient, field: str
) -> None:
    generation = _engine(client)._generation
    body = json.dumps([_article(**{field: "The bridge \ud800 will close on Friday."})])
    assert "\\ud800" in body
    response = _post(client, body)
    assert response.status_code == 422
    assert response.json()["detail"]["items"][0]["field"] == field
    assert _stored(client) == 0
    assert _engine(client)._generation == generation  # no rebuild of the engine


@pytest.mark.parametrize("when", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_dates_overflowing_in_utc_are_422(client: TestClient, when: str) -> None:
    response = _post(client, json.dumps([_article(published_at=when)]))
    assert response.status_code == 422
    assert response.json()["detail"]["items"][0]["field"] == "published_at"
    response = client.get("/v1/stories", params={"since": when})
    assert response.status_code == 422 and response.json()["detail"]["field"] == "since"


def test_nul_is_refused_in_ids_and_stripped_from_texts(client: TestClient) -> None:
    response = _post(client, json.dumps([_article(id="a\u0000b")]))
    assert response.status_code == 422 and response.json()["detail"]["items"][0]["field"] == "id"
    response = _post(client, json.dumps([_article(id="nul", text="A\u0000 " + TEXT)]))
    assert response.status_code == 200
    stored = _engine(client).store.input_of("nul")
    assert stored is not None and stored.raw == "A " + TEXT
    assert client.get("/v1/articles/%00").status_code == 422


@pytest.mark.parametrize("ident", ["a/b", "../../etc/passwd", "https://x.example/n/1?a=1#f", "ü é"])
def test_every_accepted_id_can_be_read_and_taken_down(client: TestClient, ident: str) -> None:
    assert _post(client, json.dumps([_article(id=ident)])).status_code == 200
    path = f"/v1/articles/{quote(ident, safe='')}"
    assert client.get(path).json()["id"] == ident
    assert client.delete(path, headers=HEADERS).status_code == 204
    assert client.get(path).status_code == 404


def test_writes_need_json(client: TestClient) -> None:
    body = json.dumps([_article()])
    for kind in ("text/plain", "application/x-www-form-urlencoded", ""):
        for path in ("/v1/articles", "/v1/cluster"):
            response = _post(client, body, path, **{"Content-Type": kind})
            assert response.status_code == 415, (kind, path)
    assert (
        _post(client, body, **{"Content-Type": "application/json; charset=utf-8"}).status_code
        == 200
    )


def test_a_repeated_id_in_a_batch_takes_the_first_and_reports_the_rest(client: TestClient) -> None:
    other = "Entirely different words about a harbour festival and its fireworks on Sunday."
    body = json.dumps([_article(), _article(id="b1", text=other), _article(text=other)])
    for path in ("/v1/cluster", "/v1/articles"):
        answer = _post(client, body, path).json()
        assert [a["id"] for a in answer["articles"]] == ["a1", "b1", "a1"]
        assert answer["articles"][2] == answer["articles"][0]
        assert answer["repeated"] == [{"id": "a1", "index": 2, "first": 0}]
    stored = _engine(client).store.input_of("a1")
    assert stored is not None and stored.raw == TEXT


def test_a_run_left_running_by_a_dead_reindex_reads_interrupted_after_a_start(
    tmp_path: Path, database_url: str, model: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    with TestClient(create_app(settings, model)) as c:
        with _engine(c).store.session() as s:
            s.execute(insert(ReindexRow).values(started_at=now(), status="running", report={}))
        assert c.get("/v1/reindex/last").json()["status"] == "running"
    with TestClient(create_app(settings, model)) as c:
        assert c.get("/v1/reindex/last").json()["status"] == "interrupted"


def test_a_failed_write_rebuilds_the_engine_once_after_a_back_off(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(client)
    import service.engine

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service.engine, "write_batch", broken)
    assert _post(client, json.dumps([_article()])).status_code == 500
    generation = engine._generation
    for n in range(3):  # within the back-off: refused at once, nothing rebuilt
        response = _post(client, json.dumps([_article(id=f"x{n}")]))
        assert response.status_code == 503 and "Retry-After" in response.headers
    assert engine._generation == generation
    monkeypatch.undo()
    engine._failed_at -= 60  # the back-off has passed
    assert _post(client, json.dumps([_article()])).status_code == 200
    assert engine._generation == generation + 1 and _stored(client) == 1


# -- fuzzing beyond the schema -----------------------------------------------------------

ODD_STRINGS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "\ud800",
            "a\u0000b",
            "../../etc/passwd",
            "a/b",
            " ",
            "9999-12-31T23:00:00-05:00",
            "0001-01-01T00:00:00+05:00",
            "2026-13-45",
            "x" * 600,
        ]
    ),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | ODD_STRINGS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ODD_STRINGS, children, max_size=4)
    ),
    max_leaves=12,
)
ARTICLES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": ODD_STRINGS,
            "text": ODD_STRINGS,
            "html": ODD_STRINGS,
            "title": ODD_STRINGS,
            "published_at": ODD_STRINGS | st.integers(),
            "captions": st.lists(ODD_STRINGS, max_size=3) | JSON_VALUES,
            "source": JSON_VALUES,
        },
    ),
    max_size=4,
)


def _bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        ARTICLES.map(lambda a: json.dumps(a).encode()),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
        st.text(max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=_bodies(),
    path_id=ODD_STRINGS,
    query=ODD_STRINGS,
    kind=st.sampled_from(["application/json", "text/plain"]),
)
def test_hostile_requests_never_5xx_and_store_nothing_when_refused(
    client: TestClient, body: bytes, path_id: str, query: str, kind: str
) -> None:
    before = _stored(client)
    for path in ("/v1/articles", "/v1/cluster"):
        response = client.post(path, content=body, headers={**HEADERS, "Content-Type": kind})
        assert response.status_code < 500, (path, body[:80], response.text)
        if response.status_code >= 400 or path == "/v1/cluster":
            assert _stored(client) == before
        before = _stored(client)
    ident = quote(path_id.encode("utf-8", "surrogatepass"), safe="")
    q = quote(query.encode("utf-8", "surrogatepass"), safe="")
    for method, path in (
        ("GET", f"/v1/articles/{ident}"),
        ("DELETE", f"/v1/articles/{ident}"),
        ("GET", f"/v1/duplicates/{ident}"),
        ("GET", f"/v1/stories/{ident}"),
        ("GET", f"/v1/stories?since={q}&limit={q}&offset={q}"),
        ("GET", f"/v1/reindex/last?x={q}"),
    ):
        response = client.request(method, path, headers={"X-API-Key": KEY})
        assert response.status_code < 500, (method, path, response.text)


# -- a real process: its exit status and its access log ------------------------------------


def test_sigterm_exits_0_and_the_access_log_holds_no_query_string(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    proc = serve(data, port, api_key=KEY)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        refused = httpx.post(f"{base}/v1/articles?api_key=leaked-{KEY}", json=[_article()])
        assert refused.status_code == 401
        assert httpx.get(f"{base}/v1/articles/none?token=leaked-{KEY}").status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    log = (data / f"serve-{port}.log").read_text()
    assert "/v1/articles" in log and f"leaked-{KEY}" not in log


def test_kill_9_during_a_reindex_reads_interrupted_after_the_next_start(
    tmp_path: Path, model: Embedder
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    with TestClient(create_app(settings, model)) as c:
        body = [_article(id=f"k{n}", text=TEXT + f" Report {n}.") for n in range(3)]
        assert c.post("/v1/articles", json=body).status_code == 200
    script = (
        "import time, service.reindex as r\n"
        "real = r.write_reindex\n"
        "def slow(*a, **k):\n"
        "    print('writing', flush=True); time.sleep(120); return real(*a, **k)\n"
        "r.write_reindex = slow\n"
        "from service.cli import main\n"
        "main(['reindex'])\n"
    )
    env = dict(os.environ, NEWSDEDUP_DATA_DIR=str(data))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and b"writing" not in proc.stdout.readline():
        pass
    proc.kill()
    proc.wait()
    with TestClient(create_app(settings, model)) as c:
        assert c.get("/v1/reindex/last").json()["status"] == "interrupted"
