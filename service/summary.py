"""The closing summary of a clustering run, for a person reading a terminal."""

from __future__ import annotations

from collections import Counter

from service.feed import Feed
from service.pipeline import CorpusRun
from service.prepare import Page


def _headline(page: Page, clean: str) -> str:
    text = page.title or " ".join(clean.split()[:12]) or "(empty)"
    return text if len(text) <= 90 else text[:87] + "..."


def summarise(run: CorpusRun, feed: Feed, top: int = 5) -> str:
    """Counts of articles, groups, stories and flags; the largest groups; what was skipped."""
    results = run.answers
    pages = {a.id: i for i, a in enumerate(run.answers)}
    groups = Counter(r.duplicate_group for r in results)
    stories = Counter(r.story for r in results)
    flags = Counter(flag.kind for r in results for flag in r.flags)
    canonical = {
        r.duplicate_group: _headline(
            run.pages[pages[r.canonical_id]], run.clean_text(pages[r.canonical_id])
        )
        for r in results
    }
    copies = sum(r.is_duplicate for r in results)
    embedded = run.embedded
    lines = [
        f"articles: {len(results)}  duplicate groups: {len(groups)}  stories: {len(stories)}  "
        f"copies: {copies}  embedded: {embedded}",
        "flags: " + (", ".join(f"{kind} {n}" for kind, n in sorted(flags.items())) or "none"),
    ]
    largest = [(g, n) for g, n in groups.most_common(top) if n > 1]
    if largest:
        lines.append("largest duplicate groups:")
        lines += [f"  {n:>5}  group {g}: {canonical[g]}" for g, n in largest]
    for bad in feed.bad:
        lines.append(f"skipped {bad}")
    for article_id, first, later in feed.repeated:
        lines.append(f"id '{article_id}' on line {later} repeats line {first}: skipped")
    return "\n".join(lines)
