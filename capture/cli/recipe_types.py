"""``seedpipe recipe-types list|show NAME|validate FILE``: recipe definitions, validated."""

from __future__ import annotations

import argparse
import json

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="list recipe types")
    add_config(ls, required=True)
    ls.add_argument("--format", choices=["table", "json"], default="table")
    show = sub.add_parser("show", help="show one recipe type and its definition")
    add_config(show, required=True)
    show.add_argument("name")
    check = sub.add_parser(
        "validate",
        help="validate a definition file, against the configured job and recipe types when "
        "--config is given; every problem is printed with its JSON path",
    )
    add_config(check)
    check.add_argument("file")


def run(args: argparse.Namespace) -> int:
    from capture.jobtypes import load_job_types
    from capture.recipes.types import load_recipe_types

    if args.action == "validate":
        return _validate(args)
    settings = load_settings(args)
    recipe_types = load_recipe_types(settings, load_job_types(settings))
    if args.action == "show":
        rt = recipe_types.get(args.name)
        if rt is None:
            known = ", ".join(sorted(recipe_types)) or "none configured"
            raise ConfigError(f"no recipe type {args.name!r} (known: {known})")
        print(json.dumps(rt.detail(), indent=2))
        return 0
    if args.format == "json":
        print(json.dumps([rt.summary() for rt in recipe_types.values()], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "inputs", "nodes")
    for rt in recipe_types.values():
        d = rt.definition
        table.add_row(rt.name, d.version, ", ".join(d.input.names()), ", ".join(d.nodes))
    Console().print(table)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from capture.jobtypes import load_job_types
    from capture.recipes.definition import DefinitionError
    from capture.recipes.types import check_definitions, read_definition

    job_types = {}
    known = {}
    if args.config:
        settings = load_settings(args)
        job_types = load_job_types(settings)
        for rt in settings.recipe_types:
            try:
                known[rt.name] = read_definition(Path(rt.definition))
            except DefinitionError:
                continue  # its own problems are reported by `recipe-types list`
    try:
        definition = read_definition(Path(args.file))
    except DefinitionError as exc:
        problems = exc.problems
    else:
        name = Path(args.file).stem
        definitions = {**known, name: definition}
        problems = check_definitions(definitions, job_types).get(name, [])
    for path, message in problems:
        print(f"{args.file}: {path}: {message}")
    if problems:
        return 1
    print(f"{args.file}: valid recipe definition (version {definition.version})")
    return 0
