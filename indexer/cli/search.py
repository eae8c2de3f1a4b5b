"""``seedpipe search``: find file records by place, time and type."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from seedpipe.cli.common import add_config, load_settings
from seedpipe.cli.filters import add_filter_arguments, query_from_args

if TYPE_CHECKING:
    from seedpipe.query.model import Query
    from seedpipe.settings import Settings
    from seedpipe.views import ViewPage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    add_filter_arguments(parser)
    parser.add_argument("--sort", metavar="FIELDS", help="e.g. -created,file_name")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    parser.add_argument("--token", help="continue after a previous page (printed on stderr)")
    parser.add_argument("--format", choices=["json", "geojson", "table"], default="json")


async def _search(settings: Settings, query: Query) -> ViewPage:
    from indexer.backends import open_index

    async with open_index(settings.index) as index:
        return await index.search_views(query)  # shown, never changed: no pydantic records


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    extra: dict[str, object] = {"limit": args.limit}
    if args.sort:
        extra["sort"] = args.sort
    if args.token:
        extra["token"] = args.token
    query = query_from_args(args, **extra)
    page = asyncio.run(_search(settings, query))
    if args.format == "json":
        json.dump([r.to_scale() for r in page.records], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "geojson":
        from indexer.stac.items import to_feature

        doc = {"type": "FeatureCollection", "features": [to_feature(r) for r in page.records]}
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _table(page)
    if page.next_token:
        print(
            f"{len(page.records)} of {page.total} shown; more with --token {page.next_token}",
            file=sys.stderr,
        )
    return 0


def _table(page: ViewPage) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{page.total} file(s)")
    for column in ("id", "file_name", "type", "data types", "data time", "countries", "workspace"):
        table.add_column(column, overflow="fold")
    for r in page.records:
        start = r.data_started.isoformat() if r.data_started else ""
        end = r.data_ended.isoformat() if r.data_ended else ""
        table.add_row(
            r.id,
            r.file_name,
            r.file_type,
            ", ".join(r.data_type_tags),
            f"{start} .. {end}" if end and end != start else start,
            ", ".join(r.countries),
            r.workspace.name,
        )
    Console(width=160).print(table)
