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
