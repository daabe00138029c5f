"""store: the persistent truth (SQLAlchemy; SQLite file by default, PostgreSQL by URL).

Every SQL statement of the service lives in this package. The in-memory state of the
live service and the vector index are caches of the store: both can be rebuilt from it.
"""

from sqlalchemy.exc import OperationalError as StoreUnavailable

from service.store.core import (
    MemberRow,
    Store,
    StoredInput,
    StoryArticle,
    connect,
    dialect_of,
)
from service.store.schema import (
    ArticleRow,
    ArticleSketchRow,
    ArticleTextRow,
    Base,
    BlockGroupRow,
    BlockSiteRow,
    GroupRow,
    MetaRow,
    ReindexRow,
    StoryRow,
    array_bytes,
    array_of,
    now,
    utc,
    vector_bytes,
    vector_of,
)

__all__ = [
    "ArticleRow",
    "ArticleSketchRow",
    "ArticleTextRow",
    "Base",
    "BlockGroupRow",
    "BlockSiteRow",
    "GroupRow",
    "MemberRow",
    "MetaRow",
    "ReindexRow",
    "Store",
    "StoreUnavailable",
    "StoredInput",
    "StoryArticle",
    "StoryRow",
    "array_bytes",
    "array_of",
    "connect",
    "dialect_of",
    "now",
    "utc",
    "vector_bytes",
    "vector_of",
]
