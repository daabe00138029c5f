"""store: the persistent truth (SQLAlchemy; SQLite file by default, PostgreSQL by URL).

The in-memory engine and the vector index are caches of this: both can be rebuilt from
it. A batch is written in one transaction, so it is stored whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    JSON,
    Float,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from service.canonical import Candidate, Origin
from service.group_table import UNKNOWN, micros
from service.store.schema import (
    SIDE_TABLES,
    ArticleRow,
    ArticleSketchRow,
    ArticleTextRow,
    GroupRow,
    MetaRow,
    ReindexRow,
    SequenceRow,
    StoryRow,
    now,
    split_values,
    utc,
    vector_of,
)
from service.timeline import Rising

CHUNK = 500  # keys per query: well under SQLite's cap on bound parameters

MEMBER_COLUMNS = (
    ArticleRow.member,
    ArticleRow.group_id,
    ArticleRow.content_hash,
    ArticleSketchRow.shingles,
    ArticleSketchRow.minhash,
    ArticleRow.words,
    ArticleSketchRow.sketch,
    ArticleRow.furniture,
    ArticleRow.site,
    ArticleRow.title,
    ArticleRow.lead_block,
)


STORY_ARTICLE_COLUMNS = (
    ArticleRow.group_id,
    ArticleRow.id,
    ArticleRow.title,
    ArticleRow.source,
    ArticleRow.site,
    ArticleRow.url,
    ArticleRow.published_at,
    ArticleRow.ingested_at,
    ArticleRow.words,
    ArticleRow.credit,
    ArticleRow.repost,
    ArticleRow.is_duplicate,
    ArticleRow.similarity,
)


class StoryArticle(NamedTuple):
    """An article as a story view shows it."""

    story: int
    group: int
    candidate: Candidate
    title: str | None
    source: str | None
    url: str | None
    ingested_at: datetime
    is_duplicate: bool
    similarity: float | None

    @property
    def id(self) -> str:
        return self.candidate.id

    @property
    def when(self) -> datetime:
        """Published, else ingested."""
        return self.candidate.published_at or self.ingested_at


class MemberRow(NamedTuple):
    """What copy detection needs of a stored article."""

    member: int
    group_id: int
    content_hash: str
    shingles: bytes
    minhash: bytes
    words: int
    sketch: bytes | None
    furniture: bytes | None
    site: str | None
    title: str | None
    lead_block: int | None


class StoredInput(NamedTuple):
    """A stored article's input as it was given (``reindex.article_of`` makes the
    ``Article`` of it): what preparing it again, or showing it, reads."""

    member: int
    id: str
    title: str | None
    url: str | None
    source: str | None
    published_at: datetime | None
    raw: str
    raw_kind: str
    captions: list[str]


INPUT_COLUMNS = (
    ArticleRow.member,
    ArticleRow.id,
    ArticleRow.title,
    ArticleRow.url,
    ArticleRow.source,
    ArticleRow.published_at,
    ArticleTextRow.raw,
    ArticleTextRow.raw_kind,
    ArticleTextRow.captions,
)


def dialect_of(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def table_of(row: type[Any]) -> Table:
    """A mapped class's table, for plain inserts (no ORM unit of work or bulk path)."""
    table: Table = row.__table__
    return table


ARTICLE_TABLES = (table_of(ArticleRow), *(table_of(row) for row in SIDE_TABLES))
"""Where an article's values live, in ``schema.split_values``'s order."""


def insert_articles(conn: Session | Connection, articles: Sequence[dict[str, Any]]) -> None:
    """New articles' values, each into the table that holds it (``schema.split_values``):
    one plain insert per table, ``articles`` first (the others refer to its members)."""
    if not articles:
        return
    by_table = zip(*(split_values(values) for values in articles), strict=True)
    for table, rows in zip(ARTICLE_TABLES, by_table, strict=True):
        conn.execute(insert(table), list(rows))


def insert_ignore(session: Session, table: Any, rows: list[dict[str, int]]) -> None:
    """Add rows that are not there yet, in either dialect: one statement, its rows passed as
    parameters (a statement with the rows inline was compiled anew for every batch: 158 ms
    for a thousand rows on PostgreSQL)."""
    if rows:
        statement = dialect_of(session).insert(table).on_conflict_do_nothing()
        session.execute(statement, rows)


def chunks(values: Iterable[int]) -> list[list[int]]:
    """Ids in ascending order, ``CHUNK`` to a list: one ``IN`` query each."""
    ordered = sorted(int(v) for v in values)
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


