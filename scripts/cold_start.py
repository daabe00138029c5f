"""Cold start: one article through ``newsdedup cluster`` in a fresh process, as a user runs it.

    python scripts/cold_start.py [--repeat 5]

Each run is a new process (imports, model and index loading, one article prepared,
embedded and clustered, the answer written). The default ONNX backend is measured beside
the torch backend of the same model in the same run, alternating, so the ratio holds on a
noisy machine. The ONNX export is made once before the clock starts (it is cached under
the data directory, as the service's is). Peak RSS is each process's own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import engine_version, table

ARTICLE = {
    "id": "cold-1",
    "title": "Harbour ferry fares frozen for another year",
    "text": (
        "Fares on the Kestrel Island ferry will stay at this year's level until next spring, "
        "the operator said on Tuesday, after fuel costs fell for a third month running."
    ),
}


def one_run(feed: Path, data: Path, backend: str) -> float:
    """Wall seconds of one ``newsdedup cluster`` process."""
    env = dict(os.environ, NEWSDEDUP_DATA_DIR=str(data), NEWSDEDUP_BACKEND=backend)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "service.cli", "cluster", str(feed), "-o", str(data / "out")],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        feed = data / "one.jsonl"
        feed.write_text(json.dumps(ARTICLE) + "\n")
        one_run(feed, data, "onnx-int8")  # makes the export, as a first start does once
        walls: dict[str, list[float]] = {"onnx-int8": [], "torch": []}
        peaks: dict[str, float] = {}
        for _ in range(args.repeat):
            for backend in walls:
                walls[backend].append(one_run(feed, data, backend))
        for backend in walls:  # peak RSS apart: children's ru_maxrss only ever grows
            with tempfile.TemporaryDirectory() as alone:
                probe = Path(alone)
                (probe / "one.jsonl").write_text(feed.read_text())
                if backend == "onnx-int8":
                    (probe / "models").symlink_to(data / "models")
                peaks[backend] = _peak(probe / "one.jsonl", probe, backend)
    print(f"engine: {engine_version()}")
    rows = [
        [
            backend,
            round(min(w), 2),
            round(statistics.median(w), 2),
            ", ".join(f"{x:.2f}" for x in w),
            round(peaks[backend]),
        ]
        for backend, w in walls.items()
    ]
    print(table(["backend", "best s", "median s", "runs", "peak MiB"], rows))
    ratio = statistics.median(walls["torch"]) / statistics.median(walls["onnx-int8"])
    print(f"cold start, torch backend / ONNX backend (medians): {ratio:.1f}x")


def _peak(feed: Path, data: Path, backend: str) -> float:
    """Peak MiB of one run, measured by a process of its own so no other run counts."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, NEWSDEDUP_DATA_DIR=str(data), NEWSDEDUP_BACKEND=backend)
    command = [sys.executable, "-m", "service.cli", "cluster", str(feed), "-o", str(data / "o")]
    done = subprocess.run(
        [sys.executable, "-c", code, *command], env=env, check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1]) / 1024


if __name__ == "__main__":
    main()
