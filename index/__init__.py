"""The vector index: FAISS behind a small interface that the reindex extends."""

from index.vector_index import FaissIndex, VectorIndex

__all__ = ["FaissIndex", "VectorIndex"]
