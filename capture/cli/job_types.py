"""``seedpipe job-types list|show NAME|revisions NAME``: the configured job types."""

from __future__ import annotations

import argparse
import json
from typing import Any

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="list job types")
    add_config(ls, required=True)
    ls.add_argument("--format", choices=["table", "json"], default="table")
    show = sub.add_parser("show", help="show one job type and its manifest")
    add_config(show, required=True)
    show.add_argument("name")
    revs = sub.add_parser("revisions", help="list a job type's revisions and what changed")
    add_config(revs, required=True)
    revs.add_argument("name")
    revs.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace) -> int:
    from capture.jobtypes import load_job_types

    settings = load_settings(args)
    job_types = load_job_types(settings)
    if args.action == "revisions":
        return _revisions(settings.path("jobs.db"), job_types, args)
    if args.action == "show":
        jt = job_types.get(args.name)
        if jt is None:
            known = ", ".join(sorted(job_types)) or "none configured"
            raise ConfigError(f"no job type {args.name!r} (known: {known})")
        print(json.dumps({**jt.summary(), "manifest_json": jt.raw}, indent=2))
        return 0
    if args.format == "json":
        print(json.dumps([jt.summary() for jt in job_types.values()], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "runtime", "output workspace", "max concurrent", "inputs")
    for jt in job_types.values():
        table.add_row(
            jt.name,
            jt.version,
            jt.settings.runtime,
            jt.settings.output_workspace,
            str(jt.settings.max_concurrent),
            ", ".join(jt.inputs),
        )
    Console().print(table)
    return 0


def _revisions(path: Any, job_types: dict[str, Any], args: argparse.Namespace) -> int:
    """Registers the configured job type as it is now (as the service would), then lists."""
    from datetime import UTC, datetime

    from capture.revisions import RevisionStore

    store = RevisionStore(path)
    try:
        jt = job_types.get(args.name)
        if jt is not None:
            store.register(jt)
        revisions = store.list(args.name)
    finally:
        store.close()
    if not revisions:
        known = ", ".join(sorted(job_types)) or "none configured"
        raise ConfigError(f"name: no job type {args.name!r} (known: {known})")
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in revisions], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("revision", "job version", "created", "hash", "changed")
    for r in revisions:
        created = datetime.fromtimestamp(r.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(r.revision), r.job_version, created, r.hash[:12], ", ".join(r.changed))
    Console().print(table)
    return 0
