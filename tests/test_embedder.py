"""Both backends of the real model: the int8 ONNX export stays close to torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from samples.make_sample_feed import feed
from service.embedder import (
    ModelError,
    SentenceTransformerEmbedder,
    load_embedder,
    model_path,
)
from service.onnx_embedder import _FastTokenizer, _TorchTokenizer, read_layout
from service.settings import PACKAGED_MODEL, Settings


def _start(data_dir: Path) -> list[str]:
    """A fresh process loads the default (ONNX) model and embeds: is torch, transformers
    then in its modules?"""
    code = (
        "import sys\n"
        "from service.embedder import load_embedder\n"
        "from service.settings import Settings\n"
        "load_embedder(Settings()).embed(['a text'])\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    env = dict(os.environ, NEWSDEDUP_DATA_DIR=str(data_dir.resolve()))
    env.pop("NEWSDEDUP_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
    return done.stdout.split()


def test_onnx_export_matches_torch_and_is_cached(tmp_path: Path) -> None:
    # the first start on a new data directory exports the model in a child process: the
    # server itself never loads torch
    assert _start(tmp_path) == ["False", "False"]
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


def test_the_fast_tokenizer_gives_the_torch_models_ids() -> None:
    layout = read_layout(model_path(PACKAGED_MODEL))
    assert layout is not None and layout.dim == 384
    fast = _FastTokenizer(layout)
    reference = _TorchTokenizer(SentenceTransformerEmbedder(PACKAGED_MODEL, 32).model)
    texts = [
        *(f"{row['title']}\n{row['text']}" for row in feed()),
        "",
        "Ünïcödé — \u201cquotes\u201d \u2018and\u2019 accents, 中文 and 日本語, an emoji 🎉, tabs\tand\nlines",
        "harbour " * 600,  # past the token limit: both cut at the same token
    ]
    for text in texts:
        ours, theirs = fast(text), reference(text)
        assert all(np.array_equal(ours[name], theirs[name]) for name in theirs), text[:40]


def test_a_start_from_the_export_imports_no_torch() -> None:
    """Once the export is cached, the ONNX path reads the export and the tokenizer's file
    alone: no torch import, no progress bar."""
    load_embedder(Settings(backend="onnx-int8"))  # exports once, if no run has yet
    assert _start(Settings().data_dir) == ["False", "False"]


def test_loading_the_torch_model_prints_no_progress_bar() -> None:
    code = (
        "from service.embedder import load_embedder\n"
        "from service.settings import Settings\n"
        "load_embedder(Settings(backend='torch')).embed(['a text'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Loading weights" not in done.stderr and done.stdout == ""


def _folder(root: Path, pooling: Mapping[str, object], stated: Mapping[str, object]) -> Path:
    (root / "1_Pooling").mkdir(parents=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 8, **pooling})
    )
    (root / "sentence_bert_config.json").write_text(json.dumps(stated))
    (root / "tokenizer.json").write_text("{}")
    return root


def test_the_layout_is_read_from_the_folder_or_left_to_torch(tmp_path: Path) -> None:
    mean = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    layout = read_layout(
        _folder(tmp_path / "a", mean, {"max_seq_length": 64, "do_lower_case": True})
    )
    assert layout is not None and (layout.max_tokens, layout.dim, layout.lower) == (64, 8, True)
    assert read_layout(_folder(tmp_path / "b", mean, {})) is None  # no stated limit: ask torch
    cls = {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    with pytest.raises(ModelError, match="mean-pool"):
        read_layout(_folder(tmp_path / "c", cls, {"max_seq_length": 64}))
    assert read_layout(tmp_path / "missing") is None
