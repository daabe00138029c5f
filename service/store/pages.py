"""The stored pages as copy detection asks for them: LSH band keys and quotable headline
terms in indexed tables (rows go with their article: ON DELETE CASCADE), and each page's
sketch read back only when it is a candidate. Several processes share these answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from service.store.core import CHUNK, MEMBER_COLUMNS, MemberRow, Store, chunks, table_of
from service.store.schema import ArticleRow, ArticleSketchRow, CopyBandRow, HeadlineTermRow

PAGES = 5000  # pages whose terms one statement writes
OPENING, LINE = 0, 1  # headline term kinds: one of its shingles, its whole line's key


@dataclass(frozen=True)
class PageTerms:
    """What a stored page is found by: its band keys (none without text), and, when
    ``headline`` is set, its quotable headline's shingles and line key (none: not quotable)."""

    member: int
    bands: np.ndarray  # int64, sorted, each once
    headline: bool = False
    heads: Sequence[int] = ()
    line: int | None = None


def index_pages(session: Session, pages: Sequence[PageTerms], new: bool = False) -> None:
    """Write (or rewrite) the terms of these pages, in the caller's transaction (``new``:
    pages never indexed before, so there is nothing to replace), ``PAGES`` pages a
    statement: a reindex that rewrites a million pages never holds their 28 million rows."""
    for start in range(0, len(pages), PAGES):
        _index_pages(session, pages[start : start + PAGES], new)


def _index_pages(session: Session, pages: Sequence[PageTerms], new: bool) -> None:
    if not new:
        members = sorted({p.member for p in pages})
        titled = sorted({p.member for p in pages if p.headline})
        for start in range(0, len(members), CHUNK):
            chunk = members[start : start + CHUNK]
            session.execute(delete(CopyBandRow).where(CopyBandRow.member.in_(chunk)))
        for start in range(0, len(titled), CHUNK):
            chunk = titled[start : start + CHUNK]
            session.execute(delete(HeadlineTermRow).where(HeadlineTermRow.member.in_(chunk)))
    # plain inserts of the tables (the ORM's bulk path costs 5 us a row: 28 rows a page)
    bands = [{"key": k, "member": p.member} for p in pages for k in p.bands.tolist()]
    if bands:
        session.execute(insert(table_of(CopyBandRow)), bands)
    terms = [
        {"kind": kind, "term": term, "member": p.member}
        for p in pages
        if p.headline
        for kind, values in ((OPENING, p.heads), (LINE, [] if p.line is None else [p.line]))
        for term in sorted(set(values))
    ]
    if terms:
        session.execute(insert(table_of(HeadlineTermRow)), terms)


WITH_TEXT: ColumnElement[bool] = (ArticleRow.words > 0) & (
    func.length(ArticleSketchRow.shingles) > 0
)


Query = TypeVar("Query", bound=Select)


def with_sketch(query: Query) -> Query:
    """A query over articles that reads their sketch row too (``WITH_TEXT`` does)."""
    return query.join(ArticleSketchRow, ArticleSketchRow.member == ArticleRow.member)


def _many(name: str) -> BindParameter[Any]:
    """A list parameter bound as a whole (no statement built, nor value coerced, per call:
    these run several times for every page ingested)."""
    return bindparam(name, expanding=True)


FIRST_WITH_HASH = with_sketch(select(func.min(ArticleRow.member))).where(
    ArticleRow.content_hash == bindparam("digest"), WITH_TEXT
)
FIRST_WITH_HASH_BESIDES = FIRST_WITH_HASH.where(ArticleRow.member.not_in(_many("besides")))
SHARING = select(CopyBandRow.key, CopyBandRow.member).where(CopyBandRow.key.in_(_many("keys")))
GROUPS_OF = select(ArticleRow.member, ArticleRow.group_id).where(
    ArticleRow.member.in_(_many("members"))
)
MEMBERS_WITH_TEXT = with_sketch(select(ArticleRow.member)).where(
    ArticleRow.group_id.in_(_many("groups")), WITH_TEXT
)
ROWS_WITH_TEXT = with_sketch(select(*MEMBER_COLUMNS)).where(
    ArticleRow.member.in_(_many("members")), WITH_TEXT
)
HEADLINE_OWNERS = (
    select(HeadlineTermRow.kind, HeadlineTermRow.term, HeadlineTermRow.member)
    .where(
        ((HeadlineTermRow.kind == OPENING) & HeadlineTermRow.term.in_(_many("heads")))
        | ((HeadlineTermRow.kind == LINE) & HeadlineTermRow.term.in_(_many("keys")))
    )
    .order_by(HeadlineTermRow.member)
)
TITLES_AND_SHINGLES = with_sketch(
    select(ArticleRow.member, ArticleRow.title, ArticleSketchRow.shingles)
).where(ArticleRow.member.in_(_many("members")))


