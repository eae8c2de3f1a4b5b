"""``seedpipe up``: ingest, capture, indexer and the HTTP API in one process, with a status line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from seedpipe.cli.common import add_config, load_settings

if TYPE_CHECKING:
    from capture.service import CaptureService
    from indexer.backends.base import FileIndex
    from seedpipe.settings import Settings

log = logging.getLogger(__name__)

STATUS_EVERY_S = 0.5
STATUS_LOG_EVERY_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
    parser.add_argument("--port", type=int, help="HTTP API port (default: settings api.port)")
    parser.add_argument(
        "--status",
        choices=["auto", "live", "log", "off"],
        default="auto",
        help="live status line (auto: live on a terminal, a log line every 10 s otherwise)",
    )


def ingested_count(settings: Settings) -> int:
    """Files the ingest ledger has recorded as INGESTED (read-only, cheap)."""
    path = settings.path("ingest.db")
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT COUNT(*) FROM ingests WHERE status = 'INGESTED'").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


async def status_text(settings: Settings, capture: CaptureService, index: FileIndex) -> str:
    from indexer.query import Query

    jobs = capture.counts()
    try:
        indexed = await index.count(Query(include_superseded=True))
    except Exception:  # the status line must never take the pipeline down
        indexed = -1
    return (
        f"files ingested {ingested_count(settings)} | jobs queued {jobs['queued']} "
        f"running {jobs['running']} done {jobs['completed']} failed {jobs['failed']} | "
        f"records indexed {indexed}"
    )


async def show_status(
    mode: str, settings: Settings, capture: CaptureService, index: FileIndex, stop: asyncio.Event
) -> None:
    if mode == "off":
        await stop.wait()
        return
    live = mode == "live" or (mode == "auto" and sys.stderr.isatty())
    if not live:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_LOG_EVERY_S)
            log.info("status: %s", await status_text(settings, capture, index))
        return
    from rich.console import Console
    from rich.live import Live

    with Live(console=Console(stderr=True), refresh_per_second=4, transient=False) as view:
        while not stop.is_set():
            view.update(await status_text(settings, capture, index))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
        view.update(await status_text(settings, capture, index))


def _api_server(settings: Settings, index: FileIndex, capture: CaptureService, port: int) -> Any:
    import uvicorn

    from capture.api import jobs_router
    from indexer.api import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # `up` owns SIGINT/SIGTERM and stops every service together.
            yield

    app = create_app(settings, index=index, extra_routers=[jobs_router(settings, capture.store)])
    from indexer.api.http import MAX_REQUEST_HEAD

    config = uvicorn.Config(
        app,
        host=settings.api.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )
    return Server(config)


async def serve(
    args: argparse.Namespace,
    settings: Settings | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run every service until SIGINT/SIGTERM (or until ``stop`` is set, when given)."""
    from capture.service import CaptureService
    from indexer.backends import open_index
    from indexer.service import IndexerService
    from ingest.service import IngestService
    from seedpipe.bus import open_bus

    settings = settings or load_settings(args)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    settings.path().mkdir(parents=True, exist_ok=True)
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        capture = CaptureService(settings, bus, index)
        services: dict[str, Any] = {
            "ingest": IngestService(settings, bus).run(stop),
            "capture": capture.run(stop),
            "indexer": IndexerService(settings, bus, index).run(stop),
            "status": show_status(args.status, settings, capture, index, stop),
        }
        server = None
        if not args.no_api:
            port = args.port if args.port is not None else settings.api.port
            server = _api_server(settings, index, capture, port)
            services["api"] = server.serve()
        tasks = {asyncio.create_task(c, name=n): n for n, c in services.items()}
        log.info("seedpipe up: %s running; data in %s", ", ".join(services), settings.data_dir)
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stopper and not t.cancelled() and t.exception() is not None:
                    log.error("seedpipe up: %s failed: %s", tasks[t], t.exception())
                    raise t.exception()  # type: ignore[misc]
        finally:
            stop.set()
            if server is not None:
                server.should_exit = True
            stopper.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info("seedpipe up: stopped")


def run(args: argparse.Namespace) -> int:
    asyncio.run(serve(args))
    return 0
