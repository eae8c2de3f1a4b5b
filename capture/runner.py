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

import json
import logging
import os
import shlex
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from capture import errors_map
from capture.environment import allocated, build_env, expand_command
from capture.errors_map import JobErrorInfo
from capture.outputs import json_outputs, json_type_ok, match_output
from capture.runtimes import LaunchError, MountSpec, RunPlan, Runtime, get_runtime
from capture.seed.models import SeedManifest
from capture.sidecars import SUFFIX, Sidecar, input_update, read_sidecar
from capture.staging import READ_ONLY, Staged, StagedInput, stage_inputs
from seedpipe.checksum import hash_file
from seedpipe.errors import InvalidInput, PathEscapeError
from seedpipe.records import FileRecord, JobTypeRef, WorkspaceRef, product_file_id

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
    settings: Mapping[str, str | SecretStr] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)
    runtime: Literal["process", "docker"] = "process"
    entrypoint: str | None = None
    image: str | None = None
    recipe_metadata: dict[str, Any] | None = None
    job_id: str | None = None
    resources: dict[str, float] | None = None
    workspace: str = "local"
    workdir: Path | None = None  # process runtime's working directory (default: output dir)


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


class _CaptureFailed(Exception):
    def __init__(self, error: JobErrorInfo) -> None:
        self.error = error
        super().__init__(error.description)


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
    path: Path, records: dict[str, list[FileRecord]], recipe: dict[str, Any] | None
) -> None:
    doc = {
        "JOB": {k: [r.to_scale() for r in v] for k, v in records.items()},
        "RECIPE": recipe or {},
    }
    path.unlink(missing_ok=True)  # a rerun in the same job dir finds it read-only
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.chmod(path, READ_ONLY)


def _plan(spec: JobSpec, runtime: Runtime, staged: Staged, job_id: str, out: Path) -> RunPlan:
    m = spec.manifest
    input_dir = spec.job_dir / "input_data"
    metadata_path = input_dir / INPUT_METADATA_FILE
    _write_input_metadata(metadata_path, staged.records, spec.recipe_metadata)
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
    )


def _sidecar_of(out: Path, rel: str) -> Sidecar | None:
    side = out / (rel + SUFFIX)
    if not side.exists() and not side.is_symlink():
        return None
    label = rel + SUFFIX
    if side.is_symlink() or not side.is_file():
        raise _CaptureFailed(_bad_sidecar(InvalidInput("must be a regular file", field=label)))
    try:
        return read_sidecar(side, label)
    except InvalidInput as exc:
        raise _CaptureFailed(_bad_sidecar(exc)) from exc


def _bad_sidecar(exc: InvalidInput) -> JobErrorInfo:
    return errors_map.capture("invalid-sidecar", "Invalid Metadata Sidecar", str(exc))


def _product(
    spec: JobSpec, out: Path, rel: str, output_name: str, media: str | None, inputs: list[str]
) -> FileRecord:
    from ingest.media import SNIFF_BYTES, sniff

    job = spec.manifest.job
    path = out / rel
    if media is None:
        with path.open("rb") as fh:
            media = sniff(fh.read(SNIFF_BYTES), path.name)
    sidecar = _sidecar_of(out, rel)
    record = FileRecord(
        id=product_file_id(job.name, job.jobVersion, rel, inputs),
        file_name=path.name,
        workspace=WorkspaceRef(name=spec.workspace),
        file_path=rel,
        url=path.resolve().as_uri(),
        media_type=media,
        file_type="PRODUCT",
        file_size=path.stat().st_size,
        checksum=hash_file(path),
        job_type=JobTypeRef(name=job.name, version=job.jobVersion),
        job=spec.job_id,
        job_output=output_name,
        ancestors=inputs,
    )
    if sidecar is None:
        return record
    return record.model_copy(
        update={
            **sidecar.fields,
            "data_type_tags": list(dict.fromkeys(sidecar.data_types)),
            "meta_data": sidecar.properties,
        }
    )


def _capture(spec: JobSpec, out: Path, staged: Staged, result: JobResult) -> None:
    m = spec.manifest
    input_ids = [r.id for recs in staged.records.values() for r in recs]
    for output in m.job.interface.outputs.files:
        try:
            found = match_output(output, out)
        except (PathEscapeError, InvalidInput) as exc:
            raise _CaptureFailed(
                errors_map.capture("invalid-output", "Output Outside OUTPUT_DIR", str(exc))
            ) from exc
        if not found and output.required:
            raise _CaptureFailed(
                errors_map.capture(
                    "missing-required-output",
                    "Missing Required Output",
                    f"required output {output.name!r} matched no file for {output.pattern!r}",
                )
            )
        if len(found) > 1 and not output.multiple:
            raise _CaptureFailed(
                errors_map.capture(
                    "too-many-outputs",
                    "Too Many Outputs",
                    f"output {output.name!r} takes one file but {output.pattern!r} matched "
                    f"{len(found)}: {found[:5]}",
                )
            )
        result.outputs[output.name] = [
            _product(spec, out, rel, output.name, output.mediaType, input_ids) for rel in found
        ]
    try:
        result.json_outputs = json_outputs(m, out)
    except InvalidInput as exc:
        raise _CaptureFailed(
            errors_map.capture("invalid-outputs-json", "Invalid seed.outputs.json", str(exc))
        ) from exc
    for decl in m.job.interface.inputs.files:
        sidecar = _sidecar_of(out, decl.name)
        if sidecar is None:
            continue
        records = staged.records.get(decl.name)
        if not records:
            log.warning("ignoring %s%s: input %s was not given", decl.name, SUFFIX, decl.name)
            continue
        updated = [input_update(r, sidecar) for r in records]
        result.input_records[decl.name] = [rec for rec, _ in updated]
        result.input_metadata[decl.name] = updated[0][1]


async def run_job(spec: JobSpec) -> JobResult:
    """Stage, run and capture one job; see the module docstring for the contract."""
    check_request(spec)
    job_id = spec.job_id or uuid.uuid4().hex
    if spec.job_id is None:
        spec.job_id = job_id
    spec.job_dir.mkdir(parents=True, exist_ok=True)
    out = spec.output_dir or spec.job_dir / "output_data"
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        log.warning("output dir %s is not empty; old files may be captured", out)
    started = time.monotonic()
    result = JobResult("FAILED", None, None, 0.0, job_id, spec.job_dir, out, None)
    staged = stage_inputs(spec.inputs, spec.job_dir / "input_data")
    runtime = get_runtime(spec.runtime)
    plan = _plan(spec, runtime, staged, job_id, out)
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
        result.error = errors_map.system("launch-failed", "Job Launch Failed", str(exc))
        return _done(result, started)
    result.exit_code = outcome.exit_code
    if outcome.timed_out:
        result.error = errors_map.timeout(plan.timeout_s)
    elif outcome.exit_code:
        result.error = errors_map.from_exit_code(spec.manifest, outcome.exit_code)
    else:
        try:
            _capture(spec, out, staged, result)
            result.status = "COMPLETED"
        except _CaptureFailed as exc:
            result.error = exc.error
            result.outputs, result.input_metadata, result.input_records = {}, {}, {}
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
