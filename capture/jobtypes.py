"""Job types: a validated Seed manifest plus how to run it, where products go and how often."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedpipe.errors import ConfigError, ManifestError
from seedpipe.settings import JobTypeSettings, Settings

# Seed leaves resources optional; a job that names none is charged this much.
DEFAULT_CPUS = 1.0
DEFAULT_MEM_MIB = 0.0


@dataclass(frozen=True)
class FileInput:
    name: str
    required: bool
    multiple: bool
    media_types: tuple[str, ...]


@dataclass
class JobType:
    """A configured job type; ``manifest`` is the runner's validated SeedManifest."""

    settings: JobTypeSettings
    manifest: Any
    raw: dict[str, Any]
    name: str
    version: str
    title: str
    inputs: dict[str, FileInput] = field(default_factory=dict)
    cpus: float = DEFAULT_CPUS
    mem_mib: float = DEFAULT_MEM_MIB
    timeout_s: float | None = None

    @property
    def entrypoint(self) -> str | None:
        return self.settings.entrypoint

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (secret setting values never included)."""
        s = self.settings
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "manifest": s.manifest,
            "runtime": s.runtime,
            "entrypoint": s.entrypoint,
            "image": s.image,
            "output_workspace": s.output_workspace,
            "max_concurrent": s.max_concurrent,
            "max_attempts": s.max_attempts,
            "cpus": self.cpus,
            "mem_mib": self.mem_mib,
            "timeout_s": self.timeout_s,
            "inputs": {
                i.name: {
                    "required": i.required,
                    "multiple": i.multiple,
                    "media_types": list(i.media_types),
                }
                for i in self.inputs.values()
            },
            "settings": sorted(s.settings),
            "mounts": dict(s.mounts),
            "sandbox": s.sandbox,
        }


def _read_manifest(path: Path, where: str) -> tuple[Any, dict[str, Any]]:
    from capture.seed import load_manifest

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}.manifest: {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}.manifest: {path} is not readable JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}.manifest: {path} must hold a JSON object")
    try:
        manifest = load_manifest(raw)
    except ManifestError as exc:
        problems = "; ".join(f"{p}: {m}" for p, m in exc.problems) or str(exc)
        raise ConfigError(
            f"{where}.manifest: {path} is not a valid Seed manifest: {problems}"
        ) from exc
    return manifest, raw


def _scalar_resources(job: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in (job.get("resources") or {}).get("scalar") or []:
        if isinstance(item, dict) and isinstance(item.get("value"), int | float):
            out[str(item.get("name"))] = float(item["value"])
    return out


def load_job_type(jt: JobTypeSettings, config_dir: str | Path = ".") -> JobType:
    """Read and validate one job type's manifest; ConfigError naming the job type on problems."""
    where = f"job_types[{jt.name}]"
    manifest, raw = _read_manifest(Path(jt.manifest), where)
    job = raw.get("job") or {}
    if job.get("name") != jt.name:
        raise ConfigError(
            f"{where}.name: the manifest names the job {job.get('name')!r}; use that name"
        )
    if jt.runtime == "process" and not jt.entrypoint:
        raise ConfigError(f"{where}.entrypoint: the process runtime needs an entrypoint")
    if jt.runtime == "docker" and not jt.image:
        raise ConfigError(f"{where}.image: the docker runtime needs an image")
    if jt.entrypoint:
        try:
            shlex.split(jt.entrypoint)
        except ValueError as exc:
            raise ConfigError(f"{where}.entrypoint: {exc}") from exc
        if jt.runtime == "process":
            problem = missing_program(jt.entrypoint, Path(config_dir))
            if problem:
                raise ConfigError(f"{where}.entrypoint: {problem}")
    if jt.sandbox:
        from capture.runtimes.sandbox import unusable

        if jt.runtime != "process":
            raise ConfigError(f"{where}.sandbox: only the process runtime has a sandbox")
        why = unusable()
        if why:
            raise ConfigError(f"{where}.sandbox: {why}")
    interface = job.get("interface") or {}
    inputs = {
        f["name"]: FileInput(
            name=f["name"],
            required=bool(f.get("required", True)),
            multiple=bool(f.get("multiple", False)),
            media_types=tuple(f.get("mediaTypes") or ()),
        )
        for f in (interface.get("inputs") or {}).get("files") or []
    }
    declared = {s.get("name") for s in interface.get("settings") or []}
    unknown = sorted(set(jt.settings) - declared)
    if unknown:
        raise ConfigError(f"{where}.settings: the manifest declares no setting {unknown[0]!r}")
    res = _scalar_resources(job)
    timeout = job.get("timeout")
    return JobType(
        settings=jt,
        manifest=manifest,
        raw=raw,
        name=jt.name,
        version=str(job.get("jobVersion")),
        title=str(job.get("title") or jt.name),
        inputs=inputs,
        cpus=res.get("cpus", DEFAULT_CPUS),
        mem_mib=res.get("mem", DEFAULT_MEM_MIB),
        timeout_s=float(timeout) if isinstance(timeout, int | float) else None,
    )


def load_job_types(settings: Settings) -> dict[str, JobType]:
    """Every configured job type by name, manifests validated."""
    out: dict[str, JobType] = {}
    for jt in settings.job_types:
        if jt.name in out:
            raise ConfigError(f"job_types[{jt.name}]: configured twice")
        out[jt.name] = load_job_type(jt, settings.config_dir)
    return out


def entrypoint_command(jt: JobTypeSettings, config_dir: str | Path) -> str | None:
    """The job type's entrypoint resolved against the config directory (see resolve_entrypoint)."""
    return resolve_entrypoint(jt.entrypoint, Path(config_dir)) if jt.entrypoint else None


def missing_program(entrypoint: str, base: Path) -> str | None:
    """Why the entrypoint cannot start (its program, or the script given to an interpreter, does
    not exist or cannot be executed), or None; checked at start-up, not at the first job."""
    argv = shlex.split(resolve_entrypoint(entrypoint, base))
    if not argv or argv[0].startswith("$"):
        return None
    program = argv[0]
    if "/" in program:
        if not Path(program).is_file():
            return f"the program {program!r} does not exist"
        if not os.access(program, os.X_OK):
            return f"the program {program!r} is not executable"
    elif shutil.which(program) is None:
        return f"the program {program!r} is not on PATH"
    interpreter = Path(program).name
    if interpreter.startswith(("python", "bash", "sh")) and len(argv) > 1:
        script = argv[1]
        if not script.startswith(("-", "$")) and not Path(script).is_absolute():
            return f"the script {script!r} does not exist (relative to {base})"
        if not script.startswith(("-", "$")) and not Path(script).is_file():
            return f"the script {script!r} does not exist"
    return None


def resolve_entrypoint(entrypoint: str, base: Path) -> str:
    """The entrypoint with relative script paths made absolute against ``base``.

    ``python watermark.py`` in examples/watermark/seedpipe.toml then runs from any cwd, and a
    bare ``python``/``python3`` is this interpreter, so the job sees the same installed packages.
    """
    out = []
    for i, part in enumerate(shlex.split(entrypoint)):
        if i == 0 and part in ("python", "python3"):
            part = sys.executable
        elif not Path(part).is_absolute() and not part.startswith("$"):
            candidate = base / part
            if candidate.is_file():
                part = str(candidate.resolve())
        out.append(part)
    return shlex.join(out)
