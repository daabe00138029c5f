"""store: the persistent truth (SQLAlchemy; SQLite file by default, PostgreSQL by URL).

The in-memory engine and the vector index are caches of this: both can be rebuilt from
it. A batch is written in one transaction, so it is stored whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

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
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


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
    words: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    shingles: Mapped[bytes] = mapped_column(LargeBinary)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    lead: Mapped[str] = mapped_column(Text)
    clean_text: Mapped[str] = mapped_column(Text)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    raw: Mapped[str] = mapped_column(Text)
    raw_kind: Mapped[str] = mapped_column(String(8))
    captions: Mapped[list[str]] = mapped_column(JSON)


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
    """That a block (by key hash) was seen in a duplicate group: its document frequency."""

    __tablename__ = "block_groups"
    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


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


def shingle_bytes(shingles: Iterable[int]) -> bytes:
    return np.fromiter(sorted(shingles), dtype=np.uint32).tobytes()


def shingles_of(blob: bytes) -> frozenset[int]:
    return frozenset(np.frombuffer(blob, dtype=np.uint32).tolist())


FINGERPRINT_COLUMNS = (
    ArticleRow.member,
    ArticleRow.group_id,
    ArticleRow.content_hash,
    ArticleRow.shingles,
    ArticleRow.minhash,
    ArticleRow.words,
)


class FingerprintRow(NamedTuple):
    member: int
    group_id: int
    content_hash: str
    shingles: bytes
    minhash: bytes
    words: int


def connect(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL and full sync so a kill loses nothing committed."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """Typed reads and transactional writes over the schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        with self.session() as s:
            s.execute(select(1))

    def reserve(self, name: str, count: int) -> int:
        """Reserve ``count`` ids of a kind ('member', 'group', 'story'); returns the first."""
        tables = {"member": ArticleRow.member, "group": GroupRow.id, "story": StoryRow.id}
        with self.session() as s:
            dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
            start = (s.scalar(select(func.max(tables[name]))) or 0) + 1
            s.execute(
                dialect.insert(SequenceRow).values(name=name, next=start).on_conflict_do_nothing()
            )
            after = s.scalar(
                update(SequenceRow)
                .where(SequenceRow.name == name)
                .values(next=SequenceRow.next + count)
                .returning(SequenceRow.next)
            )
            return int(after or 0) - count

    def id_blocks(self, name: str, block: int = 1000) -> Iterator[int]:
        """An endless run of fresh ids, reserved from the store ``block`` at a time."""
        while True:
            start = self.reserve(name, block)
            yield from range(start, start + block)

    def get_meta(self, key: str, default: str = "") -> str:
        with self.session() as s:
            row = s.get(MetaRow, key)
            return row.value if row else default

    def index_version(self) -> int:
        return int(self.get_meta("index_version", "0"))

    def articles(self, ids: Sequence[str]) -> dict[str, ArticleRow]:
        with self.session() as s:
            rows = s.scalars(select(ArticleRow).where(ArticleRow.id.in_(list(ids)))).all()
            return {row.id: row for row in rows}

    def group(self, group_id: int) -> GroupRow | None:
        with self.session() as s:
            return s.get(GroupRow, group_id)

    def story(self, story_id: int) -> StoryRow | None:
        with self.session() as s:
            return s.get(StoryRow, story_id)

    def members(self, group_ids: Iterable[int]) -> list[ArticleRow]:
        with self.session() as s:
            query = select(ArticleRow).where(ArticleRow.group_id.in_(list(group_ids)))
            return list(s.scalars(query.order_by(ArticleRow.member)).all())

    def groups_of_story(self, story_id: int) -> list[GroupRow]:
        with self.session() as s:
            query = select(GroupRow).where(GroupRow.story_id == story_id).order_by(GroupRow.id)
            return list(s.scalars(query).all())

    def story_sizes(self, since: datetime | None, limit: int, offset: int) -> list[tuple[int, int]]:
        """(story, articles) of stories with an article ingested since ``since``, largest first."""
        with self.session() as s:
            count = func.count(ArticleRow.id)
            query = select(GroupRow.story_id, count).join(
                ArticleRow, ArticleRow.group_id == GroupRow.id
            )
            if since is not None:
                query = query.where(ArticleRow.ingested_at >= since)
            query = query.group_by(GroupRow.story_id).order_by(
                count.desc(), GroupRow.story_id.desc()
            )
            return [(int(a), int(b)) for a, b in s.execute(query.limit(limit).offset(offset)).all()]

    def fingerprints_of(self, members: Sequence[int]) -> list[FingerprintRow]:
        """What copy detection needs of these articles (those still stored)."""
        rows: list[FingerprintRow] = []
        with self.session() as s:
            for start in range(0, len(members), 5000):
                chunk = list(members[start : start + 5000])
                query = select(*FINGERPRINT_COLUMNS).where(ArticleRow.member.in_(chunk))
                rows.extend(FingerprintRow(*row) for row in s.execute(query).all())
        return rows

    def iter_fingerprints(self, batch: int = 5000) -> Iterator[FingerprintRow]:
        """What copy detection needs of every article, in arrival order, a batch at a time."""
        last = 0
        while True:
            with self.session() as s:
                query = (
                    select(*FINGERPRINT_COLUMNS)
                    .where(ArticleRow.member > last)
                    .order_by(ArticleRow.member)
                )
                rows = [FingerprintRow(*row) for row in s.execute(query.limit(batch)).all()]
            if not rows:
                return
            yield from rows
            last = rows[-1].member

    def group_spans(
        self, only: Sequence[int] | None = None
    ) -> list[tuple[int, int, datetime | None, datetime | None]]:
        """(group, story, first published, last published) of every live group (or of these)."""
        columns = (
            GroupRow.id,
            GroupRow.story_id,
            GroupRow.first_published,
            GroupRow.last_published,
        )
        query = select(*columns).where(GroupRow.merged_into.is_(None))
        if only is not None:
            query = query.where(GroupRow.id.in_(list(only)))
        with self.session() as s:
            return [(int(g), int(t), a, b) for g, t, a, b in s.execute(query).all()]

    def vector_ids(self, version: str) -> np.ndarray:
        """Ids of the groups in the index window holding a vector of this version (model and
        preparation), ascending."""
        window = self.get_meta("window_start")
        with self.session() as s:
            query = select(GroupRow.id).where(
                GroupRow.vector_version == version,
                GroupRow.vector.is_not(None),
                GroupRow.merged_into.is_(None),
            )
            if window:
                since = datetime.fromisoformat(window)
                query = query.where(
                    func.coalesce(GroupRow.last_published, GroupRow.created_at) >= since
                )
            return np.array(s.scalars(query.order_by(GroupRow.id)).all(), dtype=np.int64)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The vectors of these groups, in the order given (read in chunks: SQLite caps the
        number of bound parameters)."""
        rows: dict[int, bytes] = {}
        with self.session() as s:
            for start in range(0, len(ids), 5000):
                chunk = list(ids[start : start + 5000])
                query = select(GroupRow.id, GroupRow.vector).where(GroupRow.id.in_(chunk))
                rows.update({int(i): v for i, v in s.execute(query).all() if v is not None})
        return np.stack([vector_of(rows[i]) for i in ids])

    def block_counts(self, hashes: set[int]) -> dict[int, int]:
        """In how many distinct groups each of these blocks was seen."""
        counts: dict[int, int] = {}
        keys = sorted(hashes)
        with self.session() as s:
            for start in range(0, len(keys), 500):
                query = (
                    select(BlockGroupRow.key_hash, func.count())
                    .where(BlockGroupRow.key_hash.in_(keys[start : start + 500]))
                    .group_by(BlockGroupRow.key_hash)
                )
                counts.update({int(k): int(n) for k, n in s.execute(query).all()})
        return counts

    def member_keys(
        self, groups: Iterable[int]
    ) -> list[tuple[int, str, datetime | None, int, int]]:
        """(group, id, published_at, words, member) of every member of these groups."""
        with self.session() as s:
            query = select(
                ArticleRow.group_id,
                ArticleRow.id,
                ArticleRow.published_at,
                ArticleRow.words,
                ArticleRow.member,
            ).where(ArticleRow.group_id.in_(list(groups)))
            return [(int(g), i, p, int(w), int(m)) for g, i, p, w, m in s.execute(query).all()]

    @staticmethod
    def story_has_groups(session: Session, story_id: int) -> bool:
        return (
            session.scalar(select(GroupRow.id).where(GroupRow.story_id == story_id).limit(1))
            is not None
        )

    def story_headlines(self, stories: Sequence[int]) -> dict[int, str | None]:
        """The title of each story's first article."""
        with self.session() as s:
            query = (
                select(GroupRow.story_id, ArticleRow.title)
                .join(ArticleRow, ArticleRow.group_id == GroupRow.id)
                .where(GroupRow.story_id.in_(list(stories)))
                .order_by(ArticleRow.member.desc())
            )
            return {int(story): title for story, title in s.execute(query).all()}

    def group_vectors(self, ids: Sequence[int]) -> dict[int, tuple[bytes | None, str | None]]:
        """(vector, vector version) of these groups."""
        out: dict[int, tuple[bytes | None, str | None]] = {}
        with self.session() as s:
            for start in range(0, len(ids), 5000):
                query = select(GroupRow.id, GroupRow.vector, GroupRow.vector_version).where(
                    GroupRow.id.in_(list(ids[start : start + 5000]))
                )
                out.update({int(g): (v, m) for g, v, m in s.execute(query).all()})
        return out

    def inputs(self, members: Sequence[int]) -> dict[int, ArticleRow]:
        """The stored articles (with their input) for these members."""
        with self.session() as s:
            rows = s.scalars(select(ArticleRow).where(ArticleRow.member.in_(list(members)))).all()
            return {row.member: row for row in rows}

    def last_reindex(self) -> ReindexRow | None:
        with self.session() as s:
            return s.scalars(select(ReindexRow).order_by(ReindexRow.id.desc()).limit(1)).first()
