"""Which members speak for a duplicate group in its story vector, and how their vectors combine.

A copy's headline is its outlet's own description of the story, and a scraped title is
sometimes page furniture ("ES News email", "Kindly Share This Story", a photo credit). A
group vector made from the canonical member alone inherits that title; the mean of a few
members with different headlines does not. So where the whole group is known (``cluster``,
the reindex) its vector is the mean of the title-and-lead vectors of its canonical member
and the next members, in canonical order, whose headline differs from those already heard,
up to ``StoryRules.voices``. Online a group is embedded when its first page arrives, from
that page alone; the reindex brings it to its voices.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


def headline_form(title: str | None) -> frozenset[str]:
    """A headline's words, case-folded."""
    return frozenset(_WORD.findall((title or "").casefold()))


def same_headline(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two headlines are one: more than half the shorter's words are in the longer
    (an outlet's "WATCH:" or "| Site" around the same words), or both are missing."""
    if not a or not b:
        return a == b
    return len(a & b) * 2 > min(len(a), len(b))


def voices(ordered: Sequence[int], titles: Sequence[str | None], most: int) -> list[int]:
    """The members (indexes into ``titles``) that speak for a group whose members are
    ``ordered`` canonical first: the canonical, then each next member whose headline is not
    yet heard, up to ``most``."""
    chosen: list[int] = []
    heard: list[frozenset[str]] = []
    for i in ordered:
        form = headline_form(titles[i])
        if any(same_headline(form, other) for other in heard):
            continue
        chosen.append(i)
        heard.append(form)
        if len(chosen) >= most:
            break
    return chosen


def group_key(keys: Sequence[str]) -> str:
    """What a group vector was made from, given each voice's lead key. One voice keeps its own
    key, so vectors stored for one-voice groups stay valid."""
    if len(keys) == 1:
        return keys[0]
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\n".join(keys).encode())
    return digest.hexdigest()


def combine(vectors: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """The unit mean of the voices' unit vectors (a voice with no text has none)."""
    present = [v for v in vectors if v is not None]
    if len(present) <= 1:
        return present[0] if present else None
    total = np.sum(np.stack(present).astype(np.float64), axis=0)
    norm = float(np.linalg.norm(total))
    if norm == 0.0:
        return present[0]
    return (total / norm).astype(np.float32)
