"""Where the engine's time goes, measured from outside: the engine is wrapped at run time,
never edited. Wrappers add a clock read per call, which is noise beside the work."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, ParamSpec, TypeVar
from unittest import mock

import numpy as np

import service.clustering
import service.corpus
from service.embedder import Embedder

P = ParamSpec("P")
R = TypeVar("R")


class Stopwatch:
    """Seconds spent per named part, summed over calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def timed(self, part: str, fn: Callable[P, R]) -> Callable[P, R]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start

        return wrapper


class TimedEmbedder:
    """An embedder that counts the texts it is given and the time the model takes."""

    def __init__(self, inner: Embedder, watch: Stopwatch) -> None:
        self.name = inner.name
        self.dim = inner.dim
        self.texts = 0
        self._embed = watch.timed("model", inner.embed)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self._embed(texts)


def _timed_class(base: type[Any], part: str, methods: Sequence[str], watch: Stopwatch) -> Any:
    return type(base.__name__, (base,), {m: watch.timed(part, getattr(base, m)) for m in methods})


@contextmanager
def instrumented(watch: Stopwatch) -> Iterator[None]:
    """Time the corpus run's parts: prepare and in-page flags, boilerplate flags,
    fingerprints (MinHash), the duplicate index (LSH + containment) and story assignment
    (FAISS search, decay, add)."""
    corpus, clustering = service.corpus, service.clustering
    patches = [
        (corpus, "prepare", watch.timed("prepare + page flags", corpus.prepare)),
        (corpus, "with_boilerplate", watch.timed("boilerplate flags", corpus.with_boilerplate)),
        (corpus, "page_fingerprint", watch.timed("fingerprints", corpus.page_fingerprint)),
        (clustering, "page_fingerprint", watch.timed("fingerprints", clustering.page_fingerprint)),
        (
            clustering,
            "DuplicateIndex",
            _timed_class(clustering.DuplicateIndex, "LSH + containment", ["match", "add"], watch),
        ),
        (
            clustering,
            "StoryIndex",
            _timed_class(clustering.StoryIndex, "stories (FAISS + decay)", ["assign"], watch),
        ),
    ]
    with ExitStack() as stack:
        for module, name, new in patches:
            stack.enter_context(mock.patch.object(module, name, new))
        yield
