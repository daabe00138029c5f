"""Pages as the hard end of the web makes them: outlet templates that outweigh a short story,
and scraper reposts.

A *template outlet* wraps every story in the same heavy page: navigation, a "most read"
list quoting the headlines and first ~45 words of other articles of the same feed, a
trending list of other headlines, a newsletter box, a cookie notice and legal text. Its
most-read list changes from day to day and one slot changes from page to page, so some
teasers recur on the outlet's pages and some appear once. A short story on such a page is a
small part of it, and a teaser holds most of a short article quoted in it: the traps that
make false copies when furniture is not learned. A *scraper* reposts whole articles with
"Source link" and "Read More" furniture, sometimes before the original appears.
No real publisher is named.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from outlets import CITIES, PAPERS, PLACES

SECTIONS = [
    "Home",
    "News",
    "World",
    "Politics",
    "Business",
    "Money",
    "Tech",
    "Science",
    "Health",
    "Sport",
    "Culture",
    "Travel",
    "Opinion",
    "Video",
    "Podcasts",
    "Weather",
]
MOST_READ = ["Most read", "Most popular", "Top stories", "What readers are reading"]
TRENDING = ["Trending now", "Trending", "Popular right now", "In case you missed it"]
LEGAL = (
    "{o} is part of {g}. Registered office: {n} {s} Street, {c}. All content is the property "
    "of {o} and may not be reproduced, distributed, transmitted, cached or otherwise used, "
    "except with the prior written permission of {g}. Use of this site constitutes "
    "acceptance of our user agreement and privacy policy and cookie statement, and your "
    "privacy choices and rights. {o} may receive compensation for some links to products "
    "and services on this website. Offers may be subject to change without notice."
)
COOKIES = (
    "We use cookies and similar technologies to personalise content and ads, to provide "
    "social media features and to analyse our traffic. By continuing to browse {o} you "
    "agree to our use of cookies. Manage your preferences in our cookie settings."
)
NEWSLETTER = [
    "Get the {o} daily briefing",
    "The biggest stories of the day, the best of our journalism and the weekend's long "
    "reads, delivered to your inbox every morning. Enter your email address to subscribe.",
    "Sign up. You can unsubscribe at any time. By signing up you agree to our terms.",
]
FOLLOW = "Follow {o} on Facebook, X, Instagram, YouTube and LinkedIn. Download our app."
REPOST_FURNITURE = [
    ("top", "Posted by {o} News Desk"),
    ("bottom", "Source link"),
    ("bottom", "Read More"),
    ("bottom", "Related posts"),
    (
        "bottom",
        "Disclaimer: {o} aggregates news from around the web. All rights belong to "
        "their respective owners.",
    ),
]
TEASER_WORDS = 45


@dataclass(frozen=True)
class TemplateOutlet:
    """An outlet whose page template outweighs a short story."""

    name: str
    domain: str
    nav: str
    legal: str
    cookies: str
    newsletter: tuple[str, ...]
    follow: str
    most_read: str
    trending: str
    teaser_lines: int  # 1: "headline: lead" on one line; 2: headline and lead on two lines
    list_size: int


@dataclass(frozen=True)
class Scraper:
    """A site that reposts whole articles of others with its own furniture."""

    name: str
    domain: str
    furniture: tuple[tuple[str, str], ...]


def make_template_outlets(rng: random.Random, count: int) -> list[TemplateOutlet]:
    names = rng.sample([f"The {p} {q}" for p in PLACES for q in PAPERS], count)
    out = []
    for name in names:
        group = f"{rng.choice(PLACES)} Media Group"
        values = {
            "o": name,
            "g": group,
            "n": rng.randint(1, 400),
            "s": rng.choice(PLACES),
            "c": rng.choice(CITIES).title(),
        }
        out.append(
            TemplateOutlet(
                name=name,
                domain=name.lower().removeprefix("the ").replace(" ", "") + ".example",
                nav=" | ".join(rng.sample(SECTIONS, rng.randint(9, 14))),
                legal=LEGAL.format(**values),
                cookies=COOKIES.format(o=name),
                newsletter=tuple(line.format(o=name) for line in NEWSLETTER),
                follow=FOLLOW.format(o=name),
                most_read=rng.choice(MOST_READ),
                trending=rng.choice(TRENDING),
                teaser_lines=rng.choice([1, 2]),
                list_size=rng.randint(4, 6),
            )
        )
    return out


def make_scrapers(rng: random.Random, count: int) -> list[Scraper]:
    names = rng.sample([f"{p} News Now" for p in PLACES], count)
    return [
        Scraper(
            name,
            name.lower().replace(" ", "-") + ".example",
            tuple((where, text.format(o=name)) for where, text in REPOST_FURNITURE),
        )
        for name in names
    ]


def teaser(title: str, body: Sequence[str], lines: int) -> list[str]:
    """A list entry quoting another article: its headline and first ~45 words."""
    words = " ".join(body).split()[:TEASER_WORDS]
    lead = " ".join(words) + ("..." if words else "")
    headline = title or " ".join(words[:10])
    return [headline, lead] if lines == 2 else [f"{headline}: {lead}"]


def template_page(
    body: Sequence[str],
    outlet: TemplateOutlet,
    most_read: Sequence[tuple[str, Sequence[str]]],
    trending: Sequence[str],
) -> list[str]:
    """The outlet's page around a story: the story is usually the smaller part."""
    lines = [outlet.nav, outlet.cookies, *body, *outlet.newsletter, outlet.most_read]
    for n, (title, quoted) in enumerate(most_read, start=1):
        entry = teaser(title, quoted, outlet.teaser_lines)
        lines += [f"{n}. {entry[0]}", *entry[1:]]
    lines += [outlet.trending, *trending, outlet.follow, outlet.legal]
    return lines


def repost_page(body: Sequence[str], scraper: Scraper, rng: random.Random) -> list[str]:
    lines = list(body)
    for where, text in scraper.furniture:
        if rng.random() < 0.85:
            lines.insert(0 if where == "top" else len(lines), text)
    return lines


def shorten(
    paragraphs: Sequence[str], rng: random.Random, sentences_of: Callable[[str], list[str]]
) -> list[str]:
    """A short original: the first sentences of a real body, 35 to 110 words."""
    target = rng.randint(35, 110)
    out: list[str] = []
    count = 0
    for paragraph in paragraphs:
        kept: list[str] = []
        for sentence in sentences_of(paragraph):
            kept.append(sentence)
            count += len(sentence.split())
            if count >= target:
                break
        if kept:
            out.append(" ".join(kept))
        if count >= target:
            break
    return out or list(paragraphs[:1])
