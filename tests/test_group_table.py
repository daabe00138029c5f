"""The compact group table answers as a dict of (story, span) would, across folds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.group_table import UNKNOWN, GroupTable, micros

T0 = datetime(2026, 3, 1, tzinfo=UTC)

ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "put_none", "story", "widen", "remove"]),
        st.integers(0, 5),  # group
        st.integers(1, 5),  # story
        st.integers(-100, 100),  # hours from T0
    ),
    max_size=120,
)


class Model:
    """The plain-dict behaviour the table replaces."""

    def __init__(self) -> None:
        self.story: dict[int, int] = {}
        self.span: dict[int, tuple[datetime, datetime]] = {}

    def apply(self, op: str, group: int, story: int, hours: int) -> None:
        when = T0 + timedelta(hours=hours)
        if op == "put":
            self.story[group], self.span[group] = story, (when, when + timedelta(hours=1))
        elif op == "put_none":
            self.story[group] = story
            self.span.pop(group, None)
        elif op == "story":
            self.story[group] = story
        elif op == "widen":
            held = self.span.get(group)
            self.span[group] = (min(held[0], when), max(held[1], when)) if held else (when, when)
        else:
            self.story.pop(group, None)
            self.span.pop(group, None)


def _apply(table: GroupTable, op: str, group: int, story: int, hours: int) -> None:
    when = T0 + timedelta(hours=hours)
    if op == "put":
        table.put(group, story, (when, when + timedelta(hours=1)))
    elif op == "put_none":
        table.put(group, story, None)
    elif op == "story":
        table.set_story(group, story)
    elif op == "widen":
        table.widen(group, when)
    else:
        table.remove(group)


@settings(max_examples=200, deadline=None)
@given(ops, st.integers(1, 6))
def test_table_answers_as_dicts_do(operations: list[tuple[str, int, int, int]], fold: int) -> None:
    table, model = GroupTable(fold=fold), Model()
    for op, group, story, hours in operations:
        _apply(table, op, group, story, hours)
        model.apply(op, group, story, hours)
    for group in range(6):
        assert table.story(group) == model.story.get(group)
        if group in model.story:
            assert table.span(group) == model.span.get(group)


def test_loaded_columns_are_found_and_replaced() -> None:
    table = GroupTable(fold=2)
    first = np.array([micros(T0), UNKNOWN, micros(T0)], np.int64)
    table.load(np.array([30, 10, 20]), np.array([3, 1, 2]), first, first)
    assert [table.story(g) for g in (10, 20, 30, 40)] == [1, 2, 3, None]
    assert table.span(10) is None
    assert table.span(20) == (T0, T0)
    table.set_story(20, 9)
    table.remove(30)
    table.put(40, 4, None)  # the third change folds
    assert [table.story(g) for g in (10, 20, 30, 40)] == [1, 9, None, 4]
    assert 30 not in table and 40 in table
