"""``seedpipe up``: ingest, capture, indexer and the HTTP API in one process, with a status line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from seedpipe.cli.common import add_config, load_settings
from seedpipe.supervisor import stop_on_signals, supervise

if TYPE_CHECKING:
    from capture.service import CaptureService
    from indexer.backends.base import FileIndex
    from ingest.service import IngestService
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


async def status_text(ingest: IngestService, capture: CaptureService, index: FileIndex) -> str:
    from seedpipe.query.model import Query

    jobs = capture.counts()
    recipes = capture.recipes.counts()
    try:
        indexed = await index.count(Query(include_superseded=True))
    except Exception:  # the status line must never take the pipeline down
        indexed = -1
    return (
        f"files ingested {ingest.counts().get('INGESTED', 0)} | jobs queued {jobs['queued']} "
        f"running {jobs['running']} done {jobs['completed']} failed {jobs['failed']} | "
        f"recipes running {recipes['running']} done {recipes['completed']} "
        f"failed {recipes['failed']} | records indexed {indexed}"
    )


async def show_status(
    mode: str, ingest: IngestService, capture: CaptureService, index: FileIndex, stop: asyncio.Event
) -> None:
    if mode == "off":
        await stop.wait()
        return
    live = mode == "live" or (mode == "auto" and sys.stderr.isatty())
    if not live:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_LOG_EVERY_S)
            log.info("status: %s", await status_text(ingest, capture, index))
        return
    from rich.console import Console
    from rich.live import Live

    with Live(console=Console(stderr=True), refresh_per_second=4, transient=False) as view:
        while not stop.is_set():
            view.update(await status_text(ingest, capture, index))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
        view.update(await status_text(ingest, capture, index))


SHUTDOWN_GRACE_S = 3


def _api_server(settings: Settings, index: FileIndex, capture: CaptureService, port: int) -> Any:
    import uvicorn

    from composition.http import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # `up` owns SIGINT/SIGTERM and stops every service together.
            yield

    app = create_app(settings, index=index, capture=capture)
    from indexer.api.http import MAX_REQUEST_HEAD

    config = uvicorn.Config(
        app,
        host=settings.api.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # Open live-update streams (the page's server-sent events) never end by themselves.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )
    return Server(config)


async def serve(
    args: argparse.Namespace,
    settings: Settings | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run every service until SIGINT/SIGTERM (or until ``stop`` is set, when given)."""
    settings = settings or load_settings(args)
    with contextlib.ExitStack() as on_exit:
        if stop is None:
            stop = on_exit.enter_context(stop_on_signals(asyncio.Event()))
        await _serve_all(args, settings, stop)


async def _serve_all(args: argparse.Namespace, settings: Settings, stop: asyncio.Event) -> None:
    from capture.service import CaptureService
    from indexer.backends import open_index
    from indexer.service import IndexerService
    from ingest.service import IngestService
    from seedpipe.bus import open_bus

    settings.path().mkdir(parents=True, exist_ok=True)
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        ingest = IngestService(settings, bus)
        capture = CaptureService(settings, bus, index)
        services: dict[str, Any] = {
            "ingest": ingest.run(stop),
            "capture": capture.run(stop),
            "indexer": IndexerService(settings, bus, index).run(stop),
            "status": show_status(args.status, ingest, capture, index, stop),
        }
        server = None
        if not args.no_api:
            port = args.port if args.port is not None else settings.api.port
            server = _api_server(settings, index, capture, port)
            services["api"] = _until_stopped(server, stop)
        log.info("seedpipe up: %s running; data in %s", ", ".join(services), settings.data_dir)
        try:
            await supervise(services, stop)
        finally:
            log.info("seedpipe up: stopped")


async def _until_stopped(server: Any, stop: asyncio.Event) -> None:
    """Serve until ``stop``; uvicorn has no stop event of its own, only ``should_exit``."""
    watcher = asyncio.create_task(stop.wait())

    def stopping(_: object) -> None:
        server.should_exit = True
        server.config.app.state.live.end_streams()  # the page's open streams end too

    watcher.add_done_callback(stopping)
    try:
        await server.serve()
    finally:
        watcher.cancel()


def run(args: argparse.Namespace) -> int:
    asyncio.run(serve(args))
    return 0
