"""``seedpipe job run``: run one Seed job and print its result document as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_COMPLETED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("run", help="run a job; print its result JSON (exit 0 done, 1 failed)")
    p.add_argument(
        "manifest",
        nargs="?",
        metavar="MANIFEST",
        help="seed.manifest.json (omit with --runtime docker to read the image's label)",
    )
    p.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="OUTPUT_DIR")
    p.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a file input; repeat a NAME for a multiple input",
    )
    p.add_argument(
        "-j",
        "--json-input",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a JSON input (a string input also takes plain text)",
    )
    p.add_argument(
        "-e", "--setting", action="append", default=[], metavar="SETTING=VALUE",
        help="a setting from the manifest (secret ones are never printed)",
    )  # fmt: skip
    p.add_argument(
        "-m", "--mount", action="append", default=[], metavar="MOUNT=HOSTPATH",
        help="a host directory for a manifest mount (docker runtime)",
    )  # fmt: skip
    p.add_argument(
        "--entrypoint",
        metavar="'CMD ARGS'",
        help="put before the command; a bare 'python' is the interpreter running seedpipe",
    )
    p.add_argument("--runtime", choices=["process", "docker"], default="process")
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="process runtime: run the job in bubblewrap (job dir read-write, the rest read-only)",
    )
    p.add_argument("--image", metavar="IMAGE", help="the Seed image (docker runtime)")
    p.add_argument(
        "--job-dir",
        metavar="DIR",
        help="where inputs are staged and job.log kept (default: a temporary dir)",
    )


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    from seedpipe.errors import InvalidInput

    out = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise InvalidInput(f"{value!r} is not NAME=VALUE", field=option)
        out.append((name, rest))
    return out


def _json_inputs(pairs: list[tuple[str, str]], manifest: Any) -> dict[str, Any]:
    from seedpipe.errors import InvalidInput

    out: dict[str, Any] = {}
    for name, text in pairs:
        decl = manifest.input_json(name)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if decl is None or decl.type != "string":
                raise InvalidInput(f"{text!r} is not JSON: {exc.msg}", field=f"-j {name}") from exc
            value = text
        if decl is not None and decl.type == "string" and not isinstance(value, str):
            value = text
        out[name] = value
    return out


def run(args: argparse.Namespace) -> int:
    import asyncio
    import shutil
    import tempfile

    from capture.contract.runner import JobSpec, StagedInput, run_job
    from capture.seed import load_manifest, manifest_from_image
    from seedpipe.errors import InvalidInput, ManifestError, SeedpipeError

    try:
        if args.manifest:
            manifest = load_manifest(args.manifest)
        elif args.runtime == "docker" and args.image:
            manifest = manifest_from_image(args.image)
        else:
            raise InvalidInput("give MANIFEST, or --runtime docker --image IMAGE", field="manifest")
        inputs: dict[str, list[StagedInput]] = {}
        for name, path in _pairs(args.input, "-i"):
            inputs.setdefault(name, []).append(StagedInput(Path(path)))
        spec_kwargs: dict[str, Any] = {
            "inputs": inputs,
            "json_inputs": _json_inputs(_pairs(args.json_input, "-j"), manifest),
            "settings": dict(_pairs(args.setting, "-e")),
            "mounts": dict(_pairs(args.mount, "-m")),
        }
    except ManifestError as exc:
        for json_path, message in exc.problems:
            print(f"seedpipe job: manifest: {json_path}: {message}", file=sys.stderr)
        if not exc.problems:
            print(f"seedpipe job: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SeedpipeError as exc:
        print(f"seedpipe job: {exc}", file=sys.stderr)
        return EXIT_USAGE
    temp = args.job_dir is None
    job_dir = Path(args.job_dir or tempfile.mkdtemp(prefix="seedpipe-job-"))
    try:
        spec = JobSpec(
            manifest=manifest,
            job_dir=job_dir,
            output_dir=Path(args.output_dir).resolve(),
            runtime=args.runtime,
            entrypoint=_entrypoint(args.entrypoint),
            image=args.image,
            sandbox=args.sandbox,
            **spec_kwargs,
        )
        if args.sandbox:
            from capture.runtimes.sandbox import unusable

            why = "only the process runtime has one" if args.runtime != "process" else unusable()
            if why:
                print(f"seedpipe job: --sandbox: {why}", file=sys.stderr)
                return EXIT_USAGE
        try:
            result = asyncio.run(run_job(spec))
        except InvalidInput as exc:
            print(f"seedpipe job: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not result.ok and result.log_path and result.log_path.exists():
            tail = result.log_path.read_bytes()[-4000:].decode("utf-8", "replace")
            print(f"--- job log ({result.log_path}) ---\n{tail}", file=sys.stderr)
        print(json.dumps(result.to_json(), indent=2))
        return EXIT_COMPLETED if result.ok else EXIT_FAILED
    finally:
        if temp:
            shutil.rmtree(job_dir, ignore_errors=True)


def _entrypoint(value: str | None) -> str | None:
    """Relative script paths against the cwd; ``python`` is this interpreter (same packages)."""
    if not value:
        return None
    from capture.jobtypes import resolve_entrypoint

    return resolve_entrypoint(value, Path.cwd())
