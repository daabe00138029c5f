"""Keywords that set a story apart from the rest of the window: class-based TF-IDF.

Each story is one class (the text of its groups joined); a term weighs its frequency in
the story times ``log(1 + A / f)``, where ``f`` is the term's frequency over the window
and ``A`` the average number of words per story there. Frequent words of every story
(and stop words) weigh little; the story's own names and nouns come first.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Words of at least three characters opening with a letter ("G20", "covid19", "O'Neill").
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w'\u2019]{2,}\b"


# Words every news report uses, whatever its story.
NEWS_WORDS = frozenset(
    [
        "said",
        "says",
        "say",
        "told",
        "tells",
        "according",
        "year",
        "years",
        "week",
        "weeks",
        "month",
        "months",
        "day",
        "days",
        "today",
        "yesterday",
        "tomorrow",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "new",
        "just",
        "like",
        "including",
        "mr",
        "mrs",
        "ms",
        "percent",
        "people",
        "time",
        "times",
        "read",
    ]
)


def analyzer() -> Callable[[str], list[str]]:
    """Lower-cased words without English stop words (scikit-learn's list and tokenizer)
    and without the words of every news report."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop = sorted(ENGLISH_STOP_WORDS | NEWS_WORDS)
    return CountVectorizer(stop_words=stop, token_pattern=TOKEN_PATTERN).build_analyzer()


@dataclass(frozen=True)
class Background:
    """Term frequencies of the window's stories, and each story's own share of them (so a
    story is weighed against the others, its own text counted once)."""

    counts: Counter[str] = field(default_factory=Counter)
    own: dict[int, Counter[str]] = field(default_factory=dict)
    words: int = 0

    @classmethod
    def of(cls, texts: Sequence[tuple[int, str]], words: Callable[[str], list[str]]) -> Background:
        """From ``(story, text)`` pairs (a story's texts are added up)."""
        counts: Counter[str] = Counter()
        own: dict[int, Counter[str]] = {}
        for story, text in texts:
            terms = Counter(words(text))
            counts.update(terms)
            own.setdefault(story, Counter()).update(terms)
        return cls(counts, own, sum(counts.values()))


def keywords(
    story: int,
    text: str,
    background: Background,
    words: Callable[[str], list[str]],
    top: int = 6,
) -> list[str]:
    """The ``top`` terms of one story's text by class-based TF-IDF against the window."""
    terms = Counter(words(text))
    if not terms:
        return []
    size = sum(terms.values())
    mine = background.own.get(story, Counter())
    others = len(background.own) - (story in background.own)
    average = (background.words - sum(mine.values()) + size) / (others + 1)
    scored = []
    for term, count in terms.items():
        frequency = background.counts.get(term, 0) - mine.get(term, 0) + count
        scored.append((count / size * math.log(1.0 + average / frequency), term))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [term for _, term in scored[:top]]
