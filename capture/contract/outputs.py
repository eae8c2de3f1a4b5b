"""Output capture: glob matches confined to OUTPUT_DIR, and JSON outputs from seed.outputs.json."""

from __future__ import annotations

import glob
import os
from pathlib import Path, PurePosixPath
from typing import Any

from capture.contract.sidecars import SUFFIX, read_json_file
from capture.seed.models import JsonType, OutputFile, SeedManifest
from seedpipe.errors import InvalidInput, PathEscapeError

OUTPUTS_JSON = "seed.outputs.json"
MAX_OUTPUTS_JSON_BYTES = 16 * 1024 * 1024

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def check_pattern(pattern: str, where: str) -> str:
    """Refuse patterns that could reach outside OUTPUT_DIR or recurse."""
    if not pattern or pattern.startswith(("/", "\\")) or "\x00" in pattern:
        raise PathEscapeError(f"{pattern!r} must be a relative glob", field=where)
    if ".." in PurePosixPath(pattern.replace("\\", "/")).parts:
        raise PathEscapeError(f"{pattern!r} climbs out of OUTPUT_DIR with '..'", field=where)
    if "**" in pattern:
        raise InvalidInput(f"{pattern!r}: recursive globs are not supported", field=where)
    return pattern


def _excluded(rel: str) -> bool:
    return rel.endswith(SUFFIX) or rel == OUTPUTS_JSON


def match_output(output: OutputFile, output_dir: Path) -> list[str]:
    """Paths (relative to ``output_dir``) of regular files the output's pattern matches.

    A match that is a symlink resolving outside ``output_dir`` raises PathEscapeError rather
    than being silently captured or skipped.
    """
    where = f"outputs.{output.name}.pattern"
    pattern = check_pattern(output.pattern, where)
    root = os.path.realpath(output_dir)
    found: list[str] = []
    for rel in sorted(glob.glob(pattern, root_dir=root, recursive=False)):
        if _excluded(rel):
            continue
        real = os.path.realpath(os.path.join(root, rel))
        if os.path.commonpath([root, real]) != root:
            raise PathEscapeError(f"{rel!r} resolves outside OUTPUT_DIR", field=where)
        if os.path.isfile(real):
            found.append(rel)
    return found


def json_type_ok(value: Any, kind: JsonType) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[kind])


def json_outputs(manifest: SeedManifest, output_dir: Path) -> dict[str, Any]:
    """The manifest's JSON outputs read from ``seed.outputs.json``, type-checked."""
    specs = manifest.job.interface.outputs.json_
    if not specs:
        return {}
    path = output_dir / OUTPUTS_JSON
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InvalidInput("must be a regular file", field=OUTPUTS_JSON)
    if not path.exists():
        missing = [s.name for s in specs if s.required]
        if missing:
            raise InvalidInput(f"is missing; required JSON outputs {missing}", field=OUTPUTS_JSON)
        return {}
    data = read_json_file(path, OUTPUTS_JSON, MAX_OUTPUTS_JSON_BYTES)
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field=OUTPUTS_JSON)
    out: dict[str, Any] = {}
    for spec in specs:
        where = f"{OUTPUTS_JSON}: {spec.member}"
        if spec.member not in data:
            if spec.required:
                raise InvalidInput(f"required by JSON output {spec.name!r}", field=where)
            continue
        value = data[spec.member]
        if not json_type_ok(value, spec.type):
            raise InvalidInput(f"must be of JSON type {spec.type}", field=where)
        out[spec.name] = int(value) if spec.type == "integer" else value
    return out
