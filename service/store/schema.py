"""The tables, and how values are encoded in them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class StoryRow(Base):
    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merged_into: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class GroupRow(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    story_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stories.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    vector_version: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # what the vector was made from (the lead's key): reused while it still holds
    vector_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    merged_into: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    member: Mapped[int] = mapped_column(BigInteger, unique=True)
    group_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("groups.id"), index=True)
    is_duplicate: Mapped[bool] = mapped_column(Boolean)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    site: Mapped[str | None] = mapped_column(Text, nullable=True)
    words: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # the page's sketch, shingles and minhash are ``ArticleSketchRow``'s; its furniture as
    # last decided (over the sketch's blocks, prepared with ``prepared_with``)
    furniture: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # the furniture its flags, clean text and lead were made with (the reindex repaints
    # them when the furniture learned since differs)
    painted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    prepared_with: Mapped[int] = mapped_column(Integer, default=0)
    lead_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    lead: Mapped[str] = mapped_column(Text)
    # what the canonical choice reads: an agency credit, and a scraper's repost furniture
    credit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    repost: Mapped[bool] = mapped_column(Boolean, default=False)
    # how it was matched (``service.answer.Evidence``); none for articles stored before
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


def _article_member() -> Mapped[int]:
    """The key of a table beside ``articles``: its article's member, deleted with it."""
    return mapped_column(
        BigInteger,
        ForeignKey("articles.member", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )


class ArticleTextRow(Base):
    """A stored article's page: its input as given, its clean text and its flags. A table of
    its own, so that the rows the reindex reads and rewrites every night (``ArticleRow``)
    hold only what it reads: on SQLite an update rewrites the whole row, and with 10 KB of
    page in each the 1M reindex's write took 240.8 s, not 66-67 (``FIGURES.md``)."""

    __tablename__ = "article_texts"
    member: Mapped[int] = _article_member()
    raw: Mapped[str] = mapped_column(Text)
    raw_kind: Mapped[str] = mapped_column(String(8))
    captions: Mapped[list[str]] = mapped_column(JSON)
    clean_text: Mapped[str] = mapped_column(Text)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ArticleSketchRow(Base):
    """A stored article's sketch (``service.sketch.Sketch``) and the fingerprint of the
    blocks it keeps (shingle set and minhash): 2.8 KB a page, read by copy detection and
    by the reindex, written when the page is prepared or its kept blocks change. Apart
    from ``ArticleRow`` for the reason the texts are: the 1M reindex's first night, which
    rewrites every row's evidence, wrote for 63.6-72.0 s with these bytes in the row and
    33.1-43.2 s without (``FIGURES.md``)."""

    __tablename__ = "article_sketches"
    member: Mapped[int] = _article_member()
    sketch: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    shingles: Mapped[bytes] = mapped_column(LargeBinary)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)


SIDE_TABLES = (ArticleTextRow, ArticleSketchRow)
"""The tables beside ``articles`` that hold the rest of an article's values, by member."""
_SIDE_COLUMNS = tuple(
    frozenset(c.name for c in row.__table__.columns) - {"member"} for row in SIDE_TABLES
)


def split_values(values: dict[str, Any]) -> list[dict[str, Any]]:
    """An article's values (with its ``member``) by table: ``articles``' first, then each of
    ``SIDE_TABLES``' (empty when none of its columns is set; each keeps the member)."""
    side = [{k: v for k, v in values.items() if k in columns} for columns in _SIDE_COLUMNS]
    taken = {k for part in side for k in part}
    rest = {k: v for k, v in values.items() if k not in taken}
    return [rest, *({"member": values["member"], **part} if part else {} for part in side)]


class SequenceRow(Base):
    """The next free id of each kind; blocks are reserved with one atomic update."""

    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next: Mapped[int] = mapped_column(BigInteger)


class MetaRow(Base):
    """Small named values: the current index version."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ReindexRow(Base):
    """One reindex run and what it changed."""

    __tablename__ = "reindex_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


class BlockGroupRow(Base):
    """That a block (by key hash) was seen in a duplicate group: its spread over texts."""

    __tablename__ = "block_groups"
    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class BlockSiteRow(Base):
    """That a block was seen on a site in a duplicate group: a site's template."""

    __tablename__ = "block_sites"
    site_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ChangeRow(Base):
    """One write of the live service (a batch, a takedown), in commit order: what every
    serving process replays into its in-memory state before it next uses it."""

    __tablename__ = "changes"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    members: Mapped[list[int]] = mapped_column(JSON)  # written or taken down
    groups: Mapped[list[int]] = mapped_column(JSON)  # opened, grown, emptied or revectored
    merges: Mapped[list[list[int]]] = mapped_column(JSON)  # [old, survivor] pairs


class CopyBandRow(Base):
    """An LSH band key of a stored page's fingerprint: copy detection's candidates."""

    __tablename__ = "copy_bands"
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    member: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("articles.member", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )


class HeadlineTermRow(Base):
    """A term of a stored page's headline that list entries elsewhere may quote: a shingle
    of it (kind 0), or its whole line's block key (kind 1)."""

    __tablename__ = "headline_terms"
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    term: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    member: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("articles.member", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time we hand out is UTC-aware."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def vector_bytes(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def vector_of(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def array_bytes(values: np.ndarray, dtype: type) -> bytes:
    return np.asarray(values, dtype=dtype).tobytes()


def array_of(blob: bytes | None, dtype: type) -> np.ndarray:
    return np.frombuffer(blob or b"", dtype=dtype)
