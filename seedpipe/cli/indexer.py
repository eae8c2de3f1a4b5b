"""``seedpipe indexer``: run the indexer service until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from seedpipe.cli.common import add_config, load_settings
from seedpipe.settings import Settings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("--group", default="indexer", help="consumer group (default indexer)")


async def serve(settings: Settings, group: str = "indexer") -> None:
    from indexer.backends import open_index
    from indexer.service import IndexerService
    from seedpipe.bus import open_bus

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        service = IndexerService(settings, bus, index, group=group)
        await service.run(stop)
    log.info("indexer stopped", extra={"written": service.stats.written})


def run(args: argparse.Namespace) -> int:
    asyncio.run(serve(load_settings(args), args.group))
    return 0
