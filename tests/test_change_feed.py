"""The change feed and the store's write lock: what lets several processes share a store."""

from __future__ import annotations

import pytest

from service.store import Store, StoryRow, connect
from service.store.feed import Change, FeedConflict, latest, since, touched
from service.store.ingest import IngestBatch, write_batch
from service.store.lock import WriteBusy, WriteLock
from service.store.migrate import upgrade


def _store(url: str) -> Store:
    engine = connect(url)
    upgrade(engine)
    return Store(engine)


def test_a_write_numbered_after_a_change_it_missed_is_refused_whole(database_url: str) -> None:
    store = _store(database_url)
    write_batch(store, IngestBatch(stories=[7], change=Change(1, (1, 2), (5,), ((4, 5),))))
    with pytest.raises(FeedConflict, match="another process"):
        write_batch(store, IngestBatch(stories=[8], change=Change(1, (3,), (6,))))
    with store.session() as s:
        assert s.get(StoryRow, 8) is None  # nothing of the refused write
    write_batch(store, IngestBatch(stories=[8], change=Change(2, (3,), (6,))))
    assert latest(store) == 2
    changes = since(store, 0)
    assert [c.seq for c in changes] == [1, 2]
    assert changes[0] == Change(1, (1, 2), (5,), ((4, 5),))
    assert since(store, 2) == []
    assert touched(changes) == Change(2, (1, 2, 3), (5, 6), ((4, 5),))
    store.engine.dispose()


def test_the_write_lock_is_held_by_one_process_at_a_time(postgres_url: str) -> None:
    store, other = _store(postgres_url), _store(postgres_url)
    first, second = WriteLock(store), WriteLock(other, wait_seconds=0.3)
    with first.held(), pytest.raises(WriteBusy, match="write lock"), second.held():
        pass
    with second.held():  # let go at the end of the block
        pass
    with first.held():
        first.close()  # its connection gone (as when its process dies): the lock goes with it
        with second.held():
            pass
    for s in (store, other):
        s.engine.dispose()
