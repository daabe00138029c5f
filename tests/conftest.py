"""Shared fixtures: settings, the real packaged model (loaded once), and a stand-in embedder
for unit tests of the assignment logic."""

from __future__ import annotations

import contextlib
import os
import uuid
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

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


POSTGRES_URL = os.environ.get(
    "NEWSDEDUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin():  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def _fresh_postgres() -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards, or a skip saying why there is no server."""
    import sqlalchemy as sa

    name = f"newsdedup_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL} ({type(exc.orig).__name__})")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same tests against every store backend; PostgreSQL gets a new database each test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with _fresh_postgres() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new PostgreSQL database for a test of several processes on one store."""
    with _fresh_postgres() as url:
        yield url
