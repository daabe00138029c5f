"""The ``newsdedup`` command: the edge where files, terminals and exit codes live."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from pydantic import ValidationError

from service.article import Article, ArticleError, parse_article
from service.embedder import ModelError, load_embedder
from service.feed import Feed, FeedError, stream_feed, write_jsonl
from service.flags import Flag
from service.pipeline import cluster_corpus
from service.prepare import prepare
from service.settings import Settings
from service.summary import Tally, summarise

EXIT_BAD_INPUT = 2
EXIT_BUSY = 3


def _progress(items: Iterable[Any], label: str, total: int | None) -> Iterable[Any]:
    """A progress bar on a terminal; nothing in logs or pipes."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the page pool forks only a one-thread process
    return tqdm(items, desc=label, total=total, leave=False)


@contextlib.contextmanager
def _open_in(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as stream:
        yield stream


@contextlib.contextmanager
def _open_out(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    partial = Path(path + ".partial")
    with open(partial, "w", encoding="utf-8") as stream:
        yield stream
    partial.replace(path)


def _format_flag(flag: Flag) -> str:
    spans = ", ".join(f"{a}-{b}" for a, b in flag.spans)
    return f"[{flag.kind} x{flag.count} at {spans}] {flag.text}"


def _cluster_page(args: argparse.Namespace, settings: Settings) -> int:
    with _open_in(args.input) as stream:
        raw = stream.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        print(f"error: {args.input}: invalid UTF-8 at byte {exc.start}", file=sys.stderr)
        return EXIT_BAD_INPUT
    field = "html" if args.html else "text"
    try:
        article: Article = parse_article({"id": args.input, field: text}, settings.limits)
    except ArticleError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    page = prepare(article, settings.pipeline.page)
    with _open_out(args.output) as out:
        print(f"flags: {len(page.flags)}", file=out)
        for flag in page.flags:
            print("  " + _format_flag(flag), file=out)
        print("\nclean text:", file=out)
        print(page.clean_text, file=out)
    return 0


def _cluster_feed(args: argparse.Namespace, settings: Settings) -> int:
    feed = Feed()
    try:
        with _open_in(args.input) as stream:
            embedder = load_embedder(settings)  # once the input opened
            articles = stream_feed(stream, settings.limits, feed, strict=args.strict)
            run = cluster_corpus(articles, settings.pipeline, embedder, progress=_progress)
    except FeedError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    tally = Tally()
    with _open_out(args.output) as out:  # each answer made, counted and written in turn
        write_jsonl((tally.add(answer).to_json() for answer in run.answers), out)
    report = sys.stderr if args.output in (None, "-") else sys.stdout
    print(summarise(run, feed, tally), file=report)
    return 0


def _serve(settings: Settings) -> int:
    import uvicorn

    from service.api.app import create_app
    from service.logs import configure

    class Server(uvicorn.Server):
        """uvicorn's server, but a stop it was asked for (SIGTERM, SIGINT) that shut down
        cleanly exits 0 instead of re-raising the signal, which supervisors read as a crash."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    if settings.workers > 1 and not settings.store_url.startswith("postgresql"):
        print(
            f"error: --workers {settings.workers} needs PostgreSQL: SQLite serves one process. "
            "Set NEWSDEDUP_DATABASE_URL=postgresql+psycopg://..., or serve one worker.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    configure()
    if settings.workers > 1:  # each worker builds its app from the environment
        uvicorn.run(
            "service.api.app:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_config=None,
            timeout_graceful_shutdown=30,
        )
        return 0
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=30,
    )
    Server(config).run()
    return 0


def _reindex(settings: Settings, engine_name: str | None, address: str | None) -> int:
    from index.runners import RunnerUnavailable, runner_for
    from service.logs import configure
    from service.reindex import Reindex
    from service.store import Store, connect
    from service.store.lock import ReindexBusy
    from service.store.migrate import upgrade

    configure()
    try:
        runner = runner_for(engine_name or settings.reindex_engine, address or settings.ray_address)
    except RunnerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = connect(settings.store_url)
    upgrade(engine)
    job = Reindex(settings.reindex, Store(engine), lambda: load_embedder(settings), runner=runner)
    try:
        report = job.run()
    except ReindexBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    finally:
        engine.dispose()
    print(json.dumps(report.to_json()))
    return 0


def _compact(settings: Settings) -> int:
    from service.store import Store, connect
    from service.store.lock import ReindexBusy, reindex_lock
    from service.store.migrate import compact, upgrade

    engine = connect(settings.store_url)
    try:
        upgrade(engine)
        with reindex_lock(settings.data_dir, Store(engine)):  # no reindex meanwhile
            freed = compact(engine)
    except ReindexBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    finally:
        engine.dispose()
    print(json.dumps({"compacted": freed is not None, "bytes_freed": freed}))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdedup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cluster = commands.add_parser(
        "cluster",
        help="cluster a JSONL file of articles (or flag one page with --text/--html)",
        description="One output line per input article: duplicate group, canonical copy, "
        "story and flags. Settings come from NEWSDEDUP_* environment variables.",
    )
    cluster.add_argument("input", help="JSONL file of articles, or '-' for standard input")
    cluster.add_argument(
        "-o",
        "--output",
        help="where to write the JSONL results, or one page's report (default: stdout)",
    )
    cluster.add_argument("--strict", action="store_true", help="stop at the first bad line")
    mode = cluster.add_mutually_exclusive_group()
    mode.add_argument("--text", action="store_true", help="input is one scraped page as plain text")
    mode.add_argument("--html", action="store_true", help="input is one page as raw HTML")
    serve = commands.add_parser(
        "serve",
        help="run the HTTP service",
        description="Serves the API on NEWSDEDUP_HOST:NEWSDEDUP_PORT (127.0.0.1:8000) with the "
        "store at NEWSDEDUP_DATABASE_URL (default: a SQLite file under NEWSDEDUP_DATA_DIR).",
    )
    serve.add_argument("--host", help="the address to listen on (overrides NEWSDEDUP_HOST)")
    serve.add_argument("--port", type=int, help="the port to listen on (overrides NEWSDEDUP_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        help="API processes to run on the one port (overrides NEWSDEDUP_WORKERS; default 1); "
        "more than one needs PostgreSQL",
    )
    reindex = commands.add_parser(
        "reindex",
        help="re-embed stale vectors, rebuild the index, re-cluster, swap (the nightly job)",
        description="Runs once and exits: 0 when done, 3 when another reindex holds the lock. "
        "A running service switches to the new index by itself.",
    )
    reindex.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="where the heavy steps run (overrides NEWSDEDUP_REINDEX_ENGINE; default local); "
        "ray needs the extra newsdedup[ray]",
    )
    reindex.add_argument(
        "--ray-address",
        help="the Ray cluster to join, as ray.init takes it (overrides NEWSDEDUP_RAY_ADDRESS; "
        "default: RAY_ADDRESS, or a local cluster started for the run)",
    )
    commands.add_parser(
        "compact",
        help="pack a SQLite store after an upgrade moved columns (stop the service first)",
        description="Runs VACUUM on the SQLite store (nothing on PostgreSQL) and prints the "
        "bytes freed; 3 when a reindex holds the lock.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: invalid NEWSDEDUP_* setting:\n{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.command == "serve":
            given = {"host": args.host, "port": args.port, "workers": args.workers}
            try:
                settings = Settings(**{k: v for k, v in given.items() if v is not None})
            except ValidationError as exc:
                print(f"error: invalid serve option:\n{exc}", file=sys.stderr)
                return EXIT_BAD_INPUT
            return _serve(settings)
        if args.command == "reindex":
            return _reindex(settings, args.engine, args.ray_address)
        if args.command == "compact":
            return _compact(settings)
        if args.text or args.html:
            return _cluster_page(args, settings)
        return _cluster_feed(args, settings)
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
