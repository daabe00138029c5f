"""The change feed: every live write (a batch, a takedown) leaves one row, numbered in commit
order, in the transaction that makes it. A serving process replays the rows after the last
it applied before it uses its in-memory state, so processes that share a store agree.

Numbers are given by the writer (the last it applied plus one) under the store's write
lock, not by the database: a writer that somehow missed a row collides with it on the key
and its write fails whole, rather than being stored beside a state it never saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.store.core import Store
from service.store.schema import ChangeRow, now

KEEP = timedelta(hours=1)  # a process further behind than this rebuilds from the store


@dataclass(frozen=True)
class Change:
    """What one write touched: members written or taken down, groups opened, grown,
    emptied or given a new vector, and groups joined into others (old, survivor)."""

    seq: int
    members: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()
    merges: tuple[tuple[int, int], ...] = field(default=())


class FeedConflict(RuntimeError):
    """Another writer took this change's number: the write saw a state already gone."""


def record(session: Session, change: Change) -> None:
    """Add the change to the write's transaction (flushed at once: a taken number fails the
    write before anything else is written); now and then drop rows past ``KEEP``."""
    stamp = now()
    session.add(
        ChangeRow(
            seq=change.seq,
            at=stamp,
            members=sorted(set(change.members)),
            groups=sorted(set(change.groups)),
            merges=[list(pair) for pair in change.merges],
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise FeedConflict(
            f"change {change.seq} was written by another process; this write is refused"
        ) from None
    if change.seq % 1000 == 0:
        session.execute(delete(ChangeRow).where(ChangeRow.at < stamp - KEEP))


def latest(store: Store) -> int:
    """The number of the last change committed (0 before the first)."""
    with store.session() as s:
        return int(s.scalar(select(func.max(ChangeRow.seq))) or 0)


def since(store: Store, seq: int) -> list[Change]:
    """The changes committed after ``seq``, in order."""
    columns = (ChangeRow.seq, ChangeRow.members, ChangeRow.groups, ChangeRow.merges)
    with store.reading() as conn:
        rows = conn.execute(select(*columns).where(ChangeRow.seq > seq).order_by(ChangeRow.seq))
        return [
            Change(
                int(n), tuple(members), tuple(groups), tuple((int(a), int(b)) for a, b in merges)
            )
            for n, members, groups, merges in rows
        ]


def touched(changes: Iterable[Change]) -> Change:
    """The changes as one: every member and group they touched, their merges in order."""
    members: set[int] = set()
    groups: set[int] = set()
    merges: list[tuple[int, int]] = []
    last = 0
    for change in changes:
        members.update(change.members)
        groups.update(change.groups)
        merges.extend(change.merges)
        last = change.seq
    return Change(last, tuple(sorted(members)), tuple(sorted(groups)), tuple(merges))
