"""Run one Seed job under Scale's input/output contract and capture what it produced.

Public API (the capture service calls this; keep it stable)::

    result = await run_job(JobSpec(manifest=..., job_dir=Path(...), inputs={...}, ...))
    result.status          # "COMPLETED" | "FAILED"
    result.exit_code       # int | None (None: never ran to an exit, e.g. timeout)
    result.error           # JobErrorInfo | None: code, name, title, description,
                           #   category "data" | "job" | "system" (only system is retryable)
    result.outputs         # {OUTPUT_NAME: [FileRecord (PRODUCT, file_path relative to output)]}
    result.json_outputs    # {JSON_OUTPUT_NAME: value} from seed.outputs.json
    result.input_metadata  # {INPUT_NAME: change} from $OUTPUT_DIR/<INPUT_NAME>.metadata.json
    result.input_records   # {INPUT_NAME: [FileRecord with that change applied, version + 1]}
    result.log_path        # the job's captured stdout + stderr
    result.to_json()       # the document ``seedpipe job run`` prints

``run_job`` raises ``InvalidInput`` (every problem listed) before anything runs when the request
does not fit the manifest: required inputs missing, unknown names, wrong JSON types. Everything
after that is reported in the result, never raised; nothing the job wrote is deleted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shlex
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from capture.contract import job_errors
from capture.contract.collect import CaptureFailed, collect
from capture.contract.environment import allocated, build_env
from capture.contract.fit import vertex_budget
from capture.contract.job_errors import JobErrorInfo
from capture.contract.outputs import json_type_ok
from capture.contract.staging import READ_ONLY, Staged, StagedInput, stage_inputs
from capture.runtimes import LaunchError, MountSpec, RunPlan, Runtime, get_runtime
from capture.runtimes.joblog import DEFAULT_MAX_BYTES
from capture.runtimes.lifeline import Started
from capture.seed.command import expand_command
from capture.seed.models import SeedManifest
from seedpipe.errors import InvalidInput
from seedpipe.events import MAX_EVENT_BYTES
from seedpipe.records import FileRecord

log = logging.getLogger(__name__)

INPUT_METADATA_FILE = "input_metadata.json"
LOG_FILE = "job.log"
Status = Literal["COMPLETED", "FAILED"]

__all__ = ["JobResult", "JobSpec", "StagedInput", "run_job"]


@dataclass
class JobSpec:
    """One job to run. Paths are host paths; ``settings`` values may be SecretStr."""

    manifest: SeedManifest
    job_dir: Path
    output_dir: Path | None = None
    inputs: dict[str, list[StagedInput]] = field(default_factory=dict)
    json_inputs: dict[str, Any] = field(default_factory=dict)
    settings: Mapping[str, str | SecretStr] = field(default_factory=dict, repr=False)
    mounts: dict[str, str] = field(default_factory=dict)
    runtime: Literal["process", "docker"] = "process"
    entrypoint: str | None = None
    image: str | None = None
    recipe_metadata: dict[str, Any] | None = None
    job_id: str | None = None
    resources: dict[str, float] | None = None
    workspace: str = "local"
    workdir: Path | None = None  # process runtime's working directory (default: output dir)
    log_max_bytes: int = DEFAULT_MAX_BYTES  # of job.log per run; the rest is left out
    max_event_bytes: int = MAX_EVENT_BYTES  # product geometries are simplified to fit one
    on_start: Callable[[Started], None] | None = field(default=None, repr=False)
    sandbox: bool = False  # process runtime only: run the job inside bubblewrap
    sandbox_hide: tuple[Path, ...] = ()  # directories a sandboxed job does not see


@dataclass
class JobResult:
    status: Status
    exit_code: int | None
    error: JobErrorInfo | None
    duration_s: float
    job_id: str
    job_dir: Path
    output_dir: Path
    log_path: Path | None
    outputs: dict[str, list[FileRecord]] = field(default_factory=dict)
    json_outputs: dict[str, Any] = field(default_factory=dict)
    input_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    input_records: dict[str, list[FileRecord]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "COMPLETED"

    def to_json(self) -> dict[str, Any]:
        """The document ``seedpipe job run`` prints."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "error": self.error.model_dump() if self.error else None,
            "outputs": {k: [r.to_scale() for r in v] for k, v in self.outputs.items()},
            "json_outputs": self.json_outputs,
            "input_metadata": self.input_metadata,
            "duration_s": round(self.duration_s, 6),
        }


