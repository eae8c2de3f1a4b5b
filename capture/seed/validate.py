"""Seed 1.0.0 manifest validation: the JSON schema's checks plus the rules it cannot express."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from pydantic import ValidationError

from capture.seed.command import expand_command
from capture.seed.models import SEMVER_PATTERN, SeedManifest
from seedpipe.errors import InvalidInput, ManifestError

# Environment variables the executor sets itself; a name normalizing to one of them would clash.
RESERVED_NAMES = frozenset({"OUTPUT_DIR", "INPUT_METADATA"})
MAX_MANIFEST_BYTES = 1024 * 1024


class Problem(NamedTuple):
    """One thing wrong with a manifest, at a JSON path such as ``$.job.interface.inputs``."""

    json_path: str
    message: str


def normalize(name: str) -> str:
    """Seed's environment variable normalization: upper-case, dashes become underscores."""
    return name.upper().replace("-", "_")


def _json_path(loc: tuple[int | str, ...]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _schema_problems(data: Any) -> tuple[SeedManifest | None, list[Problem]]:
    if not isinstance(data, Mapping):
        return None, [Problem("$", "the manifest must be a JSON object")]
    try:
        return SeedManifest.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            kind = err["type"]
            if kind == "missing":
                msg = "required member is missing"
            elif kind == "extra_forbidden":
                msg = "unknown member (Seed 1.0.0 allows no extra members here)"
            elif kind == "string_pattern_mismatch":
                pattern = err["ctx"]["pattern"]
                wanted = "a SemVer version like 1.0.0" if pattern == SEMVER_PATTERN else pattern
                msg = f"{err.get('input')!r} does not match {wanted}"
            else:
                msg = err["msg"]
            problems.append(Problem(_json_path(loc), msg))
        return None, problems


def _items(data: Any, *keys: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The dict elements of the array at ``keys`` (tolerating a schema-invalid manifest)."""
    node = data
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, list):
        return []
    return [(i, item) for i, item in enumerate(node) if isinstance(item, Mapping)]


def _rule_problems(data: Any) -> list[Problem]:
    if not isinstance(data, Mapping):
        return []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    groups = [
        ("$.job.interface.inputs.files", ("job", "interface", "inputs", "files"), ""),
        ("$.job.interface.inputs.json", ("job", "interface", "inputs", "json"), ""),
        ("$.job.interface.settings", ("job", "interface", "settings"), ""),
        ("$.job.interface.outputs.files", ("job", "interface", "outputs", "files"), ""),
        ("$.job.interface.outputs.json", ("job", "interface", "outputs", "json"), ""),
        ("$.job.resources.scalar", ("job", "resources", "scalar"), "ALLOCATED_"),
    ]
    for base, keys, prefix in groups:
        for i, item in _items(data, *keys):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            path = f"{base}[{i}].name"
            env = prefix + normalize(name)
            if env in RESERVED_NAMES:
                problems.append(Problem(path, f"{name!r} normalizes to the reserved {env}"))
            elif env in seen:
                problems.append(
                    Problem(path, f"{name!r} normalizes to {env}, already used at {seen[env]}")
                )
            else:
                seen[env] = path
    problems += _unique_within(data, "$.job.interface.mounts", ("job", "interface", "mounts"))
    problems += _unique_within(data, "$.job.errors", ("job", "errors"), key="code")
    for i, mount in _items(data, "job", "interface", "mounts"):
        mount_path = mount.get("path")
        if isinstance(mount_path, str) and not PurePosixPath(mount_path).is_absolute():
            problems.append(
                Problem(f"$.job.interface.mounts[{i}].path", f"{mount_path!r} must be absolute")
            )
    for i, output in _items(data, "job", "interface", "outputs", "files"):
        pattern = output.get("pattern")
        if not isinstance(pattern, str):
            continue
        where = f"$.job.interface.outputs.files[{i}].pattern"
        if not pattern.strip():
            problems.append(Problem(where, "the glob pattern is empty"))
        elif pattern.startswith("/") or ".." in PurePosixPath(pattern).parts:
            problems.append(
                Problem(where, f"{pattern!r} must stay inside OUTPUT_DIR (relative, no '..')")
            )
        elif "**" in pattern:
            problems.append(Problem(where, f"{pattern!r}: recursive globs are not supported"))
    job = data.get("job")
    interface = job.get("interface") if isinstance(job, Mapping) else None
    command = interface.get("command") if isinstance(interface, Mapping) else None
    if isinstance(command, str):
        try:
            expand_command(command, {})
        except InvalidInput as exc:
            problems.append(Problem("$.job.interface.command", str(exc).split(": ", 1)[-1]))
    timeout = job.get("timeout") if isinstance(job, Mapping) else None
    if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout <= 0:
        problems.append(Problem("$.job.timeout", "must be a positive number of seconds"))
    return problems


def _unique_within(data: Any, base: str, keys: tuple[str, ...], key: str = "name") -> list[Problem]:
    seen: dict[Any, int] = {}
    problems = []
    for i, item in _items(data, *keys):
        value = item.get(key)
        if value is None or isinstance(value, dict | list):
            continue
        if value in seen:
            problems.append(
                Problem(f"{base}[{i}].{key}", f"{value!r} repeats {base}[{seen[value]}]")
            )
        else:
            seen[value] = i
    return problems


def validate_manifest(data: Any) -> list[Problem]:
    """Every problem with a manifest (parsed JSON); an empty list means it is valid Seed 1.0.0."""
    _, problems = _schema_problems(data)
    return problems + _rule_problems(data)


def read_json(path: str | Path) -> Any:
    """Parse a manifest file, refusing huge or non-JSON files with a ManifestError."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{p}: larger than {MAX_MANIFEST_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{p}: cannot read the manifest: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems = [("$", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        raise ManifestError(f"{p}: not JSON: {exc}", problems) from exc


def load_manifest(source: str | Path | Mapping[str, Any]) -> SeedManifest:
    """A validated manifest from a file path or parsed JSON; ManifestError lists every problem."""
    data = source if isinstance(source, Mapping) else read_json(source)
    manifest, problems = _schema_problems(data)
    problems += _rule_problems(data)
    if problems or manifest is None:
        where = "" if isinstance(source, Mapping) else f"{source}: "
        listed = "; ".join(f"{p.json_path}: {p.message}" for p in problems)
        raise ManifestError(
            f"{where}invalid Seed 1.0.0 manifest: {listed}",
            [(p.json_path, p.message) for p in problems],
        )
    return manifest
