"""The model as the domain sees it: texts in, unit vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into unit vectors; ``name`` is recorded with every vector."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...
