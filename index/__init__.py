"""The vector index: FAISS behind a small interface that the reindex extends."""

from index.vector_index import FlatIPIndex, VectorIndex

__all__ = ["FlatIPIndex", "VectorIndex"]
