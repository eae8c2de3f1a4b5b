"""``seedpipe ingest``: run the strikes until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import ConfigError
from seedpipe.supervisor import stop_on_signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument(
        "--strike",
        action="append",
        metavar="NAME",
        help="run only this strike (repeatable; default: all configured strikes)",
    )


async def _serve(args: argparse.Namespace) -> None:
    from ingest.service import IngestService
    from seedpipe.bus import open_bus

    settings = load_settings(args)
    if not settings.strikes:
        raise ConfigError("no strikes configured: add a [[strikes]] table to the config")
    with stop_on_signals(asyncio.Event()) as stop:
        async with open_bus(settings.bus) as bus:
            await IngestService(settings, bus, strikes=args.strike).run(stop)


def run(args: argparse.Namespace) -> int:
    asyncio.run(_serve(args))
    return 0
