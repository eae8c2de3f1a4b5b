"""``seedpipe cluster``: order the SQLite index's rows by place, for faster area searches."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from seedpipe.cli.common import add_config, load_settings
from seedpipe.settings import IndexSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("--index-url", help="cluster this index instead of the configured one")


async def _cluster(settings: IndexSettings, on_step: Callable[[str], None]) -> dict[str, float]:
    from indexer.backends import open_index
    from indexer.backends.sqlite.index import SqliteIndex
    from seedpipe.errors import ConfigError

    index = open_index(settings)
    if not isinstance(index, SqliteIndex):
        raise ConfigError(
            f"index.url: only the SQLite index keeps its rows in an order of its own; "
            f"{settings.url.split(':', 1)[0]} needs no clustering"
        )
    async with index:
        return await index.cluster(on_step)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from indexer.backends.sqlite.cluster import STEPS
    from seedpipe.settings import resolve_url

    settings = load_settings(args)
    index_settings = settings.index
    if args.index_url:
        url = resolve_url(args.index_url, Path.cwd())
        index_settings = index_settings.model_copy(update={"url": url})
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("clustering the index", total=len(STEPS))
        seen: list[str] = []

        def on_step(name: str) -> None:
            seen.append(name)
            bar.update(task, completed=len(seen) - 1, description=f"clustering: {name}")

        report = asyncio.run(_cluster(index_settings, on_step))
    print(json.dumps(report))
    return 0
