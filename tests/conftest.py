"""Shared fixtures: settings, the real packaged model (loaded once), and a stand-in embedder
for unit tests of the assignment logic."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from service.embedder import Embedder, load_embedder
from service.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def model(settings: Settings) -> Embedder:
    """The real packaged sentence-transformers model."""
    return load_embedder(settings)


class BagOfWordsEmbedder:
    """Deterministic stand-in: hashed bag of words, normalised. Texts sharing words are close."""

    name = "bag-of-words"
    dim = 256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


@pytest.fixture
def stand_in() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()
