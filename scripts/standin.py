"""A stand-in embedder for runs whose figures cannot depend on the model.

Flags are settled before anything is embedded and duplicate groups come from fingerprints
alone, so sweeps of those settings need no model time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class NullEmbedder:
    """Zero vectors: nothing joins a story, nothing is computed."""

    name = "none"
    dim = 8

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)
