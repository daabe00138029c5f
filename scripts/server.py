"""A real ``newsdedup serve`` process for the scripts that measure the live service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """The service on a free port with its data under ``data`` and extra NEWSDEDUP_* settings;
    returns once /readyz answers."""
    port = free_port()
    extra = {f"NEWSDEDUP_{k.upper()}": v for k, v in settings.items()}
    env = dict(os.environ, NEWSDEDUP_DATA_DIR=str(data), NEWSDEDUP_PORT=str(port), **extra)
    data.mkdir(parents=True, exist_ok=True)
    log = open(data / "serve.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"], env=env, stderr=log, stdout=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {data / 'serve.log'}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become ready")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
