"""Where the engine's time goes, measured from outside: the engine is wrapped at run time,
never edited. Wrappers add a clock read per call, which is noise beside the work."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import ParamSpec, TypeVar
from unittest import mock

import numpy as np

import service.items
import service.pipeline
from service.article import Article
from service.config import PipelineConfig
from service.embedder import Embedder
from service.items import Item

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


def _listed(articles: Iterable[Article], config: PipelineConfig) -> list[Item]:
    """Every item at once, so that the time to prepare them is one call's."""
    return list(service.items.items_of(articles, config))


@contextmanager
def instrumented(watch: Stopwatch) -> Iterator[None]:
    """Time the corpus run's parts: preparing pages (extraction, blocks, in-page flags,
    sketches), learning furniture together with the copy components (fingerprints, LSH,
    the copy rule, counts) and stories (FAISS and average-link). The model is timed by
    ``TimedEmbedder``; the rest (the final copy components, answers) is "other"."""
    pipeline = service.pipeline
    patches = [
        (pipeline, "items_of", watch.timed("prepare + page flags + sketch", _listed)),
        (pipeline, "learn", watch.timed("furniture + copies (converging)", pipeline.learn)),
        (pipeline, "_stories", watch.timed("stories (FAISS + average-link)", pipeline._stories)),
    ]
    with ExitStack() as stack:
        for module, name, new in patches:
            stack.enter_context(mock.patch.object(module, name, new))
        yield
