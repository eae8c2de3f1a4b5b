"""The job's environment: Seed variable injection, JSON values, ``ALLOCATED_*``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from capture.seed.models import SeedManifest
from capture.seed.validate import normalize


def json_env_value(value: Any) -> str:
    """Strings raw, everything else as compact JSON (Seed: arrays and objects string-encoded)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def allocated(
    manifest: SeedManifest, input_mib: float, overrides: Mapping[str, float] | None
) -> dict[str, float]:
    """``{resource name: value + inputMultiplier * input MiB}``, overrides winning."""
    out: dict[str, float] = {}
    for scalar in manifest.job.resources.scalar:
        value = scalar.value + (scalar.inputMultiplier or 0.0) * input_mib
        out[scalar.name] = float(value)
    for name, value in (overrides or {}).items():
        out[name] = float(value)
    return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def build_env(
    manifest: SeedManifest,
    *,
    file_inputs: Mapping[str, str],
    json_inputs: Mapping[str, Any],
    settings: Mapping[str, str],
    resources: Mapping[str, float],
    output_dir: str,
    input_metadata: str,
) -> dict[str, str]:
    """The variables Seed requires; absent optional inputs stay unset, as the spec says."""
    env: dict[str, str] = {}
    for name, amount in resources.items():
        env["ALLOCATED_" + normalize(name)] = _number(amount)
    for name, path in file_inputs.items():
        env[normalize(name)] = path
    for name, value in json_inputs.items():
        env[normalize(name)] = json_env_value(value)
    for name, value in settings.items():
        env[normalize(name)] = value
    env["OUTPUT_DIR"] = output_dir
    env["INPUT_METADATA"] = input_metadata
    return env
