"""Fill a store with N synthetic stored articles (random clustered vectors and shingles), so
that latency can be measured "with N articles already stored" without hours of embedding.

    python scripts/service_seed.py DATA_DIR --articles 100000

The rows are what the service itself writes (same schema, migrations, fingerprints); only
their vectors come from a random generator instead of the model.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.article import Article
from service.copies import headline_of
from service.furniture import site_key
from service.items import item_of
from service.page_store import page_terms
from service.pipeline import lead_key
from service.settings import PREPARATION_VERSION, Settings
from service.sketch import MinHasher, Sketch, fingerprint
from service.store import GroupRow, Store, StoryRow, connect
from service.store.core import insert_articles
from service.store.migrate import upgrade
from service.store.pages import PageTerms, index_pages
from service.store.schema import BlockGroupRow, BlockSiteRow

DIM = 384
SITES = 50
READ_MORE = "Read more stories like this from our newsroom every morning"


def site_of(n: int) -> str:
    return f"outlet-{n % SITES}.example"


def template_of(n: int) -> str:
    """The line every page of outlet ``n % SITES`` carries (its template)."""
    return f"Outlet {n % SITES} brings you the news that matters to your town and region"


def page_text(title: str, size: int) -> str:
    """A stored page's text of ``size`` characters (the title alone when 0): its title
    again and again, standing for the bytes a real page's text or HTML takes."""
    if size <= len(title):
        return title
    return ((title + ". ") * (size // (len(title) + 2) + 1))[:size]


def furniture_keys(settings: Settings) -> tuple[int, list[int]]:
    """The block keys of "Read more" and of each outlet's template line, as the service's
    own preparation computes them from a page carrying them."""
    keys = []
    for n in range(SITES):
        text = f"A body paragraph.\n\n{template_of(n)}\n\n{READ_MORE}"
        sketch = item_of(Article(id="k", text=text), settings.pipeline).sketch
        keys.append((int(sketch.keys[-2]), int(sketch.keys[-1])))
    return keys[0][1], [template for template, _ in keys]


def seed(
    settings: Settings,
    articles: int,
    seed: int = 0,
    batch: int = 5000,
    furniture: bool = False,
    page_bytes: int = 0,
) -> None:
    """Write at least ``articles`` rows: stories of 1-7 groups, groups of 1-3 members (the
    copies trimmed versions of the first), stories drawn around topics. With ``furniture``
    the block counts say what a real store's say: every page of an outlet carried its
    template line and "Read more" (``block_groups``, ``block_sites``: the live furniture
    rule's lookups meet keys in hundreds of thousands of groups). ``page_bytes``: each
    row's stored input and clean text that long, as a real page's are (its text: several
    KB; its HTML: tens to hundreds), where 0 stores the title alone: the reindex reads and
    rewrites article rows, and their size is its cost (``FIGURES.md``)."""
    rng = np.random.default_rng(seed)
    minhasher = MinHasher(settings.num_perm)
    engine = connect(settings.store_url)
    upgrade(engine)
    # News vectors are topical: topics hold stories, stories hold groups (copies share one).
    topics = rng.normal(size=(max(articles // 500, 1), DIM)).astype(np.float32)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    member = group = story = 0
    stories: list[dict[str, object]] = []
    groups: list[dict[str, object]] = []
    rows: list[dict[str, object]] = []
    terms: list[PageTerms] = []
    rules = settings.pipeline.copies  # one config object: its LSH bands are computed once
    words = rules.shingle_words
    read_more, templates = furniture_keys(settings)
    blocks: set[tuple[int, int]] = set()
    site_blocks: set[tuple[int, int, int]] = set()

    def flush() -> None:
        with Session(engine) as session, session.begin():
            conn = session.connection()  # plain inserts: the ORM's bulk path costs more
            for table, values in ((StoryRow, stories), (GroupRow, groups)):
                if values:
                    conn.execute(insert(table), list(values))
            insert_articles(conn, rows)
            index_pages(session, terms, new=True)  # what copy detection finds them by
            if blocks:
                conn.execute(
                    insert(BlockGroupRow), [{"key_hash": k, "group_id": g} for k, g in blocks]
                )
                conn.execute(
                    insert(BlockSiteRow),
                    [{"site_hash": on, "key_hash": k, "group_id": g} for on, k, g in site_blocks],
                )
        for done in (stories, groups, rows, terms, blocks, site_blocks):
            done.clear()

    while member < articles:
        story += 1
        when = start + timedelta(minutes=int(rng.integers(0, 60 * 24 * 30)))
        stories.append({"id": story, "created_at": when, "merged_into": None})
        title = f"Seeded story {story}"  # every page's title, lead and text
        stored_text = page_text(title, page_bytes)  # made once: a story's pages share it
        topic = topics[int(rng.integers(0, len(topics)))]
        centre = topic + rng.normal(scale=0.7, size=DIM).astype(np.float32)
        for _ in range(int(rng.integers(1, 8))):
            group += 1
            vector = centre + rng.normal(scale=0.5, size=DIM).astype(np.float32)
            vector /= np.linalg.norm(vector)
            record: dict[str, object] = {
                "id": group,
                "story_id": story,
                "created_at": when,
                "first_published": when,
                "last_published": when,
                "vector": vector.astype(np.float32).tobytes(),
                "vector_version": settings.vector_version,
                "merged_into": None,
            }
            groups.append(record)
            text = rng.integers(0, 2**32, size=300, dtype=np.uint64).astype(np.uint32)
            for copy in range(int(rng.integers(1, 4))):
                member += 1
                kept = text[: 300 - int(rng.integers(0, 60))] if copy else text  # a trimmed copy
                shingles = np.unique(kept)
                # block keys stand for texts: distinct texts never share one
                sketch = Sketch.single(shingles, len(kept), int(member if copy else -group))
                if not copy:
                    # what the vector is made from, as the reindex computes it (the group's
                    # one voice is this full text): the stored vector stays current
                    record["vector_key"] = lead_key(
                        title,
                        sketch,
                        sketch.kept(np.zeros(1, dtype=bool)),
                        settings.lead_words,
                        settings.vector_version,
                    )
                # the fingerprint the pipeline computes for this sketch (a reindex finds the
                # stored one current, as on a real store)
                fp = fingerprint(sketch, sketch.kept(), minhasher)
                line = headline_of(title, sketch, words)
                site = site_of(member)
                if furniture:  # what the service writes for each of the page's blocks
                    on = site_key(site)
                    assert on is not None
                    for key in (int(sketch.keys[0]), templates[member % SITES], read_more):
                        blocks.add((key, group))
                        site_blocks.add((on, key, group))
                terms.append(page_terms(member, fp, line, rules))
                rows.append(
                    {
                        "id": f"seed-{member}",
                        "member": member,
                        "group_id": group,
                        "is_duplicate": copy > 0,
                        "similarity": 0.9 if copy else None,
                        "published_at": when,
                        "ingested_at": when,
                        "title": title,
                        "source": site,
                        "url": None,
                        "words": fp.words,
                        "content_hash": fp.content_hash,
                        "shingles": fp.shingles.tobytes(),
                        "minhash": fp.minhash.tobytes(),
                        "sketch": sketch.to_bytes(),
                        "furniture": np.zeros(1, dtype=np.bool_).tobytes(),
                        "painted": np.zeros(1, dtype=np.bool_).tobytes(),
                        "prepared_with": PREPARATION_VERSION,
                        "site": site,
                        "lead": title,
                        "clean_text": stored_text,
                        "flags": [],
                        "raw": stored_text,
                        "raw_kind": "text",
                        "captions": [],
                    }
                )
        if len(rows) >= batch:
            flush()
    flush()
    Store(engine).set_meta("copy_index", "1")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--furniture", action="store_true", help="outlet templates and 'Read more' counted"
    )
    parser.add_argument(
        "--page-bytes", type=int, default=0, help="each page's stored text this long (0: its title)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    seed(
        Settings(data_dir=args.data_dir),
        args.articles,
        args.seed,
        furniture=args.furniture,
        page_bytes=args.page_bytes,
    )
    print(
        f"seeded {args.articles} articles into {args.data_dir} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
