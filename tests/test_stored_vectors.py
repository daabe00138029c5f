"""Stored vectors read by id ranges: only the groups asked for, however sparse their ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from service.pipeline import GroupVectors, kept_rows
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
    asked = ["key-5", "key-4", "key-9", "key-40000", "key-5", "key-3"]
    found = store.vectors_by_key([3, 5, 9, 40_000], "v1", asked)
    # 4 lies between the ids asked but was not asked; 9's vector is of another version
    assert found.found.tolist() == [True, False, False, True, True, True]
    assert found.matrix is not None and found.matrix.shape == (6, 4)
    assert found.matrix[found.found, 0].tolist() == [5.0, 40_000.0, 5.0, 3.0]
    assert store.vectors_by_key([3], "v2", ["key-3"]).matrix is None
    # by id, whatever the version, in the order asked
    assert store.vectors([40_000, 9, 3])[:, 0].tolist() == [40_000.0, 9.0, 3.0]


@given(st.lists(st.booleans(), max_size=200), st.integers(1, 7))
def test_kept_rows_moves_the_present_rows_to_the_front_in_place(
    present: list[bool], dim: int
) -> None:
    """A reindex's matrix has a row per group asked; those of groups with no vector are
    dropped by moving the others forward in the same matrix, in order."""
    mask = np.array(present, dtype=bool)
    matrix = np.arange(len(present) * dim, dtype=np.float32).reshape(len(present), dim).copy()
    want = matrix[mask].copy()
    rows = [row if has else None for row, has in zip(matrix, present, strict=True)]
    stacked = GroupVectors.stacked(rows)
    assert stacked.present.tolist() == present
    if any(present):
        assert stacked.matrix is not None and np.array_equal(stacked.matrix, want)
    else:
        assert stacked.matrix is None
    got = kept_rows(matrix, mask)
    assert np.array_equal(got, want)
    assert got is matrix or got.base is matrix  # moved inside it: no second matrix
