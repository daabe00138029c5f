"""A story over time: articles per hour (per day past a week), and how fast it is rising.

Pure functions over publication times (else ingestion times), so the API, the story
browser and tests count the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rising:
    """ "Rising" compares a story's articles in the last ``hours`` with its own rate over the
    ``baseline_hours`` before them: a story breaking now scores its count, one that has run
    at this pace all day scores about 1."""

    hours: float = 6.0
    baseline_hours: float = 48.0

    @property
    def per_earlier(self) -> float:
        """What one earlier article adds to the count expected now: the score is
        ``recent / (1 + earlier * per_earlier)``."""
        return self.hours / self.baseline_hours


MAX_BUCKETS = 400


def bucket_of(times: Sequence[datetime]) -> timedelta:
    """An hour, or a day when the times span more than a week (whole days enough to keep
    at most ``MAX_BUCKETS`` when a stray date lies years away)."""
    if not times:
        return HOUR
    span = max(times) - min(times)
    if span <= 7 * DAY:
        return HOUR
    return DAY * max(1, -(-(span // DAY + 1) // MAX_BUCKETS))


def timeline(times: Sequence[datetime]) -> list[tuple[datetime, int]]:
    """``[start, count]`` per hour (per day past a week) from the first to the last time,
    empty buckets included so the series can be drawn; the counts add up to ``len(times)``."""
    if not times:
        return []
    step = bucket_of(times)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    counts = Counter((t - epoch) // step for t in times)
    first, last = min(counts), max(counts)
    return [(epoch + k * step, counts.get(k, 0)) for k in range(first, last + 1)]
