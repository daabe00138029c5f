"""Section c: our flags against the human block labels of L3S-GN1, line by line.

All pages run as one corpus through ``cluster_corpus`` so that furniture recurring across
a site's pages can be learned. Flags do not depend on the model (they are settled before
anything is embedded), so a stand-in embedder keeps this section fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from l3s import LABELS, Line, Verdict, page_lines, page_text, score, verdicts
from sources import AnnotatedPage
from standin import NullEmbedder

from service.article import Article
from service.flags import Flag
from service.pipeline import cluster_corpus
from service.settings import Settings

SWEEPS = {"boilerplate_min_groups": (2, 3, 5, 10), "keep_repeat_words": (1, 10, 20, 40)}


def judged(
    pages: Sequence[AnnotatedPage], lines: Sequence[Sequence[Line]], settings: Settings
) -> list[list[Verdict]]:
    """One corpus run over all pages; per page, the engine's verdict on each line."""
    articles = [
        Article(id=p.key, text=page_text(ls), source=p.site or None)
        for p, ls in zip(pages, lines, strict=True)
    ]
    run = cluster_corpus(articles, settings.pipeline, NullEmbedder())
    out = []
    for ls, page, kept, answer in zip(lines, run.pages, run.kept, run.answers, strict=True):
        removed = [(b.start, b.end) for b in page.blocks if not kept[b.index]]
        flags = [
            Flag(f.kind, f.text, f.count, tuple((a, b) for a, b in f.spans)) for f in answer.flags
        ]
        out.append(verdicts(ls, flags, removed))
    return out


def figures(judgements: Sequence[Sequence[Verdict]]) -> dict[str, Any]:
    s = score([v for page in judgements for v in page])
    return {
        "lines": s.lines,
        "flagged_vs_not_content": s.flagged_vs_not_content.as_dict(),
        "removed_vs_not_content": s.removed_vs_not_content.as_dict(),
        "flagged_by_label": s.flagged_by_label,
        "removed_by_label": s.removed_by_label,
        "full_text_share_of_flagged": s.full_text_share_of_flagged,
        "by_kind": {k: dict(c) for k, c in s.by_kind.items()},
    }


def examples(
    pages: Sequence[AnnotatedPage],
    lines: Sequence[Sequence[Line]],
    judgements: Sequence[Sequence[Verdict]],
    label: str,
    want_flagged: bool,
    limit: int = 12,
) -> list[str]:
    """A few distinct lines of one label that were (or were not) flagged, with their site."""
    seen: dict[str, str] = {}
    for page, ls, vs in zip(pages, lines, judgements, strict=True):
        for line, v in zip(ls, vs, strict=True):
            if line.label == label and bool(v.kinds) == want_flagged and line.text not in seen:
                kinds = "/".join(sorted(v.kinds)) or "-"
                kept = " (kept)" if v.kinds and not v.removed else ""
                seen[line.text] = f"[{page.site}] {kinds}{kept}: {line.text[:110]}"
    return list(seen.values())[:limit]


def evaluate(pages: Sequence[AnnotatedPage], settings: Settings) -> dict[str, Any]:
    lines = [page_lines(p.html) for p in pages]
    judgements = judged(pages, lines, settings)
    out = figures(judgements)
    out["labels"] = LABELS
    out["full_text_flagged_examples"] = examples(pages, lines, judgements, "2", True)
    out["supplemental_missed_examples"] = examples(pages, lines, judgements, "3", False)
    out["supplemental_flagged_examples"] = examples(pages, lines, judgements, "3", True)
    out["sweeps"] = {}
    for name, values in SWEEPS.items():
        out["sweeps"][name] = {}
        for value in values:
            if value == getattr(settings, name):
                got = out
            else:
                tuned = settings.model_copy(update={name: value})
                got = figures(judged(pages, lines, tuned))
            out["sweeps"][name][value] = {
                "flagged": got["flagged_vs_not_content"],
                "removed": got["removed_vs_not_content"],
                "full_text_removed": got["removed_by_label"].get("full text", 0.0),
                "supplemental_removed": got["removed_by_label"].get("supplemental", 0.0),
            }
    return out
