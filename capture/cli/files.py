"""``seedpipe files purge ID [--descendants] [--dry-run] [--force]``: delete files for good."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from typing import Any

from seedpipe.cli.common import add_config, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    purge = sub.add_parser(
        "purge",
        help="delete a file (and what was made from it) from its workspace and the index",
    )
    add_config(purge, required=True)
    purge.add_argument("id")
    purge.add_argument("--descendants", action="store_true", help="everything derived from it")
    purge.add_argument("--dry-run", action="store_true", help="list what would go")
    purge.add_argument(
        "--force", action="store_true", help="even if queued or running work uses them"
    )


async def _purge(settings: Any, args: argparse.Namespace) -> dict[str, Any]:
    from capture.purge import purge
    from indexer.backends import open_index
    from seedpipe.bus import open_bus
    from seedpipe.workspaces import Workspaces

    async with open_index(settings.index) as index, open_bus(settings.bus) as bus:
        return await purge(
            settings,
            index,
            bus,
            Workspaces(settings),
            args.id,
            descendants=args.descendants,
            dry_run=args.dry_run,
            force=args.force,
            by=f"cli:{getpass.getuser()}",
        )


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    print(json.dumps(asyncio.run(_purge(settings, args)), indent=2))
    return 0
