"""The ``seedpipe`` command: a thin dispatcher that imports only the subcommand it runs."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Sequence

from seedpipe import __version__

# name -> (module, one-line help). Modules define add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("composition.up", "run ingest, capture, indexer and the API in one process"),
    "manifest": ("capture.cli.manifest", "validate Seed manifests"),
    "job": ("capture.cli.job", "run one Seed job under Scale's input/output contract"),
    "job-types": ("capture.cli.job_types", "list and show job types and their revisions"),
    "jobs": ("capture.cli.jobs", "list, show, retry, cancel and requeue jobs"),
    "batches": ("capture.cli.batches", "rerun a job type over chosen files (Scale's batches)"),
    "files": ("capture.cli.files", "purge files and what was made from them"),
    "recipe-types": ("capture.cli.recipe_types", "list, show and validate recipe definitions"),
    "recipes": ("capture.cli.recipes", "list, show, start and retry recipes"),
    "capture": ("capture.cli.capture", "run the capture service (triggers -> Seed jobs)"),
    "ingest": ("ingest.cli.ingest", "run the strikes: watch drop folders and S3 prefixes"),
    "scan": ("ingest.cli.scan", "ingest the files already in a workspace (Scale's Scan)"),
    "ingests": ("ingest.cli.ingests", "list ingest records"),
    "indexer": ("indexer.cli.indexer", "run the indexer service"),
    "reindex": ("indexer.cli.reindex", "rebuild the file index from the event log"),
    "cluster": ("indexer.cli.cluster", "order the SQLite index's rows by place (area searches)"),
    "search": ("indexer.cli.search", "search file records by place, time and type"),
    "subscriptions": ("indexer.cli.subscriptions", "add, list and remove saved searches"),
    "api": ("composition.api", "serve the HTTP API (/files, /jobs, STAC /search)"),
    "events": ("seedpipe.cli.events", "tail or publish events"),
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _overview() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [
        "usage: seedpipe [--log-level LEVEL] [--log-format text|json] COMMAND ...",
        f"seedpipe {__version__}",
        "",
        "Event-driven ingest and metadata pipeline for geospatial and temporal files.",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'seedpipe COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    log_level = os.environ.get("SEEDPIPE_LOG_LEVEL", "INFO")
    log_format = os.environ.get("SEEDPIPE_LOG_FORMAT", "text")
    while args and args[0].startswith("--log-"):
        opt = args.pop(0)
        key, _, value = opt.partition("=")
        if not value:
            if not args:
                print(f"seedpipe: {key} needs a value", file=sys.stderr)
                return EXIT_USAGE
            value = args.pop(0)
        if key == "--log-level":
            log_level = value
        elif key == "--log-format":
            log_format = value
        else:
            print(f"seedpipe: unknown option {key}", file=sys.stderr)
            return EXIT_USAGE
    if not args or args[0] in ("-h", "--help", "help"):
        print(_overview())
        return EXIT_OK
    if args[0] in ("-V", "--version"):
        print(f"seedpipe {__version__}")
        return EXIT_OK
    name = args.pop(0)
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        print(f"seedpipe: unknown command {name!r}.{hint}\n\n{_overview()}", file=sys.stderr)
        return EXIT_USAGE
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    from seedpipe.cli.parser import CliParser

    parser = CliParser(prog=f"seedpipe {name}", description=help_)
    module.add_arguments(parser)
    ns = parser.parse_args(args)

    from seedpipe import log
    from seedpipe.errors import SeedpipeError

    log.configure(log_level, log_format)
    try:
        return int(module.run(ns))
    except SeedpipeError as exc:
        print(f"seedpipe {name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
