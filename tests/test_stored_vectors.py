"""Stored vectors read by id ranges: only the groups asked for, however sparse their ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from service.store import Store, connect
from service.store.core import id_runs
from service.store.migrate import upgrade
from service.store.schema import GroupRow, StoryRow


@given(st.sets(st.integers(1, 10_000), max_size=300), st.integers(1, 40))
def test_id_runs_cover_every_id_once_each_range_at_least_half_wanted(
    ids: set[int], size: int
) -> None:
    ordered = sorted(ids)
    runs = id_runs(ordered, size)
    covered = [i for low, high in runs for i in ordered if low <= i <= high]
    assert covered == ordered  # every id in exactly one range, ranges in order
    for low, high in runs:
        inside = [i for i in ordered if low <= i <= high]
        assert low in ids and high in ids and len(inside) <= size
        assert high - low < 2 * size  # so at least half of a range's rows are wanted


def test_stored_vectors_are_read_for_the_groups_asked_only(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    store = Store(engine)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as s:
        s.add(StoryRow(id=1, created_at=stamp))
        s.flush()
        for g in (3, 4, 5, 9, 40_000):
            s.add(
                GroupRow(
                    id=g,
                    story_id=1,
                    created_at=stamp,
                    vector=np.full(4, g, np.float32).tobytes(),
                    vector_version="v1" if g != 9 else "v0",
                    vector_key=f"key-{g}",
                )
            )
    found = store.vectors_by_key([3, 5, 9, 40_000], "v1")
    assert sorted(found.rows) == ["key-3", "key-40000", "key-5"]  # 4 lies between: not asked
    assert found.matrix.shape == (3, 4)
    key_5 = found.get("key-5")
    assert key_5 is not None and key_5.tolist() == [5.0] * 4
    assert found.get("key-4") is None
    # by id, whatever the version, in the order asked
    assert store.vectors([40_000, 9, 3])[:, 0].tolist() == [40_000.0, 9.0, 3.0]
