"""The live furniture rule's counts: distinct groups per block, read from the store up to a
cap, with the groups themselves when there are few."""

from __future__ import annotations

from sqlalchemy import insert

from service.store import Store, connect
from service.store.ingest import StoreCounts
from service.store.migrate import upgrade
from service.store.schema import BlockGroupRow, BlockSiteRow


def _store(url: str) -> Store:
    engine = connect(url)
    upgrade(engine)
    return Store(engine)


def test_counts_stop_at_the_cap_and_name_the_groups_of_rare_blocks(database_url: str) -> None:
    store = _store(database_url)
    spread = {11: range(1, 8), 12: range(20, 22), 13: [30]}  # key -> its groups
    with store.session() as s:
        s.execute(
            insert(BlockGroupRow),
            [{"key_hash": k, "group_id": g} for k, groups in spread.items() for g in groups],
        )
        s.execute(
            insert(BlockSiteRow),
            [{"site_hash": 5, "key_hash": 11, "group_id": g} for g in range(1, 7)]
            + [{"site_hash": 6, "key_hash": 11, "group_id": 9}],
        )
    counts = StoreCounts(store, cap=4)
    assert counts.overall([13, 12, 11, 99, 12], 3) == {
        11: (4, frozenset()),  # seven groups, counted up to the cap
        12: (2, frozenset({20, 21})),
        13: (1, frozenset({30})),
    }
    assert StoreCounts(store, cap=1000).overall([11], 3) == {11: (7, frozenset())}
    assert counts.on_site([(5, 11), (6, 11), (6, 12)], 2) == {
        (5, 11): (4, frozenset()),
        (6, 11): (1, frozenset({9})),
    }
    # more keys than one statement asks about
    many = StoreCounts(store, cap=4).overall([*range(1000, 1450), 11], 3)
    assert many == {11: (4, frozenset())}
