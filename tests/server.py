"""A real ``newsdedup serve`` process on a free local port, for black-box tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    data: Path, port: int, options: Sequence[str] = (), **settings: str
) -> subprocess.Popen[bytes]:
    """Start the service with its data under ``data``, extra command-line ``options`` and
    extra NEWSDEDUP_* settings."""
    extra = {f"NEWSDEDUP_{k.upper()}": v for k, v in settings.items()}
    env = {k: v for k, v in os.environ.items() if k != "NEWSDEDUP_DATABASE_URL"}
    env.update(NEWSDEDUP_DATA_DIR=str(data), NEWSDEDUP_PORT="1", **extra)
    return subprocess.Popen(  # the address as options, over the environment's
        [
            *(sys.executable, "-m", "service.cli", "serve"),
            *("--host", "127.0.0.1", "--port", str(port), *options),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data / f"serve-{port}.log", "ab"),
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the service exited during start-up"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("the service did not become ready")
