"""``seedpipe capture``: run the capture service (trigger events → Seed jobs) until stopped."""

from __future__ import annotations

import argparse
import asyncio

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import ConfigError
from seedpipe.supervisor import stop_on_signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)


async def _serve(args: argparse.Namespace) -> None:
    from capture.service import CaptureService
    from indexer.backends import open_index
    from seedpipe.bus import open_bus

    settings = load_settings(args)
    if not settings.triggers:
        raise ConfigError("no triggers configured: add a [[triggers]] table to the config")
    with stop_on_signals(asyncio.Event()) as stop:
        async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
            await CaptureService(settings, bus, index).run(stop)


def run(args: argparse.Namespace) -> int:
    asyncio.run(_serve(args))
    return 0
