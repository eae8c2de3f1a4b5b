"""``seedpipe scan``: ingest the files already in a workspace or bucket (Scale's Scan)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from seedpipe.cli.common import add_config, load_settings
from seedpipe.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("workspace", help="the configured workspace to scan")
    parser.add_argument("--recursive", "-r", action="store_true", help="descend into folders")
    parser.add_argument("--dry-run", action="store_true", help="list what would be ingested")


async def _publish(settings: Settings, ledger_path: Path) -> str:
    from ingest.ledger import Ledger
    from ingest.outbox import Outbox
    from ingest.service import ledger_lock
    from seedpipe.bus import open_bus
    from seedpipe.errors import IngestError
    from seedpipe.events import FILES_TOPIC

    try:
        with ledger_lock(ledger_path):
            ledger = Ledger(ledger_path)
            try:
                async with open_bus(settings.bus) as bus:
                    outbox = Outbox(ledger, bus, settings.bus)
                    await outbox.settle_inflight(settings.topic(FILES_TOPIC))
                    while await outbox.publish_batch():
                        pass
            finally:
                ledger.close()
    except IngestError:
        return "the running ingest service publishes the events"
    return "events published"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from ingest.ledger import Ledger
    from ingest.scan import scan_workspace

    settings = load_settings(args)
    path = settings.path("ingest.db")
    console = Console(stderr=True)
    ledger = Ledger(path)
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"scanning {args.workspace}", total=None)
            report = scan_workspace(
                settings,
                args.workspace,
                ledger,
                recursive=args.recursive,
                dry_run=args.dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    finally:
        ledger.close()
    if args.dry_run:
        for file_path, types in report.planned:
            print(f"would ingest {file_path!r} data_types={types}")
    for file_path, reason in report.errors:
        console.print(f"error: {file_path!r}: {reason}", markup=False)
    note = ""
    if report.ingested:
        note = "; " + asyncio.run(_publish(settings, path))
    print(
        f"{report.found} found, {report.ingested} ingested, {report.known} already known, "
        f"{report.unmatched} matched no rule, {report.errored} errored"
        + (f", {len(report.planned)} would be ingested (dry run)" if args.dry_run else "")
        + note
    )
    return 1 if report.errored else 0
