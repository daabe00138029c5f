"""The articles inside the retention window, read from the store as arrays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select

from service.store import ArticleRow, GroupRow, Store, utc


@dataclass
class Window:
    """The articles inside the retention window, as arrays in arrival order."""

    member: np.ndarray
    group: np.ndarray
    story: np.ndarray
    hashes: list[str]
    shingles: list[np.ndarray]
    minhashes: np.ndarray
    when: list[datetime | None]


def read_window(store: Store, since: datetime, batch: int = 20_000) -> Window:
    reference = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    columns = (
        ArticleRow.member,
        ArticleRow.group_id,
        GroupRow.story_id,
        ArticleRow.content_hash,
        ArticleRow.shingles,
        ArticleRow.minhash,
        ArticleRow.published_at,
    )
    rows: list[Any] = []
    last = 0
    while True:
        with store.session() as s:
            query = (
                select(*columns)
                .join(GroupRow, GroupRow.id == ArticleRow.group_id)
                .where(ArticleRow.member > last, reference >= since)
                .order_by(ArticleRow.member)
                .limit(batch)
            )
            chunk = s.execute(query).all()
        if not chunk:
            break
        rows.extend(chunk)
        last = chunk[-1][0]
    return Window(
        member=np.array([r[0] for r in rows], dtype=np.int64),
        group=np.array([r[1] for r in rows], dtype=np.int64),
        story=np.array([r[2] for r in rows], dtype=np.int64),
        hashes=[r[3] for r in rows],
        shingles=[np.frombuffer(r[4], dtype=np.uint32) for r in rows],
        minhashes=(
            np.stack([np.frombuffer(r[5], dtype=np.uint32) for r in rows])
            if rows
            else np.zeros((0, 0), dtype=np.uint32)
        ),
        when=[utc(r[6]) for r in rows],
    )