def first_with_hash(store: Store, digest: str, besides: Collection[int]) -> int | None:
    """The first stored page with text and this content hash, other than ``besides``."""
    with store.reading() as s:
        if besides:
            found = s.scalar(
                FIRST_WITH_HASH_BESIDES, {"digest": digest, "besides": sorted(besides)}
            )
        else:
            found = s.scalar(FIRST_WITH_HASH, {"digest": digest})
        return int(found) if found is not None else None


def sharing(store: Store, keys: Sequence[int]) -> dict[int, set[int]]:
    """The stored pages with each of these band keys."""
    out: dict[int, set[int]] = {}
    with store.reading() as s:
        for chunk in chunks(keys):
            for key, member in s.execute(SHARING, {"keys": chunk}).all():
                out.setdefault(int(key), set()).add(int(member))
    return out


def groups_of(store: Store, members: Collection[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    with store.reading() as s:
        for chunk in chunks(members):
            out.update({int(m): int(g) for m, g in s.execute(GROUPS_OF, {"members": chunk})})
    return out


def members_with_text(store: Store, groups: Collection[int]) -> set[int]:
    out: set[int] = set()
    with store.reading() as s:
        for chunk in chunks(groups):
            out.update(int(m) for m in s.scalars(MEMBERS_WITH_TEXT, {"groups": chunk}))
    return out


def rows_with_text(store: Store, members: Collection[int]) -> list[MemberRow]:
    """What copy detection needs of these pages, those with text only."""
    rows: list[MemberRow] = []
    with store.reading() as s:
        for chunk in chunks(members):
            rows.extend(MemberRow._make(r) for r in s.execute(ROWS_WITH_TEXT, {"members": chunk}))
    return rows


def headline_owners(
    store: Store, heads: Sequence[int], keys: Sequence[int]
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Per shingle, the stored pages whose quotable headline holds it; per block key, those
    whose headline line it is."""
    found: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
    heads, keys = [int(t) for t in heads], [int(t) for t in keys]
    with store.reading() as s:
        for start in range(0, max(len(heads), len(keys)), CHUNK):
            bound = {"heads": heads[start : start + CHUNK], "keys": keys[start : start + CHUNK]}
            for kind, term, member in s.execute(HEADLINE_OWNERS, bound):
                found[kind].setdefault(int(term), []).append(int(member))
    for table in found:  # in member order, as the pages were indexed
        for owners in table.values():
            owners.sort()
    return found


def titles_and_shingles(
    store: Store, members: Collection[int]
) -> dict[int, tuple[str | None, bytes]]:
    out: dict[int, tuple[str | None, bytes]] = {}
    with store.reading() as s:
        for chunk in chunks(members):
            rows = s.execute(TITLES_AND_SHINGLES, {"members": chunk})
            out.update({int(m): (t, b) for m, t, b in rows})
    return out


def unindexed(store: Store, after: int, limit: int) -> list[MemberRow]:
    """Stored pages with text past member ``after`` that have no band keys yet (a store
    written before the copy index), in member order."""
    with store.session() as s:
        has_bands = select(CopyBandRow.member).where(CopyBandRow.member == ArticleRow.member)
        query = (
            with_sketch(select(*MEMBER_COLUMNS))
            .where(ArticleRow.member > after, WITH_TEXT, ~has_bands.exists())
            .order_by(ArticleRow.member)
            .limit(limit)
        )
        return [MemberRow._make(row) for row in s.execute(query).all()]


def write_terms(store: Store, pages: Sequence[PageTerms]) -> None:
    with store.session() as s:
        index_pages(s, pages)
