"""The reindex on Ray gives what it gives in this process: a local cluster of two worker
nodes, started by the test, against the in-process runner, on planted windows large
enough for the IVF join. Skipped when the optional extra is not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.runners import LOCAL, RayRunner, Runner
from index.vector_index import IndexPlan
from service.api.app import create_app
from service.config import StoryRules
from service.embedder import Embedder
from service.reindex import Reindex
from service.settings import Settings
from tests.planted import planted_events
from tests.test_story_partition import _window

ray = pytest.importorskip(
    "ray", reason="the Ray engine's extra is not installed: pip install 'newsdedup[ray]'"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayRunner]:
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    runner = RayRunner(nodes.address)
    try:
        yield runner
    finally:
        ray.shutdown()
        nodes.shutdown()


def _power(base: int, exponent: int) -> int:
    return int(base**exponent)


def test_two_nodes_and_several_pieces(cluster: RayRunner) -> None:
    alive = [n for n in ray.nodes() if n["Alive"]]
    assert len(alive) == 2
    assert cluster.parts >= 2
    pieces = [(i,) for i in range(cluster.parts)]
    assert cluster.map(_power, (3,), pieces) == [3**i for i in range(cluster.parts)]


def test_the_story_step_on_ray_is_the_in_process_one(cluster: RayRunner) -> None:
    from service.stories import story_partition

    matrix, spans = _window(7, 3000)
    rules = StoryRules(threshold=0.6, neighbours=20, window_days=7.0, half_life_days=14.0)
    plan = IndexPlan("ivf", nlist=30, nprobe=4)
    local, local_best = story_partition(matrix, spans, rules, plan)
    remote, remote_best = story_partition(matrix, spans, rules, plan, runner=cluster)
    assert remote.tolist() == local.tolist()
    assert [b and b.other for b in remote_best] == [b and b.other for b in local_best]
    assert len(set(local.tolist())) < len(local) / 2  # stories of several groups were found


def _planted() -> list[dict[str, object]]:
    return planted_events(30, seed=11)


def _reindexed(settings: Settings, model: Embedder, runner: Runner) -> dict[str, Any]:
    with TestClient(create_app(settings, model)) as client:
        rows = _planted()
        for start in range(0, len(rows), 40):
            assert client.post("/v1/articles", json=rows[start : start + 40]).status_code == 200
        engine = client.app.state.engine  # type: ignore[attr-defined]
        report = Reindex(settings.reindex, engine.store, lambda: model, runner=runner).run()
        assert report.index.startswith("ivf"), str(report.to_json())
        engine.refresh()
        out = {}
        for row in rows:
            got = client.get(f"/v1/articles/{row['id']}").json()
            out[str(row["id"])] = (got["duplicate_group"], got["story"])
        return out


def test_a_reindex_on_ray_writes_what_the_local_one_writes(
    cluster: RayRunner, tmp_path: Path, model: Embedder
) -> None:
    def settings(name: str) -> Settings:
        return Settings(
            data_dir=tmp_path / name, database_url=None, flat_max=20, reload_poll_seconds=0.1
        )

    local = _reindexed(settings("local"), model, LOCAL)
    remote = _reindexed(settings("ray"), model, cluster)
    assert remote == local
    groups = {g for g, _ in local.values()}
    stories = {s for _, s in local.values()}
    assert len(groups) == 45 and len(stories) < len(groups)  # copies joined, stories formed


def test_the_command_line_runs_the_reindex_on_a_named_cluster(
    cluster: RayRunner, tmp_path: Path
) -> None:
    address = ray.get_runtime_context().gcs_address
    env = {**os.environ, "NEWSDEDUP_DATA_DIR": str(tmp_path / "data")}
    env.pop("NEWSDEDUP_DATABASE_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "reindex",
            "--engine",
            "ray",
            "--ray-address",
            address,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["status"] == "done"
