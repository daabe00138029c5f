"""The one configuration object, read from ``NEWSDEDUP_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.canonical import CanonicalRules
from service.config import (
    CopyRules,
    FurnitureRules,
    InputLimits,
    PageRules,
    PipelineConfig,
    PoolRules,
    ReindexConfig,
    StoryRules,
)
from service.machine import cores

PACKAGED_MODEL = "all-MiniLM-L6-v2"
# Bump when prepare changes blocks, words or shingles, or a fingerprint is made otherwise:
# the reindex prepares stored articles again from their input (and makes their fingerprints
# and vectors anew; it reuses a stored fingerprint while its page keeps the same blocks).
PREPARATION_VERSION = 3


class Settings(BaseSettings):
    """Every tunable of the engine. Defaults are the figures tuned in ``scripts/evaluate.py``."""

    model_config = SettingsConfigDict(env_prefix="NEWSDEDUP_", frozen=True)

    data_dir: Path = Path("data")
    model: str = Field(
        PACKAGED_MODEL,
        description="The packaged model's name, or a local sentence-transformers model folder.",
    )
    backend: Literal["torch", "onnx-int8"] = Field(
        "onnx-int8",
        description="The int8 ONNX export of the model (made offline at first use, ~1.8x "
        "faster on CPUs, cosine >= 0.98 to torch), or the torch model itself.",
    )
    embed_batch_size: int = Field(32, ge=1, le=1024)
    lead_words: int = Field(120, ge=8, le=2000, description="Words of clean text after the title.")
    prepare_workers: int = Field(
        0,
        ge=0,
        le=256,
        description="Processes preparing pages in a large `cluster` run; 0: one per core, "
        "1: none beside the main process.",
    )

    shingle_words: int = Field(5, ge=1, le=12)
    num_perm: int = Field(128, ge=16, le=1024)
    lsh_jaccard: float = Field(0.2, gt=0.0, lt=1.0, description="LSH candidate threshold.")
    duplicate_containment: float = Field(
        0.5, gt=0.0, le=1.0, description="Share of the smaller text's shingles in the larger."
    )
    duplicate_overlap: float = Field(
        0.2, ge=0.0, le=1.0, description="Share of the larger text's shingles shared."
    )
    min_shingles: int = Field(8, ge=1, description="Smaller texts join only as exact copies.")

    story_similarity: float = Field(0.6, gt=0.0, le=1.0)
    story_neighbours: int = Field(20, ge=1, le=1000)
    story_window_days: float = Field(7.0, gt=0.0)
    story_half_life_days: float = Field(14.0, gt=0.0)
    story_voices: int = Field(
        2, ge=1, le=16, description="Differently titled members a group vector is made from."
    )

    canonical: Literal["earliest", "wire", "preferred"] = Field(
        "earliest",
        description="Which member leads a duplicate group: the earliest published; a wire "
        "copy (agency credit, not a repost), then the earliest; or the first of "
        "preferred_sources, then the earliest.",
    )
    preferred_sources: tuple[str, ...] = Field(
        (), description="Sources (sites) in order of preference, for canonical=preferred."
    )

    boilerplate_min_groups: int = Field(
        3, ge=2, description="Distinct copy groups a block must recur in anywhere."
    )
    site_min_groups: int = Field(
        2, ge=2, description="Distinct copy groups a block must recur in on one site."
    )
    caption_max_words: int = Field(80, ge=5)
    repeat_min_words: int = Field(5, ge=1, description="Shortest block flagged as contained.")
    keep_repeat_words: int = Field(40, ge=1, description="A repeated block this long stays once.")

    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: a SQLite file under data_dir."
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="API processes `newsdedup serve` runs; more than one needs PostgreSQL.",
    )
    api_key: str | None = Field(None, description="When set, writes need this key.")
    cors_origins: tuple[str, ...] = Field(
        (), description="Origins a browser may call the API from (JSON list); none by default."
    )
    max_body_bytes: int = Field(16_000_000, ge=1000, description="Largest request body (413).")
    max_batch: int = Field(256, ge=1, description="Most articles in one request (413).")
    flat_max: int = Field(50_000, ge=1, description="Past this many vectors the index is IVF.")
    retention_days: float = Field(
        30.0, gt=0, description="The reindex keeps this many days in the index."
    )
    purge_outside_window: bool = Field(False, description="Delete articles older than the window.")
    reload_poll_seconds: float = Field(
        5.0, gt=0, description="How often the service looks for a new index."
    )
    snapshot_every: int = Field(5000, ge=1, description="New groups between index snapshots.")
    reindex_engine: Literal["local", "ray"] = Field(
        "local",
        description="Where `newsdedup reindex` runs its heavy steps: this process, or a Ray "
        "cluster (the optional extra newsdedup[ray]).",
    )
    ray_address: str | None = Field(
        None, description="The Ray cluster the ray engine joins; none: a local one."
    )

    max_text_chars: int = Field(2_000_000, ge=1000)
    max_title_chars: int = Field(2000, ge=10)
    max_captions: int = Field(200, ge=0)

    @property
    def pipeline(self) -> PipelineConfig:
        """The small config objects the domain takes."""
        return PipelineConfig(
            page=PageRules(
                caption_max_words=self.caption_max_words,
                repeat_min_words=self.repeat_min_words,
                keep_repeat_words=self.keep_repeat_words,
            ),
            furniture=FurnitureRules(
                min_groups=self.boilerplate_min_groups,
                site_min_groups=self.site_min_groups,
                min_shingles=self.min_shingles,
            ),
            copies=CopyRules(
                shingle_words=self.shingle_words,
                num_perm=self.num_perm,
                lsh_jaccard=self.lsh_jaccard,
                containment=self.duplicate_containment,
                overlap=self.duplicate_overlap,
                min_shingles=self.min_shingles,
            ),
            stories=StoryRules(
                threshold=self.story_similarity,
                neighbours=self.story_neighbours,
                window_days=self.story_window_days,
                half_life_days=self.story_half_life_days,
                voices=self.story_voices,
            ),
            canonical=CanonicalRules(
                self.canonical,
                tuple(s.strip().lower().removeprefix("www.") for s in self.preferred_sources),
            ),
            lead_words=self.lead_words,
            preparing=PoolRules(workers=self.prepare_workers or cores()),
        )

    @property
    def reindex(self) -> ReindexConfig:
        return ReindexConfig(
            pipeline=self.pipeline,
            data_dir=self.data_dir,
            retention_days=self.retention_days,
            flat_max=self.flat_max,
            purge_outside_window=self.purge_outside_window,
            vector_version=self.vector_version,
            preparation=PREPARATION_VERSION,
        )

    @property
    def limits(self) -> InputLimits:
        return InputLimits(self.max_text_chars, self.max_title_chars, self.max_captions)

    @property
    def vector_version(self) -> str:
        """What a stored vector was made with; any change makes the reindex re-embed it."""
        return f"{self.model}|{self.backend}|prep{PREPARATION_VERSION}|lead{self.lead_words}"

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'newsdedup.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
