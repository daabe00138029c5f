"""The story and time span of every live duplicate group, held as numpy columns.

The live process looks these up for every story search (the neighbours' stories and
spans). Python dicts of ints and datetime pairs cost about 400 bytes a group, 400 MB at a
million groups. Here a group costs 32 bytes: sorted ids with three int64 columns, and
recent changes go to a small dict that is folded into the columns once it holds
``fold`` entries (one sort per fold, never per write).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
UNKNOWN = np.iinfo(np.int64).min  # a group whose members carry no publication time
GONE = -1  # story column of a removed group (until the next fold drops it)

Span = tuple[datetime, datetime]
_Entry = tuple[int, int, int]  # story, first, last (micros or UNKNOWN)


def micros(when: datetime) -> int:
    """Microseconds since the epoch (a time without a zone is taken as UTC)."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return (aware - EPOCH) // MICROSECOND


def _when(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class GroupTable:
    """Group id -> (story, span), compact; ``fold`` bounds the dict of recent changes."""

    def __init__(self, fold: int = 4096) -> None:
        self._fold = fold
        self._ids = np.zeros(0, np.int64)
        self._story = np.zeros(0, np.int64)
        self._first = np.zeros(0, np.int64)
        self._last = np.zeros(0, np.int64)
        self._recent: dict[int, _Entry] = {}

    def load(
        self, ids: np.ndarray, stories: np.ndarray, first: np.ndarray, last: np.ndarray
    ) -> None:
        """Replace the table with these columns (spans in micros, UNKNOWN where none)."""
        order = np.argsort(ids, kind="stable")
        self._ids = np.ascontiguousarray(ids[order], np.int64)
        self._story = np.ascontiguousarray(stories[order], np.int64)
        self._first = np.ascontiguousarray(first[order], np.int64)
        self._last = np.ascontiguousarray(last[order], np.int64)
        self._recent.clear()

    def _raw(self, group: int) -> _Entry | None:
        held = self._recent.get(group)
        if held is not None:
            return held
        at = int(np.searchsorted(self._ids, group))
        if at == len(self._ids) or self._ids[at] != group:
            return None
        return int(self._story[at]), int(self._first[at]), int(self._last[at])

    def _entry(self, group: int) -> _Entry | None:
        held = self._raw(group)
        return None if held is None or held[0] == GONE else held

    def __contains__(self, group: int) -> bool:
        return self._entry(group) is not None

    def story(self, group: int) -> int | None:
        entry = self._entry(group)
        return None if entry is None else entry[0]

    def span(self, group: int) -> Span | None:
        entry = self._entry(group)
        if entry is None or entry[1] == UNKNOWN:
            return None
        return _when(entry[1]), _when(entry[2])

    def put(self, group: int, story: int, span: Span | None) -> None:
        """Set a group's story and span (a new group, or one read back from the store)."""
        first, last = (micros(span[0]), micros(span[1])) if span else (UNKNOWN, UNKNOWN)
        self._set(group, (story, first, last))

    def set_story(self, group: int, story: int) -> None:
        entry = self._raw(group)
        self._set(group, (story, *(entry[1:] if entry else (UNKNOWN, UNKNOWN))))

    def widen(self, group: int, when: datetime) -> None:
        """Widen a group's span with a member's publication time (a group not held yet is
        held with no story until one is set)."""
        at = micros(when)
        entry = self._raw(group)
        if entry is None or entry[1] == UNKNOWN:
            self._set(group, (entry[0] if entry else GONE, at, at))
        else:
            self._set(group, (entry[0], min(entry[1], at), max(entry[2], at)))

    def remove(self, group: int) -> None:
        if self._raw(group) is not None:
            self._set(group, (GONE, UNKNOWN, UNKNOWN))

    def _set(self, group: int, entry: _Entry) -> None:
        self._recent[group] = entry
        if len(self._recent) >= self._fold:
            self._merge()

    def _merge(self) -> None:
        """Fold the recent changes into the columns: they win over the column rows they
        replace; removed groups are dropped (a group widened before its story is set keeps
        its span)."""
        if not self._recent:
            return
        ids = np.fromiter(self._recent, np.int64, len(self._recent))
        values = np.array(list(self._recent.values()), np.int64).reshape(-1, 3)
        at = np.searchsorted(self._ids, ids)
        inside = at < len(self._ids)
        replaced = at[inside][self._ids[at[inside]] == ids[inside]]
        keep = np.ones(len(self._ids), bool)
        keep[replaced] = False
        live = (values[:, 0] != GONE) | (values[:, 1] != UNKNOWN)  # a span waiting for a story
        all_ids = np.concatenate([self._ids[keep], ids[live]])
        order = np.argsort(all_ids, kind="stable")
        self._ids = all_ids[order]
        self._story = np.concatenate([self._story[keep], values[live, 0]])[order]
        self._first = np.concatenate([self._first[keep], values[live, 1]])[order]
        self._last = np.concatenate([self._last[keep], values[live, 2]])[order]
        self._recent.clear()
