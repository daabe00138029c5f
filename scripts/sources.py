"""Readers for the public data sets under DATA_DIR: the only file I/O of the evaluation.

Layouts are the ones the data sets' README files describe; nothing is copied out of them.
"""

from __future__ import annotations

import csv
import gzip
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.article import Article, parse_datetime

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Source:
    """A real article body that the syndication generator copies from."""

    key: str
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class RatedPair:
    """A SemEval-2022 pair: mean human rating, 1 = same story ... 4 = unrelated."""

    id1: str
    id2: str
    overall: float
    relation: str


@dataclass(frozen=True)
class ExtractionPage:
    """A crawled page and its human-checked article body."""

    key: str
    url: str
    html: str
    gold: str


@dataclass(frozen=True)
class AnnotatedPage:
    """An L3S-GN1 page with its blocks wrapped in labelled spans, and the site it is from."""

    key: str
    site: str
    html: bytes


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(" ".join(p.split()) for p in text.splitlines() if p.strip())


def _page_title(raw_html: str) -> str:
    found = _TITLE.search(raw_html)
    return " ".join(html.unescape(found.group(1)).split()) if found else ""


def _read_gz(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


def zyte_pages(data_dir: Path) -> list[ExtractionPage]:
    """The article-extraction benchmark: HTML pages and gold bodies, in key order."""
    root = data_dir / "zyte-article-bodies"
    truth: dict[str, dict[str, Any]] = json.loads((root / "ground-truth.json").read_text())
    return [
        ExtractionPage(
            key,
            entry["url"],
            _read_gz(root / "html" / f"{key}.html.gz"),
            entry.get("articleBody") or "",
        )
        for key, entry in sorted(truth.items())
    ]


def zyte_sources(pages: list[ExtractionPage]) -> list[Source]:
    """Gold bodies as syndication sources; the headline is the page's <title>."""
    return [Source(f"zyte:{p.key[:12]}", _page_title(p.html), _paragraphs(p.gold)) for p in pages]


def semeval_records(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "semeval2022-en" / "articles.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def semeval_articles(records: list[dict[str, Any]]) -> list[Article]:
    """The articles as an aggregator would receive them (raw text, with its furniture)."""
    return [
        Article(
            id=r["id"],
            text=r.get("text") or "",
            title=r.get("title"),
            url=r.get("url"),
            source=r.get("source"),
            published_at=parse_datetime(r["published_at"]) if r.get("published_at") else None,
        )
        for r in records
    ]


def semeval_sources(records: list[dict[str, Any]]) -> list[Source]:
    return [
        Source(f"semeval:{r['id']}", r.get("title") or "", _paragraphs(r.get("text") or ""))
        for r in records
    ]


def semeval_pairs(data_dir: Path) -> list[RatedPair]:
    with (data_dir / "semeval2022-en" / "pairs.csv").open(newline="") as stream:
        return [
            RatedPair(row["id1"], row["id2"], float(row["overall"]), row["relation"])
            for row in csv.DictReader(stream)
        ]


def _sites(root: Path) -> dict[str, str]:
    sites: dict[str, str] = {}
    for line in (root / "url-mapping.txt").read_text(errors="replace").splitlines():
        if "\t" not in line:
            continue
        urn, url = line.split("\t", 1)
        sites[urn.strip("<>").removeprefix("urn:uuid:")] = urlsplit(url.strip()).netloc
    return sites


def l3s_pages(data_dir: Path) -> list[AnnotatedPage]:
    """The annotated L3S-GN1 pages in file order, each with its site's host name."""
    root = data_dir / "l3s-gn1"
    sites = _sites(root)
    return [
        AnnotatedPage(path.stem, sites.get(path.stem, ""), path.read_bytes())
        for path in sorted((root / "annotated").glob("*.html"))
    ]