def executemany(session: Session, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """One statement over many parameter rows, 5,000 at a time (the driver's batches)."""
    for start in range(0, len(rows), 5000):
        chunk = list(rows[start : start + 5000])
        if chunk:
            session.execute(statement, chunk)


def _bound(name: str, column: Any, dialect: str) -> Any:
    """A parameter for ``column`` of an article update: a JSON column's value comes as its
    text (serialised once, when it was hashed) and is stored as that text: bound as text
    on SQLite, whose JSON columns are text, and cast to JSON elsewhere."""
    if not isinstance(column.type, JSON):
        return bindparam(name)
    text = bindparam(name, type_=Text())
    return text if dialect == "sqlite" else cast(text, column.type)


def update_articles(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Stored articles' changed values: each change is a member and the columns it sets (a
    JSON column's as its text, ``window.json_text``), written to whichever table holds them
    (``schema.split_values``), one statement per table and set of columns. The parameter
    rows are made a driver's batch at a time: a first night rewrites every article, and
    all of them at once held another copy of its changes (0.3 GiB at a million)."""
    by_columns: dict[tuple[int, tuple[str, ...]], list[int]] = {}  # -> changes' positions
    for at, change in enumerate(changes):
        for t, values in enumerate(split_values(change)):
            columns = tuple(sorted(k for k in values if k != "member"))
            if columns:
                by_columns.setdefault((t, columns), []).append(at)
    dialect = session.get_bind().dialect.name
    for (t, columns), which in by_columns.items():
        table = ARTICLE_TABLES[t]
        statement = (
            update(table)
            .where(table.c.member == bindparam("m"))
            .values(**{k: _bound(f"v_{k}", table.c[k], dialect) for k in columns})
        )
        for start in range(0, len(which), 5000):
            rows = [
                {"m": changes[i]["member"], **{f"v_{k}": changes[i][k] for k in columns}}
                for i in which[start : start + 5000]
            ]
            executemany(session, statement, rows)


def connect(url: str, checkpoints: bool = True) -> Engine:
    """An engine for the URL; SQLite gets WAL and full sync so a kill loses nothing committed.
    ``checkpoints`` False: its commits never copy the log back (``store.wal`` does it)."""
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
            if not checkpoints:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def id_runs(ids: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Sorted distinct ids cut into ranges (first, last) of at most ``size`` of them, each
    spanning at most ``2 * size`` ids: read as a range, at least half of its rows are
    wanted, however sparse the ids."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or i - start == size or ids[i] - ids[start] >= 2 * size:
            runs.append((ids[start], ids[i - 1]))
            start = i
    return runs


def _groups_by_id(
    s: Session, ids: Sequence[int], *columns: Any, where: Sequence[Any] = ()
) -> Iterator[Any]:
    """(id, *columns) of the group rows with these ids (and ``where``), read as ranges of
    ids (``id_runs``): at half a million groups a range reads in half the time of a list of
    ids bound one by one, and SQLite caps the number of bound parameters anyway."""
    wanted = set(ids)
    for low, high in id_runs(sorted(wanted), 5000):
        query = select(GroupRow.id, *columns).where(GroupRow.id >= low, GroupRow.id <= high, *where)
        for row in s.execute(query).all():
            if row[0] in wanted:
                yield row


LIVE_SPANS = select(
    GroupRow.id, GroupRow.story_id, GroupRow.first_published, GroupRow.last_published
).where(GroupRow.merged_into.is_(None))


class KeyedVectors(NamedTuple):
    """Stored vectors read into the rows of a matrix the caller asked for by key."""

    matrix: np.ndarray | None  # float32, a row per key asked; None when none was stored
    found: np.ndarray  # bool per key asked: its row holds the stored vector


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

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A plain connection for the hot path's lookups (no ORM session to begin and end)."""
        with self.engine.connect() as conn:
            yield conn

    def ping(self) -> None:
        with self.session() as s:
            s.execute(select(1))

    def reserve(self, name: str, count: int) -> int:
        """Reserve ``count`` ids of a kind ('member', 'group', 'story'); returns the first."""
        tables = {"member": ArticleRow.member, "group": GroupRow.id, "story": StoryRow.id}
        with self.session() as s:
            dialect = dialect_of(s)
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

    def set_meta(self, key: str, value: str) -> None:
        with self.session() as s:
            s.merge(MetaRow(key=key, value=value))

    def index_version(self) -> int:
        return int(self.get_meta("index_version", "0"))

    def articles(self, ids: Sequence[str]) -> dict[str, ArticleRow]:
        with self.session() as s:
            rows = s.scalars(select(ArticleRow).where(ArticleRow.id.in_(list(ids)))).all()
            return {row.id: row for row in rows}

    def inputs(self, members: Iterable[int]) -> dict[int, StoredInput]:
        """The stored inputs of these members (those still stored), by member."""
        out: dict[int, StoredInput] = {}
        for chunk in chunks(members):
            out.update({row.member: row for row in self._inputs(ArticleRow.member.in_(chunk))})
        return out

    def input_of(self, article_id: str) -> StoredInput | None:
        """One stored article's input; None when there is no such article."""
        found = self._inputs(ArticleRow.id == article_id)
        return found[0] if found else None

    def _inputs(self, where: Any) -> list[StoredInput]:
        query = (
            select(*INPUT_COLUMNS)
            .join(ArticleTextRow, ArticleTextRow.member == ArticleRow.member)
            .where(where)
        )
        with self.reading() as conn:
            rows = [StoredInput(*r) for r in conn.execute(query)]
        return [row._replace(published_at=utc(row.published_at)) for row in rows]

    def flags(self, members: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """The stored flags of these members (those still stored), by member."""
        out: dict[int, list[dict[str, Any]]] = {}
        with self.reading() as conn:
            for chunk in chunks(members):
                query = select(ArticleTextRow.member, ArticleTextRow.flags)
                found = conn.execute(query.where(ArticleTextRow.member.in_(chunk)))
                out.update({int(m): flags for m, flags in found})
        return out

    def stored_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these article ids are stored (the id column alone)."""
        with self.reading() as conn:
            return set(conn.scalars(select(ArticleRow.id).where(ArticleRow.id.in_(list(ids)))))

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

    def story_sizes(
        self,
        since: datetime | None,
        limit: int,
        offset: int,
        sort: str = "size",
        rising: Rising | None = None,
    ) -> list[tuple[int, int]]:
        """(story, articles) of stories with an article ingested since ``since``: largest
        first, most recent article first, or most risen first (``Rising``, up to the
        latest article not in the future)."""
        when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
        with self.session() as s:
            count = func.count(ArticleRow.id)
            order: list[Any] = [count.desc()]
            if sort == "recent":
                order = [func.max(when).desc()]
            elif sort == "rising":
                rule = rising or Rising()
                at = utc(s.scalar(select(func.max(when)).where(when <= now()))) or now()
                start = at - timedelta(hours=rule.hours)
                before = start - timedelta(hours=rule.baseline_hours)
                recent = func.sum(case((when > start, 1), else_=0))
                earlier = func.sum(case((and_(when > before, when <= start), 1), else_=0))
                score = cast(recent, Float) / (1.0 + earlier * rule.per_earlier)
                order = [score.desc(), recent.desc()]
            query = select(GroupRow.story_id, count).join(
                ArticleRow, ArticleRow.group_id == GroupRow.id
            )
            if since is not None:
                query = query.where(ArticleRow.ingested_at >= since)
            query = query.group_by(GroupRow.story_id).order_by(*order, GroupRow.story_id.desc())
            return [(int(a), int(b)) for a, b in s.execute(query.limit(limit).offset(offset)).all()]

    def story_articles(
        self, stories: Sequence[int] = (), groups: Sequence[int] = ()
    ) -> list[StoryArticle]:
        """Every article of these stories (or of these groups), with what a story view
        shows of it, in arrival order."""
        out: list[StoryArticle] = []
        with self.session() as s:
            which = (
                GroupRow.story_id.in_(list(stories)) if stories else GroupRow.id.in_(list(groups))
            )
            query = (
                select(GroupRow.story_id, *STORY_ARTICLE_COLUMNS)
                .join(GroupRow, GroupRow.id == ArticleRow.group_id)
                .where(which)
                .order_by(ArticleRow.member)
            )
            for row in s.execute(query).all():
                story, group, article_id, title, source, site, url, published, ingested = row[:9]
                words, credit, repost, duplicate, similarity = row[9:]
                out.append(
                    StoryArticle(
                        int(story),
                        int(group),
                        Candidate(
                            article_id, utc(published), int(words), Origin(site, credit, repost)
                        ),
                        title,
                        source,
                        url,
                        utc(ingested) or now(),
                        bool(duplicate),
                        similarity,
                    )
                )
        return out

    def group_leads(self, members: Sequence[str]) -> dict[str, str]:
        """The lead (title and first words of the clean text) of these articles."""
        with self.session() as s:
            query = select(ArticleRow.id, ArticleRow.lead).where(ArticleRow.id.in_(list(members)))
            return {i: lead for i, lead in s.execute(query).all()}

    def recent_leads(self, limit: int) -> list[tuple[int, str]]:
        """(story, lead) of the latest ``limit`` articles that opened a group."""
        with self.session() as s:
            query = (
                select(GroupRow.story_id, ArticleRow.lead)
                .join(GroupRow, GroupRow.id == ArticleRow.group_id)
                .where(ArticleRow.is_duplicate.is_(False))
                .order_by(ArticleRow.member.desc())
                .limit(limit)
            )
            return [(int(story), lead) for story, lead in s.execute(query).all()]

    def group_spans(
        self, only: Sequence[int] | None = None
    ) -> list[tuple[int, int, datetime | None, datetime | None]]:
        """(group, story, first published, last published) of every live group (or of these)."""
        query = LIVE_SPANS
        if only is not None:
            query = query.where(GroupRow.id.in_(list(only)))
        with self.session() as s:
            return [(int(g), int(t), a, b) for g, t, a, b in s.execute(query).all()]

    def group_columns(
        self, chunk: int = 50_000
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Group ids, stories, first and last publication (micros since the epoch,
        ``group_table.UNKNOWN`` where none) of every live group, read in chunks into int64
        columns: a process starting on a million groups holds no row objects for them."""
        query = LIVE_SPANS
        parts: list[np.ndarray] = []
        with self.reading() as conn:
            result = conn.execution_options(yield_per=chunk).execute(query)
            for rows in result.partitions():
                parts.append(
                    np.array(
                        [
                            (
                                g,
                                t,
                                UNKNOWN if a is None else micros(a),
                                UNKNOWN if b is None else micros(b),
                            )
                            for g, t, a, b in rows
                        ],
                        np.int64,
                    ).reshape(-1, 4)
                )
        table = np.concatenate(parts) if parts else np.zeros((0, 4), np.int64)
        return table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy(), table[:, 3].copy()

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
        """The vectors of these groups, in the order given."""
        with self.session() as s:
            rows = {int(g): v for g, v in _groups_by_id(s, ids, GroupRow.vector) if v is not None}
        return np.stack([vector_of(rows[i]) for i in ids])

    def candidates(self, groups: Iterable[int]) -> list[tuple[int, Candidate]]:
        """(group, what the canonical choice reads) of every member of these groups."""
        with self.session() as s:
            query = select(
                ArticleRow.group_id,
                ArticleRow.id,
                ArticleRow.published_at,
                ArticleRow.words,
                ArticleRow.site,
                ArticleRow.credit,
                ArticleRow.repost,
            ).where(ArticleRow.group_id.in_(list(groups)))
            return [
                (int(g), Candidate(i, utc(p), int(w), Origin(site, credit, bool(repost))))
                for g, i, p, w, site, credit, repost in s.execute(query).all()
            ]

    def ids_of(self, members: Sequence[int]) -> dict[int, str]:
        """The article id of each of these members still stored."""
        out: dict[int, str] = {}
        with self.session() as s:
            for start in range(0, len(members), 5000):
                chunk = list(members[start : start + 5000])
                query = select(ArticleRow.member, ArticleRow.id).where(ArticleRow.member.in_(chunk))
                out.update({int(m): i for m, i in s.execute(query).all()})
        return out

    @staticmethod
    def story_has_groups(session: Session, story_id: int) -> bool:
        return (
            session.scalar(select(GroupRow.id).where(GroupRow.story_id == story_id).limit(1))
            is not None
        )

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

    def vectors_by_key(self, ids: Sequence[int], version: str, keys: Sequence[str]) -> KeyedVectors:
        """The current vectors of these groups by what they were made from (``vector_key``),
        read straight into a row per key asked, in that order (a key asked twice gets its
        vector twice); a reindex asks for every group of the window (``_groups_by_id``).
        The rows of keys not found are left for the caller to fill: at half a million
        groups the matrix is 0.7 GiB, made once and not copied."""
        current = (
            GroupRow.vector_version == version,
            GroupRow.vector.is_not(None),
            GroupRow.vector_key.is_not(None),
        )
        rows: dict[str, list[int]] = {}
        for row, key in enumerate(keys):
            rows.setdefault(key, []).append(row)
        found = np.zeros(len(keys), dtype=bool)
        matrix: np.ndarray | None = None
        with self.session() as s:
            for _, key, blob in _groups_by_id(
                s, ids, GroupRow.vector_key, GroupRow.vector, where=current
            ):
                at = rows.get(str(key))
                if not blob or not at:
                    continue
                if matrix is None:
                    matrix = np.empty((len(keys), len(blob) // 4), np.float32)
                matrix[at] = vector_of(blob)
                found[at] = True
        return KeyedVectors(matrix, found)

    def last_reindex(self) -> ReindexRow | None:
        with self.session() as s:
            return s.scalars(select(ReindexRow).order_by(ReindexRow.id.desc()).limit(1)).first()
