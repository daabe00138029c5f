"""The closing summary of a clustering run, for a person reading a terminal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from service.answer import ArticleAnswer
from service.feed import Feed
from service.pipeline import CorpusRun
from service.prepare import Page


def _headline(page: Page, clean: str) -> str:
    text = page.title or " ".join(clean.split()[:12]) or "(empty)"
    return text if len(text) <= 90 else text[:87] + "..."


@dataclass
class Tally:
    """What the summary counts, added answer by answer as they are written (a run's
    answers are made when read, so they are read once)."""

    articles: int = 0
    copies: int = 0
    groups: Counter[int] = field(default_factory=Counter)
    stories: set[int] = field(default_factory=set)
    flags: Counter[str] = field(default_factory=Counter)
    canonical: dict[int, str] = field(default_factory=dict)  # group -> canonical id
    position: dict[str, int] = field(default_factory=dict)  # canonical id -> its index

    def add(self, answer: ArticleAnswer) -> ArticleAnswer:
        if answer.canonical_id == answer.id:
            self.position[answer.id] = self.articles
        self.articles += 1
        self.copies += answer.is_duplicate
        self.groups[answer.duplicate_group] += 1
        self.stories.add(answer.story)
        self.flags.update(flag.kind for flag in answer.flags)
        self.canonical[answer.duplicate_group] = answer.canonical_id
        return answer


def summarise(run: CorpusRun, feed: Feed, tally: Tally | None = None, top: int = 5) -> str:
    """Counts of articles, groups, stories and flags; the largest groups; what was skipped.
    ``tally``: the run's answers as they were written (read from the run when None)."""
    if tally is None:
        tally = Tally()
        for answer in run.answers:
            tally.add(answer)
    flags = tally.flags
    lines = [
        f"articles: {tally.articles}  duplicate groups: {len(tally.groups)}  "
        f"stories: {len(tally.stories)}  copies: {tally.copies}  embedded: {run.embedded}",
        "flags: " + (", ".join(f"{kind} {n}" for kind, n in sorted(flags.items())) or "none"),
    ]
    largest = [(g, n) for g, n in tally.groups.most_common(top) if n > 1]
    if largest:
        lines.append("largest duplicate groups:")
        for g, n in largest:
            at = tally.position[tally.canonical[g]]
            lines.append(f"  {n:>5}  group {g}: {_headline(run.pages[at], run.clean_text(at))}")
    for bad in feed.bad:
        lines.append(f"skipped {bad}")
    for article_id, first, later in feed.repeated:
        lines.append(f"id '{article_id}' on line {later} repeats line {first}: skipped")
    return "\n".join(lines)
