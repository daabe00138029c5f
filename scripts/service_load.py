"""Latency and load of the HTTP service, from a client in another process.

    python scripts/service_load.py latency --stored 10000 100000
    python scripts/service_load.py soak --duration 300
    python scripts/service_load.py memory ../shared/data --articles 5000
    python scripts/service_load.py scale /tmp/newsdedup-1m --stored 1000000

``latency`` seeds a store with N articles (scripts/service_seed.py), starts ``newsdedup
serve`` on it, and times POST /v1/articles with one new article (p50/p95/p99), the
server's own assign time (model included) per article from /metrics, POST /v1/match with
a new text and with a copy of a stored one (nothing stored; its ratio to the ingest of one
article, measured in the same run, is the figure that survives a noisy machine), and
throughput with batches of 32. ``memory`` posts real articles and reports the server's RSS
growth per stored article. ``soak`` runs a mixed load (new articles, copies, reads) for a while and
reports the error count and the server's memory over time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from server import start_server, stop_server
from service_seed import READ_MORE, seed, site_of, template_of

from service.embedder import Embedder, load_embedder
from service.settings import Settings

WORDS = [
    "council",
    "harbour",
    "minister",
    "election",
    "storm",
    "bridge",
    "court",
    "police",
    "budget",
    "school",
    "river",
    "market",
    "hospital",
    "strike",
    "festival",
    "railway",
    "airport",
    "union",
    "senator",
    "mayor",
    "village",
    "factory",
    "drought",
    "flood",
    "vote",
    "treaty",
    "border",
    "ceasefire",
    "inflation",
    "bank",
    "energy",
    "museum",
    "stadium",
    "coach",
    "trial",
    "verdict",
    "protest",
    "report",
    "agency",
    "official",
    "said",
    "on",
    "tuesday",
    "after",
    "before",
    "during",
    "following",
    "announced",
    "plans",
    "new",
    "old",
    "local",
    "national",
    "regional",
    "the",
    "a",
    "of",
    "in",
    "to",
    "and",
    "for",
    "with",
    "by",
    "from",
    "at",
]


def article(n: int, rng: random.Random, words: int = 180) -> dict[str, str]:
    """A new article: random prose from a news vocabulary, about as long as a real lead,
    under its outlet's template line and "Read more" (furniture a store seeded with
    ``furniture`` counts in thousands of groups)."""
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return {
        "id": f"load-{n}-{rng.random():.12f}",
        "title": f"Load article {n}",
        "text": f"{text}\n\n{template_of(n)}\n\n{READ_MORE}",
        "source": site_of(n),
    }


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def percentiles(values: list[float]) -> str:
    p = np.percentile(np.array(values) * 1000, [50, 95, 99])
    return f"p50 {p[0]:6.1f} ms  p95 {p[1]:6.1f} ms  p99 {p[2]:6.1f} ms"


@dataclass
class Timings:
    """One run of the latency protocol against a live server."""

    ingest: list[float]
    match: list[float]
    assign_ms: float  # the server's own assign time per article, model included
    batch: list[float]  # seconds per request of 32 new articles
    batch_rate: float  # articles per second, batches of 32
    rss: float  # server RSS at the end, MiB


def measure(
    client: httpx.Client, pid: int, rng: random.Random, requests: int, batches: int
) -> Timings:
    """Single new articles, then /v1/match (a new text and a copy in turn), then batches."""
    for n in range(5):
        client.post("/v1/articles", json=[article(-n - 1, rng)])
    before = client.get("/metrics").text
    times = []
    posted: list[dict[str, str]] = []
    for n in range(requests):
        body = [article(n, rng)]
        posted.append(body[0])
        t0 = time.perf_counter()
        response = client.post("/v1/articles", json=body)
        times.append(time.perf_counter() - t0)
        response.raise_for_status()
    after = client.get("/metrics").text
    assign = metric(after, "newsdedup_assign_seconds") - metric(before, "newsdedup_assign_seconds")
    matches = []
    for n in range(requests):
        # a new text, then a copy of one stored above, in turn
        text = article(20_000 + n, rng) if n % 2 else dict(rng.choice(posted))
        text.pop("id", None)
        t0 = time.perf_counter()
        response = client.post("/v1/match", json=text)
        matches.append(time.perf_counter() - t0)
        response.raise_for_status()
    spent = []
    for b in range(batches):
        body = [article(10_000 + b * 32 + i, rng) for i in range(32)]
        t0 = time.perf_counter()
        client.post("/v1/articles", json=body).raise_for_status()
        spent.append(time.perf_counter() - t0)
    rate = batches * 32 / sum(spent)
    return Timings(times, matches, assign / requests * 1000, spent, rate, rss_mib(pid))


def latency(stored: int, requests: int, batches: int) -> None:
    rng = random.Random(stored)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        started = time.perf_counter()
        seed(Settings(data_dir=data), stored, furniture=True)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        proc, base = start_server(data)
        boot = time.perf_counter() - started
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                run = measure(client, proc.pid, rng, requests, batches)
        finally:
            stop_server(proc)
    ratio = np.percentile(run.match, 95) / np.percentile(run.ingest, 95)
    print(
        f"stored {stored:>7}: match (stores nothing)  {percentiles(run.match)}  "
        f"p95 {ratio:.2f}x one ingest's"
    )
    print(
        f"stored {stored:>7}: one new article  {percentiles(run.ingest)}  "
        f"(assign incl. model {run.assign_ms:.1f} ms/article)  "
        f"batches of 32: {run.batch_rate:.1f} articles/s  server RSS {run.rss:.0f} MiB  "
        f"(seed {seeded:.0f} s, start {boot:.1f} s)"
    )


def machine_ms(embedder: Embedder, texts: int = 100) -> float:
    """The machine's speed now: ms a text for the model alone, one text at a time, in this
    process (the same work every run). Latencies read against it survive a host whose
    speed moves between runs."""
    rng = random.Random(0)
    leads = [" ".join(article(n, rng)["text"].split()[:120]) for n in range(texts)]
    embedder.embed(leads[:1])
    started = time.perf_counter()
    for lead in leads:
        embedder.embed([lead])
    return (time.perf_counter() - started) / texts * 1000


def scale(data: Path, stored: int, requests: int, batches: int) -> None:
    """The latency protocol on a store kept in ``data`` (seeded with ``stored`` articles
    the first time, reused after: a million takes a while to write), then the restarts a
    user meets: after a clean stop, and after ``kill -9`` (time to /readyz, RSS once
    ready). The first start on a new seed also builds the vector index: reported apart."""
    rng = random.Random(time.time_ns())
    settings = Settings(data_dir=data)
    if not (data / "newsdedup.db").exists():
        started = time.perf_counter()
        seed(settings, stored, furniture=True)
        print(f"seeded {stored} articles in {time.perf_counter() - started:.0f} s")

    def boot() -> tuple[subprocess.Popen[bytes], str, float, float]:
        started = time.perf_counter()
        proc, base = start_server(data)
        return proc, base, time.perf_counter() - started, rss_mib(proc.pid)

    proc, base, first, first_rss = boot()
    print(f"start: ready in {first:.1f} s, RSS {first_rss:.0f} MiB")
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            model = load_embedder(settings)
            before = machine_ms(model)
            run = measure(client, proc.pid, rng, requests, batches)
            after = machine_ms(model)
            held = int(client.get("/readyz").json()["vectors"])
        stop_server(proc)
        proc, base, clean, clean_rss = boot()
        proc.kill()  # kill -9: no snapshot written, no lock let go
        proc.wait()
        proc, base, killed, killed_rss = boot()
    finally:
        stop_server(proc)
    print(f"vectors in the index: {held}")
    p95 = float(np.percentile(run.ingest, 95)) * 1000
    print(
        f"the machine: the model alone {before:.1f} ms a text before the load, {after:.1f} "
        f"after; one new article's p95 is {p95 / ((before + after) / 2):.2f}x that"
    )
    print(
        f"one new article  {percentiles(run.ingest)}  (assign incl. model {run.assign_ms:.1f} ms)"
    )
    print(f"match            {percentiles(run.match)}")
    print(f"batches of 32    {percentiles(run.batch)}  ({run.batch_rate:.1f} articles/s)")
    print(f"server RSS after the load {run.rss:.0f} MiB")
    print(f"restart after a clean stop: ready in {clean:.1f} s, RSS {clean_rss:.0f} MiB")
    print(f"restart after kill -9: ready in {killed:.1f} s, RSS {killed_rss:.0f} MiB")


async def soak(duration: float, stored: int) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        seed(Settings(data_dir=data), stored, furniture=True)
        proc, base = start_server(data)
        errors: dict[str, int] = {}
        counts = {"write": 0, "copy": 0, "read": 0}
        known: list[dict[str, str]] = []
        memory: list[tuple[float, float]] = []
        deadline = time.monotonic() + duration
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:

                async def worker(kind: str) -> None:
                    n = 0
                    while time.monotonic() < deadline:
                        n += 1
                        if kind == "write":
                            new = article(n, rng)
                            response = await client.post("/v1/articles", json=[new])
                            known.append(new)
                        elif kind == "copy" and known:
                            original = rng.choice(known)
                            copy = dict(original, id=f"{original['id']}-copy-{n}", title="Copy")
                            response = await client.post("/v1/articles", json=[copy])
                        else:
                            path = rng.choice(
                                [
                                    "/v1/stories?limit=20",
                                    f"/v1/articles/seed-{rng.randint(1, stored)}",
                                ]
                            )
                            response = await client.get(path)
                        counts[kind] += 1
                        if response.status_code >= 400:
                            key = f"{kind} {response.status_code}"
                            errors[key] = errors.get(key, 0) + 1
                        await asyncio.sleep(0.05)

                async def sampler() -> None:
                    t0 = time.monotonic()
                    while time.monotonic() < deadline:
                        memory.append((time.monotonic() - t0, rss_mib(proc.pid)))
                        await asyncio.sleep(10)

                await asyncio.gather(
                    worker("write"), worker("copy"), worker("read"), worker("read"), sampler()
                )
        finally:
            stop_server(proc)
    first, last = memory[0][1], memory[-1][1]
    settled = memory[len(memory) // 4][1]
    print(f"soak {duration:.0f} s over {stored} stored: requests {counts}, errors {errors or 0}")
    print(
        f"server RSS: start {first:.0f} MiB, at 1/4 {settled:.0f} MiB, end {last:.0f} MiB, "
        f"max {max(m for _, m in memory):.0f} MiB; growth after warm-up {last - settled:+.0f} MiB"
    )


def memory(data_dir: Path, articles: int, warmup: int, seed_: int, url: str | None) -> None:
    """RSS growth per stored article through the API, on real texts: the dev feed
    (scripts/syndicate.py) posted in batches of 32 to a fresh store; RSS is read every 500
    articles after a warm-up (the model's first runs, caches filling) and at the end. The
    model's export is made by a first start and kept, so torch is never in the figure."""
    from paths_eval import as_json
    from syndicate import dev_feed

    made = dev_feed(data_dir, seed_, articles)
    rows = [as_json(a) for a in made.articles]
    models = Path(tempfile.gettempdir()) / "newsdedup-memory"  # the model's export, kept
    with tempfile.TemporaryDirectory() as tmp:
        # a first start exports the model (torch loaded, then let go): not part of the figure
        store = url or f"sqlite:///{Path(tmp) / 'store.db'}"
        proc, base = start_server(models, database_url=store)
        stop_server(proc)
        proc, base = start_server(models, database_url=store)
        samples: list[tuple[int, float]] = []
        try:
            with httpx.Client(base_url=base, timeout=300) as client:
                for start in range(0, len(rows), 32):
                    body = rows[start : start + 32]
                    client.post("/v1/articles", json=body).raise_for_status()
                    done = start + len(body)
                    if done >= warmup and (not samples or done - samples[-1][0] >= 500):
                        samples.append((done, rss_mib(proc.pid)))
                samples.append((len(rows), rss_mib(proc.pid)))
        finally:
            stop_server(proc)
            for snapshot in models.glob("v*"):
                shutil.rmtree(snapshot)
    (first, before), (last, after) = samples[0], samples[-1]
    print("server RSS by articles stored: " + ", ".join(f"{n}: {m:.0f} MiB" for n, m in samples))
    print(
        f"{last - first} real articles after a warm-up of {first}: server RSS {before:.0f} -> "
        f"{after:.0f} MiB, {(after - before) * 1024 / (last - first):.1f} KiB per stored article"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--stored", type=int, nargs="+", default=[10_000, 100_000])
    lat.add_argument("--requests", type=int, default=200)
    lat.add_argument("--batches", type=int, default=10)
    soak_parser = sub.add_parser("soak")
    soak_parser.add_argument("--duration", type=float, default=300)
    soak_parser.add_argument("--stored", type=int, default=10_000)
    mem = sub.add_parser("memory")
    mem.add_argument("data_dir", type=Path, help="the labelled data (../shared/data)")
    mem.add_argument("--articles", type=int, default=5000)
    mem.add_argument("--warmup", type=int, default=500)
    mem.add_argument("--seed", type=int, default=1)
    mem.add_argument("--database-url", help="an empty store to use (default: a new SQLite file)")
    big = sub.add_parser("scale")
    big.add_argument("data_dir", type=Path, help="where the seeded store is kept (reused)")
    big.add_argument("--stored", type=int, default=1_000_000)
    big.add_argument("--requests", type=int, default=200)
    big.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    if args.mode == "scale":
        scale(args.data_dir, args.stored, args.requests, args.batches)
    elif args.mode == "memory":
        memory(args.data_dir, args.articles, args.warmup, args.seed, args.database_url)
    elif args.mode == "latency":
        for stored in args.stored:
            latency(stored, args.requests, args.batches)
    else:
        asyncio.run(soak(args.duration, args.stored))


if __name__ == "__main__":
    main()
