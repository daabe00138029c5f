"""The closing summary of a clustering run, for a person reading a terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from service.corpus import ArticleResult
from service.feed import Feed


def _headline(result: ArticleResult) -> str:
    page = result.page
    text = page.title or " ".join(page.clean_text.split()[:12]) or "(empty)"
    return text if len(text) <= 90 else text[:87] + "..."


def summarise(results: Sequence[ArticleResult], feed: Feed, embedded: int, top: int = 5) -> str:
    """Counts of articles, groups, stories and flags; the largest groups; what was skipped."""
    by_id = {r.id: r for r in results}
    groups = Counter(r.assignment.group for r in results)
    stories = Counter(r.assignment.story for r in results)
    flags = Counter(flag.kind for r in results for flag in r.flags)
    canonical = {r.assignment.group: by_id[r.canonical_id] for r in results}
    copies = sum(r.assignment.is_duplicate for r in results)
    lines = [
        f"articles: {len(results)}  duplicate groups: {len(groups)}  stories: {len(stories)}  "
        f"copies: {copies}  embedded: {embedded}",
        "flags: " + (", ".join(f"{kind} {n}" for kind, n in sorted(flags.items())) or "none"),
    ]
    largest = [(g, n) for g, n in groups.most_common(top) if n > 1]
    if largest:
        lines.append("largest duplicate groups:")
        lines += [f"  {n:>5}  group {g}: {_headline(canonical[g])}" for g, n in largest]
    for bad in feed.bad:
        lines.append(f"skipped {bad}")
    for article_id, earlier, later in feed.replaced:
        lines.append(f"id '{article_id}' on line {earlier} replaced by line {later}")
    return "\n".join(lines)
