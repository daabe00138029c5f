"""Words of a line: the one-pass reading of typographic text gives the words and offsets
that normalising word by word gives."""

from __future__ import annotations

import re
import unicodedata

import pytest

from service.text import find_words, split_blocks, words_of, words_with_offsets

_APOSTROPHES = "'\u2019\u2018\u201a\u201b\u02bc"
_WORD = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")


def reference(text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Every word NFKC-normalised, apostrophes dropped, case-folded, with its offsets."""
    drop = str.maketrans(dict.fromkeys(_APOSTROPHES, ""))
    found = list(_WORD.finditer(text))
    words = tuple(
        unicodedata.normalize("NFKC", m.group()).translate(drop).casefold() for m in found
    )
    return words, tuple(m.span() for m in found)


LINES = [
    "Kirk\u2019s \u201cbig\u201d day \u2013 the mayor\u2019s office said\u2026",
    "\u2018Time is a great healer,\u2019 she said \u2014 \u00abnot\u00bb\u00a0always",
    "It's the O'Neills' turn; rock 'n' roll",
    "Stra\u00dfe and \ufb01nance, \uff21\uff22\uff23 in full width",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u0430",
    "modifier \u02bcapostrophe\u02bc and Kirk\u02bcs",
    "plain ascii, 12 words; under_scores and 3.5%",
    "\u201e\u201c \u2013 \u2014 \u2026",
    "",
]


@pytest.mark.parametrize("line", LINES)
def test_words_match_word_by_word_normalisation(line: str) -> None:
    words, offsets = reference(line)
    assert words_of(line) == words
    assert words_with_offsets(line) == (words, offsets)
    assert words_with_offsets(line, 7)[1] == tuple((a + 7, b + 7) for a, b in offsets)


def test_block_offsets_are_read_back_in_the_page() -> None:
    page = "Title here\n\n  \u2022 Kirk\u2019s \u201cbig\u201d day\nlast line"
    blocks = split_blocks(page)
    entry = blocks[1]
    assert entry.listed and entry.words == ("kirks", "big", "day")
    assert [page[a:b] for a, b in entry.offsets] == ["Kirk\u2019s", "big", "day"]


def test_find_words_counts_words_before_the_run() -> None:
    assert find_words("a bb ccc dd", "ccc dd") == 2
    assert find_words("a bb ccc dd", "bb c") == -1
    assert find_words("a bb", "") == -1
    assert find_words("a", "a b") == -1
