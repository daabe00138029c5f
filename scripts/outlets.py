"""Fictional outlets: what a publisher puts around and into a syndicated body.

Each outlet keeps a fixed few furniture lines (newsletter sign-up, disclaimer, share bar,
"Advertisement"), so they recur across its pages as real furniture does; related headlines,
photo captions with credit cues and datelines vary per page. No real publisher is named.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

OUTLETS = 30

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"\u201c\u2018(]?[A-Z0-9])")

_SITE_SUFFIX = re.compile(r"\s+[-|\u2013\u2014:]\s+[^-|\u2013\u2014:]{2,40}$")

PLACES = [
    "Riverside",
    "Northgate",
    "Harbor",
    "Valley",
    "Lakeshore",
    "Summit",
    "Prairie",
    "Coastal",
    "Metro",
    "Capital",
    "Highland",
    "Bayview",
    "Midland",
    "Eastfield",
    "Westbrook",
    "Pinecrest",
    "Granite",
    "Oakridge",
    "Sunset",
    "Redwood",
]
PAPERS = [
    "Courier",
    "Tribune",
    "Gazette",
    "Herald",
    "Ledger",
    "Post",
    "Sentinel",
    "Dispatch",
    "Observer",
    "Chronicle",
    "Times",
    "Star",
    "Journal",
    "Record",
]
CITIES = [
    "WASHINGTON",
    "LONDON",
    "NEW YORK",
    "PARIS",
    "BRUSSELS",
    "TOKYO",
    "SYDNEY",
    "NAIROBI",
    "MUMBAI",
    "TORONTO",
    "BERLIN",
    "GENEVA",
    "CHICAGO",
    "MADRID",
]
WIRES = ["AP", "Reuters", "AFP", "PA", "Bloomberg", "UPI"]
AGENCIES = [
    "Reuters",
    "AFP via Getty Images",
    "AP",
    "EPA",
    "PA",
    "File",
    "Handout",
    "Courtesy of the city council",
    "Pool",
]
MONTHS = ["Jan.", "Feb.", "March", "April", "May", "June"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FILLERS = ["also", "now", "reportedly", "still", "further", "indeed", "again"]

# Outlet furniture; {o} is the outlet's name. Each outlet keeps a fixed few, so they recur.
FURNITURE = [
    ("top", "Advertisement"),
    ("top", "Share this article: Facebook | Twitter | Email"),
    ("top", "Skip to main content"),
    ("middle", "Story continues below advertisement"),
    ("middle", "ADVERTISEMENT"),
    (
        "bottom",
        "Sign up for the {o} morning newsletter and get the day's top stories in your inbox.",
    ),
    (
        "bottom",
        "Copyright 2026 {o}. All rights reserved. This material may not be "
        "published, broadcast, rewritten or redistributed.",
    ),
    ("bottom", "{o} may earn a commission from purchases made through links in this article."),
    (
        "bottom",
        "The views expressed in syndicated articles are those of the original "
        "authors and do not necessarily reflect those of {o}.",
    ),
    ("bottom", "Download the {o} app for breaking news alerts."),
    ("bottom", "Have a news tip? Contact the {o} newsroom."),
    ("bottom", "Comments are closed for this article."),
]
RELATED_CUES = ["Read More:", "Related:", "Also read:", "MORE:", "Trending:"]
INSERTS = [
    "{o} has asked local officials for comment and will update this story.",
    "Editor's note: This article was first published on {d} and has been updated with "
    "additional reporting.",
    "Residents in {c} told {o} they were following the developments closely.",
    "This story is developing. Check back with {o} for updates.",
    "Business owners in {c} said the news came as a surprise, according to {o}.",
]
SCENES = [
    "A general view of the scene in {c} on {d}.",
    "Officials speak to reporters in {c}.",
    "People gather outside the venue in {c} on {d}.",
    "A file image taken in {c}.",
    "Visitors walk past the building in {c} on {d}.",
]


@dataclass(frozen=True)
class Outlet:
    """A fictional publisher: its name, domain and the furniture it puts on every page."""

    name: str
    domain: str
    furniture: tuple[tuple[str, str], ...]
    related_cue: str


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def make_outlets(rng: random.Random, count: int = OUTLETS) -> list[Outlet]:
    names = rng.sample([f"{p} {q}" for p in PLACES for q in PAPERS], count)
    outlets = []
    for name in names:
        chosen = rng.sample(FURNITURE, rng.randint(3, 5))
        outlets.append(
            Outlet(
                name,
                name.lower().replace(" ", "-") + ".example",
                tuple((where, text.format(o=name)) for where, text in chosen),
                rng.choice(RELATED_CUES),
            )
        )
    return outlets


def fill(template: str, outlet: Outlet, rng: random.Random) -> str:
    return template.format(o=outlet.name, c=rng.choice(CITIES).title(), d=rng.choice(WEEKDAYS))


def new_headline(title: str, lead: str, outlet: Outlet, rng: random.Random) -> str:
    base = _SITE_SUFFIX.sub("", title) or title
    style = rng.randrange(4)
    if style == 0:
        return f"{base} | {outlet.name}"
    if style == 1:
        return (
            f"{rng.choice(['UPDATE:', 'WATCH:', 'LIVE:', rng.choice(CITIES).title() + ':'])} {base}"
        )
    if style == 2:
        return " ".join(lead.split()[: rng.randint(8, 14)]).rstrip(".,;:")
    return f"{base} - {outlet.name}"


def dateline(paragraphs: list[str], rng: random.Random) -> list[str]:
    wire, city = rng.choice(WIRES), rng.choice(CITIES)
    day = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"
    if rng.random() < 0.3:
        return [f"{wire} | {day}, 2026", *paragraphs]
    prefix = rng.choice([f"{city} ({wire}) — ", f"{city}, {day} ({wire}) - ", f"({wire}) — "])
    return [prefix + paragraphs[0], *paragraphs[1:]]


def caption(paragraphs: Sequence[str], outlet: Outlet, rng: random.Random) -> str:
    """A photo caption: a body sentence or a scene, usually with a credit cue."""
    if rng.random() < 0.5:
        core = " ".join(rng.choice(sentences(rng.choice(paragraphs)) or ["Photo"]).split()[:25])
    else:
        core = fill(rng.choice(SCENES), outlet, rng)
    agency = rng.choice(AGENCIES)
    credit = rng.choice(
        [
            f" (Photo: {agency})",
            " (AP Photo/File)",
            " (AP Photo)",
            " Getty Images",
            f" (Image: {agency})",
            f" Photo: {agency}",
            "",
        ]
    )
    return core + credit


def dress(
    paragraphs: list[str], outlet: Outlet, related: Sequence[str], rng: random.Random
) -> tuple[list[str], list[str], dict[str, float]]:
    """Outlet furniture and captions around the body; what was added, for the record."""
    lines = list(paragraphs)
    added: dict[str, float] = {}
    given: list[str] = []
    if rng.random() < 0.85:
        added["furniture"] = 1.0
        for where, text in outlet.furniture:
            if rng.random() < 0.8:
                at = {"top": 0, "bottom": len(lines)}.get(where, rng.randint(1, len(lines)))
                lines.insert(at, text)
        for title in rng.sample(list(related), rng.randint(0, 3)):
            lines.insert(rng.randint(1, len(lines)), f"{outlet.related_cue} {title}")
    if rng.random() < 0.5:
        text = caption(paragraphs, outlet, rng)
        lines.insert(rng.randint(0, min(2, len(lines))), text)
        added["caption"] = 1.0
        if rng.random() < 0.4:
            lines.insert(rng.randint(len(lines) // 2, len(lines)), text)
            added["caption_twice"] = 1.0
        if rng.random() < 0.3:
            given.append(text)
            added["caption_field"] = 1.0
    return lines, given, added
