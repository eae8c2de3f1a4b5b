"""``seedpipe recipes list|show ID|start TYPE|retry ID``: recipes and their nodes."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import InvalidInput

STATUSES = ("running", "completed", "failed", "canceled")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="list recipes, oldest first")
    add_config(ls, required=True)
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--recipe-type", metavar="NAME")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--format", choices=["table", "json"], default="table")
    show = sub.add_parser("show", help="show one recipe: each node's state, job, products")
    add_config(show, required=True)
    show.add_argument("id")
    start = sub.add_parser("start", help="start a recipe with explicit inputs")
    add_config(start, required=True)
    start.add_argument("recipe_type", metavar="TYPE")
    start.add_argument(
        "-i", "--input", action="append", default=[], metavar="NAME=FILE_ID",
        help="a file input by catalogue id (repeat for several files)",
    )  # fmt: skip
    start.add_argument(
        "-j", "--json", action="append", default=[], metavar="NAME=JSON",
        help="a JSON input",
    )  # fmt: skip
    retry = sub.add_parser("retry", help="rerun a failed recipe's failed nodes")
    add_config(retry, required=True)
    retry.add_argument("id")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def parse_pairs(files: list[str], values: list[str]) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """``NAME=FILE_ID`` and ``NAME=JSON`` options; InvalidInput naming the option."""
    ids: dict[str, list[str]] = {}
    for item in files:
        name, sep, fid = item.partition("=")
        if not sep or not name or not fid:
            raise InvalidInput(f"{item!r} is not NAME=FILE_ID", field="--input")
        ids.setdefault(name, []).append(fid)
    json_inputs: dict[str, Any] = {}
    for item in values:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise InvalidInput(f"{item!r} is not NAME=JSON", field="--json")
        try:
            json_inputs[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not JSON: {exc.msg}", field=f"--json {name}") from exc
    return ids, json_inputs


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.action == "start":
        return asyncio.run(_start(settings, args))
    from capture.jobs import JobStore
    from capture.recipes.api import recipe_detail
    from capture.recipes.retry import retry_recipe
    from capture.recipes.store import RecipeStore

    store = RecipeStore(settings.path("recipes.db"))
    jobs = JobStore(settings.path("jobs.db"))
    try:
        if args.action == "show":
            detail = recipe_detail(store, jobs, args.id)
            if detail is None:
                store.require(args.id)  # raises the "no recipe" error
            print(json.dumps(detail, indent=2, default=str))
            return 0
        if args.action == "retry":
            names = retry_recipe(store, jobs, args.id)
            print(f"recipe {args.id}: rerunning {', '.join(names) or 'nothing'}")
            return 0
        found = store.search(status=args.status, recipe_type=args.recipe_type, limit=args.limit)
        if args.format == "json":
            print(json.dumps([r.to_dict() for r in found], indent=2, default=str))
            return 0
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "recipe type", "status", "created", "nodes")
        for r in found:
            nodes = store.nodes(r.id)
            table.add_row(
                r.id,
                r.recipe_type,
                r.status,
                _when(r.created),
                ", ".join(f"{n}:{s.state}" for n, s in nodes.items()),
            )
        Console().print(table)
        return 0
    finally:
        store.close()
        jobs.close()


async def _start(settings: Any, args: argparse.Namespace) -> int:
    from capture.recipes.offline import open_engine
    from capture.recipes.starts import start_with_ids

    ids, json_inputs = parse_pairs(args.input, args.json)
    async with open_engine(settings) as (engine, index):
        recipe, created = await start_with_ids(engine, index, args.recipe_type, ids, json_inputs)
    print(json.dumps({**recipe.to_dict(), "created": created}, indent=2, default=str))
    return 0
