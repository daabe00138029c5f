"""L3S-GN1 annotated pages as a scraper would paste them, and flags scored line by line.

A page becomes plain text: a new line at every block-level element and wherever the human
label changes, so each line carries one label. Text inside no labelled span is "not
content" (the data set's README: unselected text is boilerplate); elements marked
``x-nc-invisible``, scripts and styles are left out. Lines without a word are dropped (the
engine makes no block of them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import lxml.html
from lxml.etree import ParserError
from metrics import PRF, binary

from service.flags import Flag

LABELS = {
    "0": "not content",
    "1": "headline",
    "2": "full text",
    "3": "supplemental",
    "4": "related",
    "5": "comments",
}
CONTENT = frozenset({"1", "2"})
_SEL = re.compile(r"\bx-nc-sel(\d)\b")
_SKIP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "head",
        "title",
        "select",
        "option",
        "iframe",
        "object",
        "embed",
        "svg",
        "template",
    }
)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "aside",
        "dd",
        "dt",
        "dl",
        "form",
        "hr",
        "pre",
        "address",
        "figure",
        "figcaption",
        "center",
        "body",
        "caption",
        "fieldset",
        "main",
        "menu",
    }
)
_BREAK = None
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Line:
    """One pasted line, its human label and its character range in the page text."""

    text: str
    label: str
    start: int
    end: int


def _label(element: lxml.html.HtmlElement) -> str | None:
    found = _SEL.search(element.get("class") or "")
    return found.group(1) if found else None


def _pieces(root: lxml.html.HtmlElement) -> list[tuple[str, str] | None]:
    """Text runs with their innermost label, and line breaks, in document order."""
    out: list[tuple[str, str] | None] = []
    stack: list[tuple[lxml.html.HtmlElement, str, str | None]] = [(root, "0", None)]
    while stack:
        element, inherited, closing = stack.pop()
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if closing is not None:
            if tag in _BLOCK:
                out.append(_BREAK)
            if element.tail:
                out.append((element.tail, inherited))
            continue
        if tag is None or tag in _SKIP or "x-nc-invisible" in (element.get("class") or ""):
            if element.tail:
                out.append((element.tail, inherited))
            continue
        own = _label(element) or inherited
        if tag in _BLOCK:
            out.append(_BREAK)
        if element.text:
            out.append((element.text, own))
        stack.append((element, inherited, own))
        stack.extend((child, own, None) for child in reversed(element))
    return out


def _joined(runs: Iterable[tuple[str, str] | None]) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    text, label = "", "0"
    for run in runs:
        if run is not None and not run[0].strip():
            text += run[0]
            continue
        if run is None or (text.strip() and run[1] != label):
            lines.append((" ".join(text.split()), label))
            text, label = "", "0"
        if run is not None:
            text, label = (text + run[0], run[1]) if text.strip() else (run[0], run[1])
    lines.append((" ".join(text.split()), label))
    return [(t, lab) for t, lab in lines if _WORD.search(t)]


def page_lines(raw_html: bytes) -> list[Line]:
    """The annotated page as labelled lines with their offsets in ``page_text``."""
    try:
        root = lxml.html.fromstring(raw_html, parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (ParserError, ValueError):
        return []
    lines, at = [], 0
    for text, label in _joined(_pieces(root)):
        lines.append(Line(text, label, at, at + len(text)))
        at += len(text) + 1
    return lines


def page_text(lines: Sequence[Line]) -> str:
    return "\n".join(line.text for line in lines)


def _touching(line: Line, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < line.end and end > line.start for start, end in spans)


@dataclass(frozen=True)
class Verdict:
    """What the engine did to one line: the kinds of flags touching it, and whether it is
    left out of the clean text (a repeated block may be flagged yet keep one occurrence)."""

    label: str
    kinds: frozenset[str]
    removed: bool


def verdicts(
    lines: Sequence[Line], flags: Sequence[Flag], removed: Sequence[tuple[int, int]]
) -> list[Verdict]:
    """Per line: flag kinds whose spans touch it, and whether a removed block touches it."""
    return [
        Verdict(
            line.label,
            frozenset(f.kind for f in flags if _touching(line, f.spans)),
            _touching(line, removed),
        )
        for line in lines
    ]


@dataclass(frozen=True)
class FlagScores:
    """Line-level agreement of our flags (and removals) with the human labels."""

    lines: int
    flagged_vs_not_content: PRF
    removed_vs_not_content: PRF
    flagged_by_label: dict[str, float]
    removed_by_label: dict[str, float]
    full_text_share_of_flagged: float
    by_kind: dict[str, Counter[str]]


def _share_by_label(labels: Sequence[str], hits: Sequence[bool]) -> dict[str, float]:
    return {
        LABELS[lab]: sum(h for h, x in zip(hits, labels, strict=True) if x == lab)
        / labels.count(lab)
        for lab in sorted(set(labels))
    }


def score(lines: Sequence[Verdict]) -> FlagScores:
    """Positive = any line not labelled headline or full text."""
    labels = [v.label for v in lines]
    flagged = [bool(v.kinds) for v in lines]
    removed = [v.removed for v in lines]
    positive = [x not in CONTENT for x in labels]
    by_kind: dict[str, Counter[str]] = {}
    for v in lines:
        for kind in v.kinds:
            by_kind.setdefault(kind, Counter())[LABELS[v.label]] += 1
    full_text = sum(f for f, x in zip(flagged, labels, strict=True) if x == "2")
    return FlagScores(
        len(labels),
        binary(flagged, positive),
        binary(removed, positive),
        _share_by_label(labels, flagged),
        _share_by_label(labels, removed),
        full_text / max(1, sum(flagged)),
        by_kind,
    )
