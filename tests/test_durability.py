"""``kill -9`` of a running service loses nothing it acknowledged (real process, real port)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pages import PARAGRAPHS
from tests.server import free_port, serve, wait_ready


def _article(n: int) -> dict[str, str]:
    body = "\n".join(PARAGRAPHS[n % len(PARAGRAPHS) :] + PARAGRAPHS[: n % len(PARAGRAPHS)])
    return {
        "id": f"a-{n}",
        "title": f"Story number {n} about item {n * 7919 % 1000}",
        "text": f"{n} {body}",
    }


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir()
    yield path


def test_kill_9_loses_nothing_acknowledged(data: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data, port)
    acknowledged: dict[str, dict[str, object]] = {}
    stop = threading.Event()
    try:
        wait_ready(base, proc)

        def writer() -> None:
            n = 0
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set() and n < 400:
                    try:
                        response = client.post(
                            "/v1/articles", json=[_article(n), _article(n + 1000)]
                        )
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        for answer in response.json()["articles"]:
                            acknowledged[answer["id"]] = answer
                    n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        stop.set()
        thread.join(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(acknowledged) >= 20

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data, port)
    try:
        wait_ready(base, proc)
        with httpx.Client(base_url=base, timeout=30) as client:
            for article_id, answer in acknowledged.items():
                response = client.get(f"/v1/articles/{article_id}")
                assert response.status_code == 200, article_id
                assert response.json()["duplicate_group"] == answer["duplicate_group"]
            fresh = client.post("/v1/articles", json=[_article(5000)]).json()["articles"][0]
            groups = {a["duplicate_group"] for a in acknowledged.values()}
            assert fresh["duplicate_group"] not in groups or fresh["is_duplicate"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM)  # the server re-raises the signal it handled
    log = (data / f"serve-{port}.log").read_text()
    assert '"message": "stopped"' in log and "Application shutdown complete" in log
