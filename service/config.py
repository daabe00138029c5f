"""Small configuration objects for the domain: each step gets only the figures it uses.

They are built once from ``Settings`` at the edge (``Settings.pipeline``); the domain never
reads the environment or the whole settings object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from index.lsh_bands import optimal_bands
from service.canonical import CanonicalRules


@dataclass(frozen=True)
class PageRules:
    """In-page flags: captions and repeats."""

    caption_max_words: int = 80
    repeat_min_words: int = 5
    keep_repeat_words: int = 40


@dataclass(frozen=True)
class FurnitureRules:
    """Blocks that recur across pages of different texts are furniture, not content.

    ``min_groups``: distinct copy groups anywhere; ``site_min_groups``: distinct copy groups
    on one site (a site's template); a page whose remaining text has fewer than
    ``min_shingles`` shingles is too short to tell its text apart and counts for nothing.
    A corpus starts from the blocks recurring on one site that at most ``seed_sites``
    sites carry.
    """

    min_groups: int = 3
    site_min_groups: int = 2
    min_shingles: int = 8
    max_rounds: int = 6
    seed_sites: int = 2


@dataclass(frozen=True)
class CopyRules:
    """What makes two pages copies of one text.

    A link needs the smaller page's shingles to lie mostly in the larger
    (``containment``, so a trimmed copy joins the full one) *and* the shared text to be a
    real part of the larger page too (``overlap``), so that a teaser quoting a short
    article inside a long page is not a copy of it.
    """

    shingle_words: int = 5
    num_perm: int = 128
    lsh_jaccard: float = 0.2
    containment: float = 0.5
    overlap: float = 0.2
    min_shingles: int = 8
    max_bucket: int = 64

    @cached_property
    def bands(self) -> tuple[int, int]:
        """LSH bands and rows for the candidate threshold (``index.lsh_bands``)."""
        return optimal_bands(self.lsh_jaccard, self.num_perm)


@dataclass(frozen=True)
class StoryRules:
    """Groups join one story at a time-decayed cosine of at least ``threshold``; a group's
    vector is heard from up to ``voices`` members with different headlines."""

    threshold: float = 0.6
    neighbours: int = 20
    window_days: float = 7.0
    half_life_days: float = 14.0
    voices: int = 2


@dataclass(frozen=True)
class PoolRules:
    """When and how wide to prepare on processes: ``workers`` processes (1: never), once
    more than ``serial_max`` articles came, in chunks of ``chunk`` articles."""

    workers: int = 1
    serial_max: int = 200
    chunk: int = 64


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline needs, step by step."""

    page: PageRules = field(default_factory=PageRules)
    furniture: FurnitureRules = field(default_factory=FurnitureRules)
    copies: CopyRules = field(default_factory=CopyRules)
    stories: StoryRules = field(default_factory=StoryRules)
    canonical: CanonicalRules = field(default_factory=CanonicalRules)
    lead_words: int = 120
    embed_batch: int = 256
    preparing: PoolRules = field(default_factory=PoolRules)


@dataclass(frozen=True)
class InputLimits:
    """Bounds on one input article."""

    max_text_chars: int = 2_000_000
    max_title_chars: int = 2000
    max_captions: int = 200


@dataclass(frozen=True)
class ReindexConfig:
    """What the nightly job needs beyond the pipeline's rules."""

    pipeline: PipelineConfig
    data_dir: Path
    retention_days: float
    flat_max: int
    purge_outside_window: bool
    vector_version: str
    preparation: int

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
