"""``seedpipe reindex``: rebuild the file index from the event log."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from seedpipe.cli.common import add_config, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument(
        "--index-url", help="build this index instead of the configured one (e.g. a fresh file)"
    )


def run(args: argparse.Namespace) -> int:
    from indexer.service import reindex
    from seedpipe.settings import resolve_url

    settings = load_settings(args)
    url = resolve_url(args.index_url, Path.cwd()) if args.index_url else None
    stats = asyncio.run(reindex(settings, index_url=url))
    print(json.dumps(asdict(stats)))
    return 0
