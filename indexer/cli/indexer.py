"""``seedpipe indexer``: run the indexer service until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging

from seedpipe.cli.common import add_config, load_settings
from seedpipe.settings import Settings
from seedpipe.supervisor import stop_on_signals

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("--group", default="indexer", help="consumer group (default indexer)")


async def serve(settings: Settings, group: str = "indexer") -> None:
    from indexer.backends import open_index
    from indexer.service import IndexerService
    from seedpipe.bus import open_bus

    with stop_on_signals(asyncio.Event()) as stop:
        async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
            service = IndexerService(settings, bus, index, group=group)
            await service.run(stop)
        log.info("indexer stopped", extra={"written": service.stats.written})


def run(args: argparse.Namespace) -> int:
    asyncio.run(serve(load_settings(args), args.group))
    return 0
