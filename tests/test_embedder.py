"""Both backends of the real model: the int8 ONNX export stays close to torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from samples.make_sample_feed import feed
from service.embedder import ModelError, load_embedder
from service.settings import Settings


def test_onnx_export_matches_torch_and_is_cached(tmp_path: Path) -> None:
    texts = [f"{row['title']}\n{row['text']}" for row in feed()]
    torch_model = load_embedder(Settings(data_dir=tmp_path, backend="torch"))
    onnx_model = load_embedder(Settings(data_dir=tmp_path, backend="onnx-int8"))
    a, b = torch_model.embed(texts), onnx_model.embed(texts)
    assert b.shape == a.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    assert float((a * b).sum(axis=1).min()) >= 0.98
    exported = next((tmp_path / "models").glob("*/model.onnx"))
    stamp = exported.stat().st_mtime_ns
    again = load_embedder(Settings(data_dir=tmp_path, backend="onnx-int8"))
    assert exported.stat().st_mtime_ns == stamp
    # each text runs alone (activations are quantised per run), on whichever thread: its
    # vector is the same bits alone, in a pair, or among all of them
    assert np.array_equal(again.embed(texts[:2]), b[:2])
    assert np.array_equal(np.vstack([again.embed([t]) for t in texts[:4]]), b[:4])
    assert onnx_model.embed([]).shape == (0, 384)


def test_an_unknown_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="NEWSDEDUP_MODEL"):
        load_embedder(Settings(data_dir=tmp_path, model=str(tmp_path / "none")))
