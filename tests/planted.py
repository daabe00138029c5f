"""Planted events in made-up words: originals, wire copies and independent write-ups whose
true groups and stories are known by construction (no two events share a sentence)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

SYLLABLES = ["ka", "lor", "men", "tiv", "dra", "sol", "pen", "mur", "vek", "tho", "rin", "bal"]


def planted_events(events: int = 30, seed: int = 11) -> list[dict[str, object]]:
    """Per event an original report (``o{n}``) and a wire copy of it (``c{n}``: a dateline,
    the last sentence cut); every other event also an independent write-up (``w{n}``: each
    sentence's words in another order: another text, the same story). 30 events: 75 pages,
    45 groups."""
    rng = random.Random(seed)
    words = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))) for _ in range(900)})
    now = datetime.now(UTC).replace(microsecond=0)
    rows: list[dict[str, object]] = []
    for n in range(events):
        sentences = [rng.sample(words, 12) for _ in range(6)]
        title = " ".join(rng.sample(words, 6)).capitalize()
        day = (now - timedelta(days=n % 20 + 1)).isoformat()

        def text(lines: list[list[str]]) -> str:
            return " ".join(" ".join(line).capitalize() + "." for line in lines)

        rows.append({"id": f"o{n}", "title": title, "text": text(sentences), "published_at": day})
        rows.append(
            {
                "id": f"c{n}",
                "title": title,
                "text": "PORT KAVEL (Wire) -- " + text(sentences[:-1]),
                "published_at": day,
                "source": "wire.example",
            }
        )
        if n % 2 == 0:
            shuffled = [rng.sample(line, len(line)) for line in sentences]
            rows.append(
                {"id": f"w{n}", "title": title, "text": text(shuffled), "published_at": day}
            )
    return rows
