"""``seedpipe manifest validate PATH``: check a seed.manifest.json against Seed 1.0.0."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    validate = sub.add_parser("validate", help="validate manifests; list every problem")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="seed.manifest.json files")
    validate.add_argument("--json", action="store_true", help="print problems as JSON lines")


def run(args: argparse.Namespace) -> int:
    from capture.seed import read_json, validate_manifest
    from seedpipe.errors import ManifestError

    failed = False
    for path in args.paths:
        try:
            problems = [(p.json_path, p.message) for p in validate_manifest(read_json(path))]
        except ManifestError as exc:
            problems = exc.problems or [("$", str(exc))]
        failed = failed or bool(problems)
        for json_path, message in problems:
            if args.json:
                print(json.dumps({"file": path, "json_path": json_path, "message": message}))
            else:
                print(f"{path}: {json_path}: {message}")
        if not problems and not args.json:
            print(f"{path}: valid Seed 1.0.0 manifest")
    sys.stdout.flush()
    return 1 if failed else 0
