"""Text normalisation and blocks: the units that flags, hashes and shingles work on.

Comparison happens on *word keys*: Unicode-normalised, case-folded words with quotes,
dashes and punctuation gone, so "Kirk's" with a straight or a curly apostrophe compare
equal. Every word keeps its character offsets in the input, so a match can be reported
as a span of the input.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

_APOSTROPHES = "'\u2019\u2018\u201a\u201b\u02bc"
_WORD = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")
_DROP_APOSTROPHES = str.maketrans(dict.fromkeys(_APOSTROPHES, ""))
# One character for one (offsets hold): typographic apostrophes become "'", and quotes,
# dashes, ellipses and no-break spaces, never part of a word, become spaces. Most lines of
# news text are ASCII then, and their words are read in one pass, not normalised one by one.
# (U+02BC is a letter to the word pattern, so it is left to the full path.)
_PLAIN = str.maketrans(
    {
        **dict.fromkeys(_APOSTROPHES.replace("\u02bc", ""), "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u2013\u2014\u2026\u00a0\u00ab\u00bb", " "),
    }
)
# A list marker at the start of a line ("1.", "12)", "•", "-") is layout, not text: the same
# entry ranked 2nd on one page and 3rd on another is the same block. So is the cue of a
# related-link line ("Read more:", "RELATED:", "Also read -"): the line is an entry of the
# page's list of other articles, whichever cue the outlet prints before the headline.
_LIST_MARKER = re.compile(
    r"(?:\d{1,3}[.)]|[\u2022\u00b7\u25aa\u25cf*\-\u2013\u2014]"
    r"|(?i:read (?:more|also|next)|also read|more|more from \w+|related(?: stories| articles"
    r"| coverage| content)?|see also|trending(?: now)?|recommended(?: for you)?|don'?t miss"
    r"|must read|popular|most read|top stories|latest|editor'?s picks?)\s*[:|>\-\u2013\u2014]"
    r")\s+(?=\S)"
)


@dataclass(frozen=True, slots=True)
class Line:
    """One line or paragraph of the page: its place, span and text. This is what a page
    keeps once its words are hashed into its sketch (answers and the lead need no more), so
    a prepared page costs its text, not a string and an offset pair per word."""

    index: int
    start: int
    end: int
    text: str
    listed: bool = False  # the line starts with a list marker


@dataclass(frozen=True, slots=True)
class Block(Line):
    """A line with its words, while the page is prepared."""

    words: tuple[str, ...] = field(kw_only=True)
    key: str = field(kw_only=True)  # the comparison key: the words joined by single spaces
    skip: int = field(default=0, kw_only=True)  # characters of list marker before the words

    @property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """Each word's (start, end) in the page: read again when a span is reported, which
        few blocks need."""
        return words_with_offsets(self.text[self.skip :], self.start + self.skip)[1]


def _plain(text: str) -> str:
    """``text`` with its typographic marks mapped one for one (``_PLAIN``) when that leaves
    it ASCII, else ``text`` as it is."""
    if text.isascii():
        return text
    plain = text.translate(_PLAIN)
    return plain if plain.isascii() else text


def _without_apostrophes(words: Iterable[str], text: str) -> tuple[str, ...]:
    return tuple(w.replace("'", "") for w in words) if "'" in text else tuple(words)


def _normalised(text: str, base: int) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Words of a non-ASCII ``text`` one by one: NFKC, apostrophes dropped, case-folded."""
    words: list[str] = []
    offsets: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        word = unicodedata.normalize("NFKC", match.group()).translate(_DROP_APOSTROPHES)
        words.append(word.casefold())
        offsets.append((base + match.start(), base + match.end()))
    return tuple(words), tuple(offsets)


def words_with_offsets(
    text: str, base: int = 0
) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Case-folded, NFKC-normalised words and their (start, end) offsets in ``text`` + base."""
    text = _plain(text)
    if not text.isascii():
        return _normalised(text, base)
    # NFKC leaves ASCII as it is, and casefold is lower there
    spans = [m.span() for m in _WORD.finditer(text)]
    low = text.lower()
    return (
        _without_apostrophes((low[a:b] for a, b in spans), text),
        tuple((base + a, base + b) for a, b in spans),
    )


def words_of(text: str) -> tuple[str, ...]:
    """Just the comparison words of ``text`` (``words_with_offsets`` without the offsets)."""
    text = _plain(text)
    if not text.isascii():
        return _normalised(text, 0)[0]
    return _without_apostrophes(_WORD.findall(text.lower()), text)


def split_blocks(text: str) -> list[Block]:
    """Split a scraped page into its non-empty lines, each a block with its span (a leading
    list marker is part of the span but not of the words)."""
    blocks: list[Block] = []
    position = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            start = position + line.index(stripped[0])
            marker = _LIST_MARKER.match(stripped)
            skip = marker.end() if marker else 0
            words = words_of(stripped[skip:])
            if words:
                blocks.append(
                    Block(
                        len(blocks),
                        start,
                        start + len(stripped),
                        stripped,
                        marker is not None,
                        words=words,
                        key=" ".join(words),
                        skip=skip,
                    )
                )
        position += len(line)
    return blocks


def find_words(haystack: str, needle: str) -> int:
    """Index of the first occurrence of the words of ``needle`` as a run of words in
    ``haystack``, or -1; both are keys (words joined by single spaces), which a page joins
    once per block, not once per comparison."""
    if not needle or len(needle) > len(haystack):
        return -1
    at = f" {haystack} ".find(f" {needle} ")
    return -1 if at < 0 else haystack.count(" ", 0, at)


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a block key, for counting blocks in the store."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
