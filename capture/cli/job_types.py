"""``seedpipe job-types list|show NAME``: the configured job types, manifests validated."""

from __future__ import annotations

import argparse
import json

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


def run(args: argparse.Namespace) -> int:
    from capture.jobtypes import load_job_types

    job_types = load_job_types(load_settings(args))
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
