"""Planted pages: a fictional scraped page with the furniture real scrapers leave in."""

from __future__ import annotations

SUMMARY = "Harbour officials confirmed the arrival of the relief convoy at the port on Friday."
CAPTION = (
    "The convoy's arrival comes a week after storms closed the coastal road (Image: Coast Agency)"
)
PARAGRAPHS = [
    "A relief convoy of forty lorries reached the port of Selwick on Friday, carrying food, "
    "water and generators for villages cut off by last week's storms, the regional "
    "government said.",
    "Harbour officials confirmed the arrival of the relief convoy at the port on Friday. "
    '"Every lorry made it through," the harbour master told local radio.',
    "The convoy's arrival comes a week after storms closed the coastal road, leaving about "
    "3,000 people without power. Engineers expect to reopen one lane by Monday.",
    "Aid agencies said supplies would be shared out from the harbour by boat to the smaller "
    "islands, where the damage was worst.",
]
RELATED = [
    "Storm season: what to expect this winter",
    "Fishermen count losses after record gales",
]


def scraped_page() -> str:
    """Title, summary line, a caption pasted twice, the article, then furniture with each
    related headline shown twice (one with a curly apostrophe)."""
    lines = [
        "Relief convoy reaches storm-hit Selwick | Regional News",
        "",
        SUMMARY,
        "",
        CAPTION,
        "",
        CAPTION,
        "",
        *[p + "\n" for p in PARAGRAPHS],
        "Read More",
        "Related Articles",
        RELATED[0],
        RELATED[0],
        "A teaser paragraph about the winter outlook that runs on for a while.",
        RELATED[1].replace("Fishermen", "Fishermen's union"),
        RELATED[1].replace("Fishermen", "Fishermen\u2019s union"),
    ]
    return "\n".join(lines)


# An outlet whose template outweighs its short stories, with a "most read" list quoting the
# headlines and openings of the other stories (the furniture-teaser trap).
SHORT_STORIES = {
    "ferry": (
        "Island ferry fares frozen for another year",
        "Fares on the Kestrel Island ferry will stay at this year's level until next spring, "
        "the operator said on Tuesday, after fuel costs fell for a third month running. "
        "Commuters had feared a rise of up to ten per cent.",
    ),
    "orchard": (
        "Volunteers replant storm-hit community orchard",
        "More than sixty volunteers spent Saturday replanting the Millbrook community orchard, "
        "where gales flattened forty apple and pear trees in March. The parish council paid "
        "for the saplings and local schools will care for them.",
    ),
    "choir": (
        "Harbour choir wins regional singing contest",
        "The Harbour Voices choir took first prize at the regional singing contest in "
        "Dunmere on Sunday, beating eleven other groups. Its conductor said the win would "
        "pay for a trip to the national finals in the autumn.",
    ),
    "library": (
        "Town library adds Sunday opening hours",
        "The town library will open on Sundays from next month after a survey of readers, "
        "the council said. The extra hours will be staffed by two new part-time posts and "
        "by volunteers from the friends of the library group.",
    ),
}
TEMPLATE = [
    "Home | News | Sport | Business | Weather | Opinion | Podcasts | Puzzles",
    "We use cookies to improve your experience on the {o} website. By continuing to browse "
    "you agree to our cookie policy and the terms of use of this service.",
    "Get the {o} morning briefing: the stories that matter, the best of our reporting and "
    "the puzzles, delivered to your inbox before breakfast every weekday.",
    "The {o} is published by {o} Media Limited, registered in Kestrel Bay. All rights "
    "reserved. No part of this site may be reproduced without written permission, except "
    "for personal use, and quotations must credit the {o}.",
]
# Two outlets: one lists a story as "headline: opening" on one line, the other on two lines.
OUTLETS = {"Daily Lantern": ("ferry", "orchard"), "Evening Beacon": ("choir", "library")}


def teaser(key: str, one_line: bool) -> list[str]:
    """A "most read" entry: the quoted story's headline and opening words."""
    title, body = SHORT_STORIES[key]
    lead = " ".join(body.split()[:30]) + "..."
    return [f"{title}: {lead}"] if one_line else [title, lead]


def template_page(key: str, outlet: str, quoted: list[str]) -> str:
    """An outlet's page: its template around one short story, quoting others."""
    template = [line.format(o=outlet) for line in TEMPLATE]
    one_line = outlet == "Daily Lantern"
    lines = [*template[:2], SHORT_STORIES[key][1], template[2], "Most read"]
    for n, other in enumerate(quoted, start=1):
        entry = teaser(other, one_line)
        lines += [f"{n}. {entry[0]}", *entry[1:]]
    return "\n".join([*lines, template[3]])


def template_feed() -> list[dict[str, object]]:
    """Four short stories on two outlets whose pages each quote the other stories; the
    ferry story also copied by another site, whose page carries no list."""
    rows: list[dict[str, object]] = []
    for outlet, keys in OUTLETS.items():
        domain = outlet.lower().replace(" ", "") + ".example"
        for key in keys:
            rows.append(
                {
                    "id": f"{domain.split('.')[0]}-{key}",
                    "title": SHORT_STORIES[key][0],
                    "text": template_page(key, outlet, [k for k in SHORT_STORIES if k != key]),
                    "source": domain,
                    "url": f"https://{domain}/news/{key}",
                    "published_at": f"2026-03-0{len(rows) + 1}T09:00:00Z",
                }
            )
    rows.append(
        {
            "id": "copy-ferry",
            "title": "Kestrel ferry fares stay put",
            "text": "KESTREL BAY (Coast Wire) -- " + SHORT_STORIES["ferry"][1] + "\nRead more news",
            "source": "coastwire.example",
            "published_at": "2026-03-01T11:00:00Z",
        }
    )
    return rows
