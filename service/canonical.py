"""Which member of a duplicate group is its canonical copy, and why.

``earliest`` (the default): the earliest published member, ties to the longest text, then
the smallest id, so the choice never depends on arrival order. ``wire``: first the members
that carry a news agency's credit or dateline ("(AP)", "(Reuters) -", "AFP") and are not a
scraper's repost ("Source link", "Read More" furniture), then as ``earliest``. ``preferred``:
first the members from the sources of an ordered list, in its order, then as ``earliest``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

Policy = Literal["earliest", "wire", "preferred"]

AGENCIES = (
    "AP",
    "Associated Press",
    "Reuters",
    "AFP",
    "Agence France-Presse",
    "dpa",
    "UPI",
    "PTI",
    "IANS",
    "ANI",
    "Xinhua",
    "Kyodo",
    "Yonhap",
    "EFE",
    "ANSA",
    "Bloomberg",
    "CNA",
    "AAP",
)
_NAMES = "|".join(re.escape(a) for a in sorted(AGENCIES, key=len, reverse=True))
# "(AP)", "(Reuters) -", "WASHINGTON, June 4 (Reuters) -", "— AFP", "By Associated Press"
_DASH = "[-\u2013\u2014:]"  # hyphen, en and em dash, colon
_CREDIT = re.compile(
    rf"\(\s*(?P<a>{_NAMES})\s*\)|^\s*(?:[A-Z][\w .,'-]{{0,40}}\s)?(?P<b>{_NAMES})\s*{_DASH}"
    rf"|{_DASH}\s*(?P<c>{_NAMES})\s*$|^\s*By\s+(?:the\s+)?(?P<d>{_NAMES})\b",
    re.MULTILINE,
)
# furniture a scraper's repost carries
_REPOST = re.compile(
    r"^\s*(?:source\s+link|read\s+more|read\s+the\s+original|originally\s+(?:published|posted)"
    r"|this\s+(?:article|story)\s+(?:originally\s+)?(?:appeared|was\s+first\s+published))\b",
    re.IGNORECASE | re.MULTILINE,
)
HEAD_CHARS, TAIL_CHARS = 400, 300


def credit_of(text: str) -> str | None:
    """The agency a text credits in its dateline, byline or sign-off (its first and last
    few lines), or None."""
    # a text no longer than its tail is searched once: its head is the same text
    parts = (text,) if len(text) <= TAIL_CHARS else (text[:HEAD_CHARS], text[-TAIL_CHARS:])
    for part in parts:
        found = _CREDIT.search(part)
        if found:
            return next(g for g in found.groups() if g)
    return None


def is_repost(text: str) -> bool:
    """The text carries a scraper's repost furniture ("Source link", "Read More")."""
    return _REPOST.search(text) is not None


HEAD_BLOCKS, TAIL_BLOCKS = 12, 3


class Origin(NamedTuple):
    """Where a page comes from, as the canonical choice reads it."""

    site: str | None = None
    credit: str | None = None
    repost: bool = False


def origin_of(site: str | None, blocks: Sequence[str]) -> Origin:
    """A page's site, the agency its first or last blocks credit, and whether a block is
    a scraper's repost furniture."""
    found = None
    for text in [*blocks[:HEAD_BLOCKS], *blocks[-TAIL_BLOCKS:]]:
        found = credit_of(text)
        if found:
            break
    return Origin(site, found, any(is_repost(b) for b in blocks))


class Candidate(NamedTuple):
    """What the choice reads of a member."""

    id: str
    published_at: datetime | None
    words: int
    origin: Origin = Origin()


@dataclass(frozen=True)
class CanonicalRules:
    policy: Policy = "earliest"
    preferred: tuple[str, ...] = ()

    def rank(self, member: Candidate) -> int:
        """0 is best; members of equal rank are ordered by ``earliest``."""
        if self.policy == "wire":
            return 0 if member.origin.credit and not member.origin.repost else 1
        if self.policy == "preferred":
            site = (member.origin.site or "").lower()
            for i, name in enumerate(self.preferred):
                if site == name or site.endswith("." + name):
                    return i
            return len(self.preferred)
        return 0

    def key(self, member: Candidate) -> tuple[int, float, int, str]:
        """Sort key: rank, earliest published (undated last), the longest, the smallest id."""
        when = member.published_at.timestamp() if member.published_at else float("inf")
        return self.rank(member), when, -member.words, member.id

    def reason(self, chosen: Candidate) -> str:
        """Why ``chosen`` leads its group, in words."""
        rank = self.rank(chosen)
        if self.policy == "wire":
            if rank == 0:
                return f"wire copy: credits {chosen.origin.credit}, earliest such"
            return "no wire copy: earliest published"
        if self.policy == "preferred":
            if rank < len(self.preferred):
                return f"preferred source {rank + 1}: {self.preferred[rank]}, earliest such"
            return "no preferred source: earliest published"
        return "earliest published"

    def choose(self, members: Iterable[Candidate]) -> Candidate:
        return min(members, key=self.key)

    def order(self, members: Sequence[Candidate]) -> list[int]:
        """Indexes of ``members``, canonical first."""
        return sorted(range(len(members)), key=lambda i: self.key(members[i]))
