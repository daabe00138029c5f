"""Several API processes on one PostgreSQL store: agreement with one process, and throughput.

    python scripts/workers_eval.py ../shared/data --seeds 1 2 --workers 1 2 4

For each generator seed, the dev feed (scripts/syndicate.py) in a random arrival order is
posted one article per request to ``newsdedup serve --workers N`` on a fresh PostgreSQL
database, by ``--clients`` concurrent clients taking the next article in turn (so the
arrival order is the feed's, up to the clients' races). Then:

- ``agree``: pairwise F1 of the N-process duplicate groups against one process fed by one
  client in the same order (1.000: the same partition);
- ``dup_f1`` / ``story_f1``: each run against the feed's truth, as section a scores it;
- N processes fed by one client, in exactly the reference's order (one process, one
  client): any difference from it is a disagreement between processes, not a race;
- throughput: articles per second over the whole feed, one article per request and in
  batches of 32, and its ratio to the first process count measured in the same run.

Each server is its own process; this script is only the clients.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from metrics import pairwise
from paths_eval import arrival, as_json, scores, stored_answers
from server import start_server, stop_server
from syndicate import SyntheticFeed, dev_feed

ADMIN = os.environ.get(
    "NEWSDEDUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"newsdedup_workers_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def post_all(base: str, bodies: Sequence[list[dict[str, Any]]], clients: int) -> float:
    """Post every body, each client taking the next in turn; the wall time in seconds."""
    lock = threading.Lock()
    next_body = iter(bodies)
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=base, timeout=300) as http:
            while True:
                with lock:
                    body = next(next_body, None)
                if body is None:
                    return
                response = http.post("/v1/articles", json=body)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    return time.perf_counter() - started


def run(
    made: SyntheticFeed, order: Sequence[int], workers: int, clients: int, batch: int, admin: str
) -> dict[str, Any]:
    """One server with ``workers`` processes on a fresh database, fed the whole feed."""
    rows = [as_json(made.articles[i]) for i in order]
    bodies = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    with database(admin) as url, tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(
            Path(tmp),
            database_url=url,
            workers=str(workers),
            retention_days="36500",
            reload_poll_seconds="5",
        )
        try:
            seconds = post_all(base, bodies, clients)
            groups, stories = stored_answers(base, [a.id for a in made.articles])
        finally:
            stop_server(proc)
    return {
        "seconds": seconds,
        "rate": len(rows) / seconds,
        "groups": groups,
        **scores(made, groups, stories),
    }


def agreement(groups: Mapping[str, object], reference: Mapping[str, object]) -> float:
    ids = sorted(reference)
    return pairwise([groups[i] for i in ids], [reference[i] for i in ids]).f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--articles", type=int, default=None, help="feed size (default: all)")
    parser.add_argument("--postgres", default=ADMIN, help="an admin URL to create databases")
    args = parser.parse_args()
    for seed in args.seeds:
        made = dev_feed(args.data_dir, seed, args.articles)
        order = arrival(made, "random", seed)
        print(f"seed {seed}: {len(order)} articles, random order", flush=True)
        one = run(made, order, 1, 1, 1, args.postgres)  # the reference: exactly this order
        print(
            f"  1 process, 1 client: {one['rate']:6.1f} articles/s  "
            f"dup F1 {one['dup_f1']:.3f}  story F1 {one['story_f1']:.3f}",
            flush=True,
        )
        for workers in [w for w in args.workers if w > 1]:
            seq = run(made, order, workers, 1, 1, args.postgres)
            print(
                f"  {workers} processes, 1 client (this order exactly): agree "
                f"{agreement(seq['groups'], one['groups']):.3f} with one process",
                flush=True,
            )
        for batch, clients in ((1, args.clients), (32, max(2, args.clients // 2))):
            base = 0.0
            for workers in args.workers:
                got = run(made, order, workers, clients, batch, args.postgres)
                base = base or got["rate"]
                print(
                    f"  {workers} process(es), {clients} clients, {batch} article(s)/request: "
                    f"{got['rate']:6.1f} articles/s ({got['rate'] / base:.2f}x the first)  "
                    f"agree {agreement(got['groups'], one['groups']):.3f}  "
                    f"dup F1 {got['dup_f1']:.3f}  story F1 {got['story_f1']:.3f}",
                    flush=True,
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
