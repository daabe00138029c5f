"""The live engine's vector index rebuilt from the store (a snapshot lost or stale)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from index.snapshot import load_snapshot
from service.article import parse_article
from service.embedding import Embedder
from service.engine import Engine
from service.settings import Settings
from service.store import Store, connect
from service.store.migrate import upgrade
from tests.planted import planted_events


def test_a_lost_snapshot_is_rebuilt_from_the_store_chunk_by_chunk(
    tmp_path: Path, model: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path, flat_max=16)  # past 16 vectors: an IVF index
    engine_ = connect(settings.store_url)
    upgrade(engine_)
    store = Store(engine_)
    engine = Engine(settings, store, model)
    engine.ingest([parse_article(row, settings.limits) for row in planted_events(40)])
    ids = store.vector_ids(settings.vector_version)
    assert len(ids) > 16

    rebuilt = engine._index_from_store(ids, chunk=7)
    assert rebuilt.kind == "ivf"
    assert np.array_equal(rebuilt.ids(), ids)
    _, found = rebuilt.search(store.vectors(ids.tolist()), 1)
    assert found[:, 0].tolist() == ids.tolist()  # every vector finds itself

    engine.snapshot()
    engine.close()
    shutil.rmtree(settings.index_dir)  # the snapshot is lost: the next start rebuilds
    again = Engine(settings, store, model)
    assert again.vectors == len(ids)
    again.close()
    loaded = load_snapshot(settings.index_dir / "v0", model.dim, settings.vector_version)
    assert loaded is not None and loaded.kind == "ivf"  # the rebuilt index, saved and read back
    assert np.array_equal(loaded.ids(), ids)
    engine_.dispose()