def _secret(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def check_request(spec: JobSpec) -> None:
    """Refuse a request that does not fit the manifest, listing every problem at once."""
    m, problems = spec.manifest, []
    for name, items in spec.inputs.items():
        declared = m.input_file(name)
        if declared is None:
            problems.append(f"inputs.{name}: the manifest declares no such file input")
        elif len(items) > 1 and not declared.multiple:
            problems.append(f"inputs.{name}: takes one file, {len(items)} given")
    for f in m.job.interface.inputs.files:
        if f.required and not spec.inputs.get(f.name):
            problems.append(f"inputs.{f.name}: required file input is missing")
    for name, value in spec.json_inputs.items():
        jdecl = m.input_json(name)
        if jdecl is None:
            problems.append(f"json_inputs.{name}: the manifest declares no such JSON input")
        elif not json_type_ok(value, jdecl.type):
            problems.append(f"json_inputs.{name}: must be of JSON type {jdecl.type}")
    for j in m.job.interface.inputs.json_:
        if j.required and j.name not in spec.json_inputs:
            problems.append(f"json_inputs.{j.name}: required JSON input is missing")
    problems += [
        f"settings.{name}: the manifest declares no such setting"
        for name in spec.settings
        if m.setting(name) is None
    ]
    for name, host in spec.mounts.items():
        if m.mount(name) is None:
            problems.append(f"mounts.{name}: the manifest declares no such mount")
        elif not Path(host).is_dir():
            problems.append(f"mounts.{name}: {host!r} is not a directory")
    if problems:
        raise InvalidInput("; ".join(problems), field="job request")


def _write_input_metadata(
    path: Path,
    records: dict[str, list[FileRecord]],
    json_inputs: Mapping[str, Any],
    recipe: dict[str, Any] | None,
) -> None:
    # As Scale's pre-steps write it: each input name -> its JSON value or its file records.
    job: dict[str, Any] = {k: [r.to_scale() for r in v] for k, v in records.items()}
    job.update(json_inputs)
    doc = {"JOB": job, "RECIPE": recipe or {}}
    path.unlink(missing_ok=True)  # a rerun in the same job dir finds it read-only
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.chmod(path, READ_ONLY)


def _plan(spec: JobSpec, runtime: Runtime, staged: Staged, job_id: str, out: Path) -> RunPlan:
    m = spec.manifest
    input_dir = spec.job_dir / "input_data"
    metadata_path = input_dir / INPUT_METADATA_FILE
    _write_input_metadata(metadata_path, staged.records, spec.json_inputs, spec.recipe_metadata)
    file_env = {}
    for name, paths in staged.paths.items():
        declared = m.input_file(name)
        accepted = set(declared.mediaTypes) if declared else set()
        for record in staged.records[name]:
            if accepted and record.media_type not in accepted:
                # Seed: mediaTypes are advisory; an executor may only warn.
                log.warning(
                    "input %s: %s is %s, not one of %s",
                    name,
                    record.file_name,
                    record.media_type,
                    sorted(accepted),
                )
        target = paths[0].parent if declared and declared.multiple else paths[0]
        file_env[name] = runtime.container_path(target, input_dir)
    resources = allocated(m, staged.total_mib, spec.resources)
    env = build_env(
        m,
        file_inputs=file_env,
        json_inputs=spec.json_inputs,
        settings={k: _secret(v) for k, v in spec.settings.items()},
        resources=resources,
        output_dir=runtime.output_path(out),
        input_metadata=runtime.container_path(metadata_path, input_dir),
    )
    command = expand_command(m.job.interface.command or "", env)
    mounts = [
        MountSpec(name, Path(host).resolve(), decl.path, decl.mode)
        for name, host in spec.mounts.items()
        if (decl := m.mount(name)) is not None
    ]
    return RunPlan(
        name=f"seedpipe-{m.job.name}-{job_id[:12]}",
        command=command,
        entrypoint=shlex.split(spec.entrypoint) if spec.entrypoint else [],
        env=env,
        input_dir=input_dir,
        output_dir=out,
        log_path=spec.job_dir / LOG_FILE,
        timeout_s=float(m.job.timeout),
        resources=resources,
        mounts=mounts,
        image=spec.image,
        cwd=spec.workdir,
        log_max_bytes=spec.log_max_bytes,
        on_start=spec.on_start,
        sandbox=spec.sandbox,
        sandbox_hide=spec.sandbox_hide,
    )


async def run_job(spec: JobSpec) -> JobResult:
    """Stage, run and capture one job; see the module docstring for the contract."""
    check_request(spec)
    job_id = spec.job_id or uuid.uuid4().hex
    # Seed wants absolute paths in the job's environment; the caller's spec stays untouched.
    job_dir = spec.job_dir.resolve()
    out = (spec.output_dir or job_dir / "output_data").resolve()
    spec = dataclasses.replace(spec, job_id=job_id, job_dir=job_dir, output_dir=out)
    job_dir.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        log.warning("output dir %s is not empty; old files may be captured", out)
    started = time.monotonic()
    result = JobResult("FAILED", None, None, 0.0, job_id, spec.job_dir, out, None)
    runtime = get_runtime(spec.runtime)
    try:
        staged = stage_inputs(spec.inputs, spec.job_dir / "input_data")
        plan = _plan(spec, runtime, staged, job_id, out)
    except OSError as exc:
        # Disk full, permissions: the host's fault, so a system error worth retrying.
        why = f"could not stage the job in {spec.job_dir}: {exc}"
        result.error = job_errors.system("staging-failed", "Staging Failed", why)
        return _done(result, started)
    result.log_path = plan.log_path
    log.info(
        "job %s (%s %s) running: %s",
        job_id,
        spec.manifest.job.name,
        spec.manifest.job.jobVersion,
        plan.name,
    )
    try:
        outcome = await runtime.run(plan)
    except LaunchError as exc:
        result.error = job_errors.system("launch-failed", "Job Launch Failed", str(exc))
        return _done(result, started)
    result.exit_code = outcome.exit_code
    if outcome.timed_out:
        result.error = job_errors.timeout(plan.timeout_s)
    elif outcome.exit_code:
        result.error = job_errors.from_exit_code(spec.manifest, outcome.exit_code)
    else:
        try:
            # In a thread: a 16 MiB sidecar takes seconds to parse, the loop has others to serve.
            got = await asyncio.to_thread(
                collect,
                spec.manifest,
                out,
                staged,
                job_id=job_id,
                workspace=spec.workspace,
                vertex_budget=vertex_budget(spec.max_event_bytes),
            )
        except CaptureFailed as exc:
            result.error = exc.error
        else:
            result.status = "COMPLETED"
            result.outputs, result.json_outputs = got.outputs, got.json_outputs
            result.input_metadata, result.input_records = got.input_metadata, got.input_records
    return _done(result, started)


def _done(result: JobResult, started: float) -> JobResult:
    result.duration_s = time.monotonic() - started
    if result.error:
        log.warning(
            "job %s failed: %s (%s)", result.job_id, result.error.name, result.error.category
        )
    else:
        log.info("job %s completed in %.3fs", result.job_id, result.duration_s)
    return result
