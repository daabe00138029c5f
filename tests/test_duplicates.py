from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from service.clustering import duplicate_index, group_copies
from service.fingerprint import containment, fingerprint
from service.settings import Settings
from service.text import words_of
from tests.pages import PARAGRAPHS

STORY = " ".join(PARAGRAPHS * 2)


def _fp(text: str, settings: Settings):
    return fingerprint(words_of(text), settings.shingle_words, settings.num_perm)


def _groups(texts: list[str], settings: Settings) -> list[tuple[int, float | None]]:
    placed = group_copies(
        [_fp(t, settings) for t in texts],
        duplicate_index(settings),
        itertools.count(),
        itertools.count(),
    )
    return [(group, sim) for _, group, sim in placed]


def test_exact_copy_differing_in_case_and_quotes_is_one_group(settings: Settings) -> None:
    other = STORY.upper().replace('"', "\u201c")
    assert _groups([STORY, other], settings) == [(0, None), (0, 1.0)]


def test_trimmed_copy_with_new_dateline_joins_the_full_text(settings: Settings) -> None:
    words = STORY.split()
    trimmed = "SELWICK (Coast Agency) -- " + " ".join(words[: len(words) // 2])
    (_, _), (group, sim) = _groups([STORY, trimmed], settings)
    assert group == 0 and sim is not None and sim > 0.9


def test_different_text_on_the_same_topic_is_not_a_copy(settings: Settings) -> None:
    other = (
        "Storms closed the coastal road near Selwick last week and a convoy of lorries "
        "brought food and generators to the port on Friday, officials said. Boats will take "
        "supplies to the islands. The harbour master said every lorry arrived safely."
    )
    assert [g for g, _ in _groups([STORY, other], settings)] == [0, 1]


def test_empty_texts_never_group(settings: Settings) -> None:
    assert [g for g, _ in _groups(["", "", "..."], settings)] == [0, 1, 2]


@hsettings(max_examples=50, deadline=None)
@given(st.sets(st.integers(0, 500), max_size=60), st.sets(st.integers(0, 500), max_size=60))
def test_containment_is_symmetric_and_bounded(a: set[int], b: set[int]) -> None:
    x, y = frozenset(a), frozenset(b)
    assert containment(x, y) == containment(y, x)
    assert 0.0 <= containment(x, y) <= 1.0
    if x and x <= y:
        assert containment(x, y) == 1.0
