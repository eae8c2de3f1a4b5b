"""``seedpipe subscriptions``: add, list and remove saved searches."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from typing import TYPE_CHECKING, Any

from seedpipe.cli.common import add_config, load_settings
from seedpipe.cli.filters import add_filter_arguments, query_from_args
from seedpipe.errors import InvalidInput

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="save a search; matching new records are announced")
    add_config(add, required=True)
    add.add_argument("name", help="a human name for the saved search")
    add.add_argument("--sub-id", help="the id to give it (default: a new random id)")
    add_filter_arguments(add)
    ls = sub.add_parser("list", help="list saved searches")
    add_config(ls, required=True)
    ls.add_argument("--format", choices=["json", "table"], default="table")
    rm = sub.add_parser("remove", help="forget a saved search")
    add_config(rm, required=True)
    rm.add_argument("sub_id", metavar="ID")


async def _with_index(settings: Settings, action: Any) -> Any:
    from indexer.backends import open_index

    async with open_index(settings.index) as index:
        return await action(index)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from indexer.backends.base import Subscription

    settings = load_settings(args)
    if args.action == "add":
        query = query_from_args(args)
        try:
            sub = Subscription(id=args.sub_id or uuid.uuid4().hex[:16], name=args.name, query=query)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = {"id": "--sub-id"}.get(str(err["loc"][0]), str(err["loc"][0]))
            raise InvalidInput(err["msg"], field=field) from exc

        async def add(index: FileIndex) -> None:
            await index.add_subscription(sub)

        asyncio.run(_with_index(settings, add))
        print(sub.id)
        return 0
    if args.action == "list":

        async def listing(index: FileIndex) -> list[Subscription]:
            return await index.list_subscriptions()

        subs: list[Subscription] = asyncio.run(_with_index(settings, listing))
        if args.format == "json":
            json.dump([s.model_dump(mode="json") for s in subs], sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            _table(subs)
        return 0

    async def remove(index: FileIndex) -> bool:
        return await index.remove_subscription(args.sub_id)

    if not asyncio.run(_with_index(settings, remove)):
        print(f"seedpipe subscriptions: no saved search {args.sub_id!r}", file=sys.stderr)
        return 1
    return 0


def _table(subs: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(subs)} saved search(es)")
    for column in ("id", "name", "query"):
        table.add_column(column, overflow="fold")
    for s in subs:
        body = s.query.model_dump(mode="json", exclude_defaults=True, exclude={"limit"})
        table.add_row(s.id, s.name, json.dumps(body))
    Console(width=160).print(table)
