"""``seedpipe ingests list``: the ingest ledger, filtered by status and strike."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from seedpipe.cli.common import add_config, load_settings

STATUSES = (
    "TRANSFERRING",
    "TRANSFERRED",
    "DEFERRED",
    "QUEUED",
    "INGESTING",
    "INGESTED",
    "ERRORED",
    "DUPLICATE",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="list ingests, newest first")
    add_config(ls)
    ls.add_argument("--status", choices=STATUSES, type=str.upper)
    ls.add_argument("--strike", metavar="NAME")
    ls.add_argument("--limit", type=int, default=100, metavar="N")
    ls.add_argument("--format", choices=("table", "json"), default="table")


def _time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def run(args: argparse.Namespace) -> int:
    from ingest.ledger import Ledger

    if args.limit < 1:
        print("seedpipe ingests: --limit must be at least 1", file=sys.stderr)
        return 2
    settings = load_settings(args)
    path = settings.path("ingest.db")
    if not path.exists():
        rows = []
    else:
        ledger = Ledger(path)
        try:
            rows = ledger.find(status=args.status, strike=args.strike, limit=args.limit)
        finally:
            ledger.close()
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "strike", "status", "source", "target", "bytes", "ingested", "reason")
    for r in rows:
        target = f"{r.workspace}/{r.file_path}" if r.workspace and r.file_path else ""
        table.add_row(
            str(r.id),
            r.strike,
            str(r.status),
            repr(r.source)[1:-1],  # a newline in a name must not break the table
            repr(target)[1:-1],
            str(r.bytes),
            _time(r.ingest_ended),
            r.reason or "",
        )
    Console().print(table)
    return 0
