"""Flags on a page's blocks: captions, in-page repeats and cross-page boilerplate.

Pure functions over blocks. A flag names the text, how often it occurs in the page and
where (character spans of the page text); flagged blocks are kept out of what is compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from service.text import Block, Line, find_words, words_of

REPEATED_CAPTION = "repeated_caption"
CAPTION = "caption"
REPEATED_BLOCK = "repeated_block"
BOILERPLATE = "boilerplate"

# Photo-credit cues that mark a block as a caption, as agencies and outlets write them.
_CREDIT = re.compile(
    r"""\((?:[^()]*\b(?:image|images|photo|photos|photograph|picture|pic|credit|courtesy|
                       file|illustration|getty|reuters|afp|ap|epa|pa)\b[^()]*)\)\s*$
      | ^(?:photo|image|picture|pictured|photograph|caption|credit|file\ photo)\s*:
      | \b(?:photo|image|picture)\s+(?:credit|courtesy)\b
      | \b(?:getty\ images|shutterstock|alamy|afp\ via\ getty|via\ reuters|ap\ photo)\b
      | ^(?:photo|picture|image)s?\s+by\b
      | \b(?:photo|image|picture|photograph|credit)s?\s*:\s*\w[\w.'/ -]{0,60}$
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Every branch of _CREDIT but the bracketed one needs one of these words: a line without
# them and without a bracket is no credit, and most lines are looked at no further.
_CREDIT_WORDS = (
    "photo",
    "image",
    "picture",
    "caption",
    "credit",
    "getty",
    "shutterstock",
    "alamy",
    "reuters",
)
_CREDIT_TEXT = re.compile(r"\([^()]*\)\s*$|^[^:]{0,20}:\s*")


@dataclass(frozen=True, slots=True)
class Flag:
    """A flagged text: its kind, occurrences in the page and their character spans."""

    kind: str
    text: str
    count: int
    spans: tuple[tuple[int, int], ...]
    pages: int | None = None
    rule: str | None = None  # which rule fired, in words

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "kind": self.kind,
            "text": self.text,
            "count": self.count,
            "spans": [list(span) for span in self.spans],
        }
        if self.pages is not None:
            data["pages"] = self.pages
        if self.rule is not None:
            data["rule"] = self.rule
        return data


def has_credit_cue(text: str) -> bool:
    """Whether a line carries a photo-credit cue such as "(Image: AP)" or "Getty Images"."""
    if "(" not in text:
        low = text.lower()
        if not any(word in low for word in _CREDIT_WORDS):
            return False
    return _CREDIT.search(text) is not None


def caption_core(text: str) -> tuple[str, ...]:
    """The caption's words without its credit, for comparison with the body."""
    return words_of(_CREDIT_TEXT.sub("", text.strip()))


def _matches_given(block: Block, given: Sequence[tuple[str, ...]]) -> bool:
    for words in given:
        if not words:
            continue
        if block.words == words:
            return True
        if len(words) * 10 >= len(block.words) * 6 and find_words(block.key, " ".join(words)) >= 0:
            return True
    return False


def _span_in(block: Block, at: int, length: int) -> tuple[int, int]:
    return block.offsets[at][0], block.offsets[at + length - 1][1]


def _echoes(core: tuple[str, ...], others: Iterable[Block], min_words: int) -> bool:
    """Whether the caption's words stand in one of the other blocks: a caption repeating
    a body sentence."""
    if len(core) < min_words:
        return False
    key = " ".join(core)
    return any(len(other.words) > len(core) and find_words(other.key, key) >= 0 for other in others)


def page_flags(
    blocks: Sequence[Block],
    captions: Sequence[str],
    *,
    caption_max_words: int,
    repeat_min_words: int,
    keep_repeat_words: int,
) -> tuple[list[Flag], set[int]]:
    """Flags found inside one page, and the indexes of the blocks they keep out of the
    clean text."""
    given = [words_of(c) for c in captions]
    groups: dict[str, list[Block]] = {}
    for block in blocks:
        groups.setdefault(block.key, []).append(block)
    is_caption: dict[str, str] = {}
    for key, same in groups.items():
        if len(same[0].words) <= caption_max_words:
            if has_credit_cue(same[0].text):
                is_caption[key] = "a photo-credit cue"
            elif _matches_given(same[0], given):
                is_caption[key] = "one of the article's captions"
    body = [b for b in blocks if b.key not in is_caption]
    flags: list[Flag] = []
    dropped: set[int] = set()
    for key, same in groups.items():
        first = same[0]
        spans = [(b.start, b.end) for b in same]
        if key in is_caption:
            cue = is_caption[key]
            if len(same) > 1:
                kind, rule = REPEATED_CAPTION, f"caption ({cue}) repeated in the page"
            elif _echoes(caption_core(first.text), body, repeat_min_words):
                kind, rule = REPEATED_CAPTION, f"caption ({cue}) echoing a body sentence"
            else:
                kind, rule = CAPTION, f"caption ({cue})"
            flags.append(Flag(kind, first.text, len(same), tuple(spans), rule=rule))
            dropped.update(b.index for b in same)
            continue
        inside = []
        if len(first.words) >= repeat_min_words:
            for other in body:
                if len(other.words) > len(first.words):
                    at = find_words(other.key, first.key)
                    if at >= 0:
                        inside.append(_span_in(other, at, len(first.words)))
        if len(spans) + len(inside) < 2:
            continue
        all_spans = tuple(sorted(spans + inside))
        rule = "block inside a longer block" if inside else "block repeated in the page"
        flags.append(Flag(REPEATED_BLOCK, first.text, len(all_spans), all_spans, rule=rule))
        keep_first = not inside and len(first.words) >= keep_repeat_words
        dropped.update(b.index for b in (same[1:] if keep_first else same))
    flags.sort(key=lambda f: f.spans[0])
    return flags, dropped


def boilerplate_flags(
    blocks: Sequence[Line],
    keys: Sequence[int] | np.ndarray,
    furniture: Sequence[bool] | np.ndarray,
    counts: Sequence[int] | np.ndarray,
) -> list[Flag]:
    """Furniture blocks as flags (``pages``: the distinct groups that made each furniture),
    blocks with the same key (``key_hash`` of their words) one flag; blocks an in-page flag
    already covers are not flagged again."""
    by_key: dict[int, list[Line]] = {}
    seen: dict[int, int] = {}
    for block in blocks:
        if furniture[block.index]:
            key = int(keys[block.index])
            by_key.setdefault(key, []).append(block)
            seen[key] = max(seen.get(key, 0), int(counts[block.index]))
    return [
        Flag(
            BOILERPLATE,
            same[0].text,
            len(same),
            tuple((b.start, b.end) for b in same),
            seen[key],
            _furniture_rule(seen[key]),
        )
        for key, same in by_key.items()
    ]


def _furniture_rule(groups: int) -> str:
    if groups == 0:
        return "list entry quoting another page's headline"
    return f"block recurring in {groups} texts (the web's or the site's furniture)"
