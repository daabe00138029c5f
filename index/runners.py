"""Where the reindex's heavy pure steps run: in this process (the default), or as tasks on
a Ray cluster (``newsdedup reindex --engine ray``, with the optional extra
``newsdedup[ray]``).

A step cuts its work into independent pieces over data that every piece reads; the runner
runs a task per piece and answers in the pieces' order. Ray was chosen over Dask because
the batch embedding and deduplication pipelines of this size are built on it, and because
its object store hands one read-only copy of the shared arrays to every task on a node
(``ray.put`` once, zero-copy numpy reads), which is what a join over a million vectors
needs. The result never depends on the runner: pieces are pure and merged in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class RunnerUnavailable(RuntimeError):
    """The engine asked for cannot run here (its extra is missing, or no cluster answers)."""


class Runner(Protocol):
    """Runs ``step(*shared, *piece)`` for each piece; ``parts`` is how many pieces are worth
    cutting (the cluster's CPUs, a few each)."""

    @property
    def parts(self) -> int: ...

    def map(
        self, step: Callable[..., T], shared: Sequence[Any], pieces: Sequence[Sequence[Any]]
    ) -> list[T]: ...


@dataclass(frozen=True)
class InProcess:
    """Every piece in this process, one after the other (the steps use every core already:
    BLAS and FAISS run threaded)."""

    parts: int = 1

    def map(
        self, step: Callable[..., T], shared: Sequence[Any], pieces: Sequence[Sequence[Any]]
    ) -> list[T]:
        return [step(*shared, *piece) for piece in pieces]


LOCAL = InProcess()


class RayRunner:
    """Pieces as Ray tasks. ``address``: a running cluster (``ray://host:10001`` or
    ``host:6379``, as ``ray.init`` takes); None starts a local one for this process, or
    joins the one ``RAY_ADDRESS`` names. Each worker imports this package, so every node
    needs the same newsdedup installed (the cluster's image, or a runtime environment)."""

    def __init__(self, address: str | None = None, pieces_per_cpu: int = 2) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RunnerUnavailable(
                "the Ray engine needs the optional extra: pip install 'newsdedup[ray]'"
            ) from exc
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except ConnectionError as exc:
                raise RunnerUnavailable(f"no Ray cluster answers at {address}: {exc}") from exc
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.parts = max(2, pieces_per_cpu * cpus)
        log.info("ray runner", extra={"cpus": cpus, "pieces": self.parts})

    def map(
        self, step: Callable[..., T], shared: Sequence[Any], pieces: Sequence[Sequence[Any]]
    ) -> list[T]:
        refs = [self._ray.put(value) for value in shared]
        task = self._ray.remote(step)
        return list(self._ray.get([task.remote(*refs, *piece) for piece in pieces]))


def runner_for(engine: str, address: str | None = None) -> Runner:
    """The runner an engine name stands for: ``local`` or ``ray``."""
    if engine == "local":
        return LOCAL
    if engine == "ray":
        return RayRunner(address)
    raise ValueError(f"unknown engine {engine!r}: choose local or ray")
