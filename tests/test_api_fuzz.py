"""Property-based: requests generated from our own OpenAPI find no 500 on any endpoint.

The generator runs as its own process against a real server process, as a client would.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.server import free_port, serve, wait_ready


def test_generated_requests_find_no_server_error(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(tmp_path, port, max_batch="8")
    try:
        wait_ready(base, proc)
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--seed",
                "7",
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated is not None and int(generated.group(1)) >= 100, run.stdout[-2000:]
    assert "No issues found" in run.stdout
    # every operation was exercised, the match, the stories sort and the browser's included
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert selected is not None and tested is not None, run.stdout[-2000:]
    assert int(tested.group(1)) == int(selected.group(2)) >= 18
