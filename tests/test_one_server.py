"""One serving process per SQLite store: a second is refused, with a message that says why
and names PostgreSQL (where several serve one store: ``tests/test_workers.py``)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.embedder import Embedder
from service.settings import Settings
from service.store.lock import StoreBusy
from tests.server import free_port, serve, wait_ready


def test_a_second_app_on_one_sqlite_store_is_refused_until_the_first_stops(
    tmp_path: Path, model: Embedder
) -> None:
    database_url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    other = Settings(data_dir=tmp_path / "other", database_url=database_url)
    with TestClient(create_app(settings, model)) as first:
        assert first.get("/readyz").status_code == 200
        with pytest.raises(StoreBusy, match="PostgreSQL"), TestClient(create_app(other, model)):
            pass
        assert first.get("/readyz").status_code == 200
    with TestClient(create_app(other, model)) as again:
        assert again.get("/readyz").status_code == 200


def test_a_second_sqlite_server_process_exits_and_names_postgresql(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port, second_port = free_port(), free_port()
    first = serve(data, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", first)
        second = serve(data, second_port)
        assert second.wait(timeout=120) != 0
        said = (data / f"serve-{second_port}.log").read_text()
        assert "SQLite serves one process" in said and "PostgreSQL" in said
        assert f"process {first.pid}" in said
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    # the lock went with the first process: a new one starts
    third = serve(data, second_port)
    try:
        wait_ready(f"http://127.0.0.1:{second_port}", third)
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=60)
