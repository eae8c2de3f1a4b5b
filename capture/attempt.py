"""Running one job record: check and stage its input, run the Seed job, publish what it made."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from capture.context import Context, job_event, job_files, newest_record
from capture.contract.job_errors import JobErrorInfo, failure
from capture.jobs import Job, JobStore
from capture.jobtypes import JobType, entrypoint_command
from capture.publishing import publish_outputs
from capture.runtimes.lifeline import processes_in
from seedpipe.errors import InvalidInput, JobError, SeedpipeError, WorkspaceFileNotFound
from seedpipe.events import JOB_COMPLETED, JOB_FAILED, JOB_STARTED
from seedpipe.metrics import count_job
from seedpipe.records import FileRecord

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0


async def execute(ctx: Context, job: Job) -> None:
    """Run ``job`` (already marked running) to completion, failure or a scheduled retry."""
    jt = ctx.job_types[job.job_type]
    job_dir = await asyncio.to_thread(
        attempt_dir, Path(ctx.settings.capture.work_dir) / f"job_{job.id}", job.attempt
    )
    await ctx.publish_job(JOB_STARTED, job)
    try:
        outcome = await _run(ctx, job, jt, job_dir)
    except asyncio.CancelledError:
        raise
    except InvalidInput as exc:
        # The request does not fit the manifest: running it again cannot help.
        log.warning("job %s: %s", job.id, exc)
        outcome = (
            "job",
            None,
            failure("invalid_request", "Invalid job request", str(exc), "job"),
            None,
            [],
            None,
        )
    except SeedpipeError as exc:
        log.warning("job %s: %s", job.id, exc)
        outcome = (
            "system",
            None,
            failure("system_error", "System error", str(exc)),
            None,
            [],
            None,
        )
    except Exception as exc:
        log.exception("job %s crashed", job.id)
        outcome = (
            "system",
            None,
            failure("system_error", "System error", repr(exc)),
            None,
            [],
            None,
        )
    ctx.store.clear_process(job.id)
    category, exit_code, err, duration, products, results = outcome
    if category is None:
        done = ctx.store.finish(
            job.id,
            "completed",
            exit_code=exit_code,
            duration_s=duration,
            products=products,
            results=results,
        )
        count_job(job.job_type, "completed", duration)
        await ctx.publish_job(JOB_COMPLETED, done)
    elif category == "system" and job.attempt < job.max_attempts:
        delay = min(BACKOFF_MAX_S, BACKOFF_INITIAL_S * 2 ** (job.attempt - 1))
        log.info("job %s: system error, retry %d in %.1fs", job.id, job.attempt + 1, delay)
        ctx.store.requeue(job.id, delay_s=delay, error=err, exit_code=exit_code)
    else:
        done = ctx.store.finish(
            job.id, "failed", exit_code=exit_code, error=err, duration_s=duration
        )
        count_job(job.job_type, "failed", duration)
        await ctx.publish_job(JOB_FAILED, done)
    if not ctx.settings.capture.keep_job_dirs:
        await asyncio.to_thread(_clean, job_dir)


def attempt_dir(job_root: Path, attempt: int) -> Path:
    """A clean directory for this attempt. A run killed mid-way left its staged inputs and
    outputs: they are cleared, unless a process still works in there (an orphan, or someone's
    shell), in which case the attempt gets a directory of its own: never shared, never pulled
    from under a living process."""
    base = job_root / f"attempt_{attempt}"
    candidate, n = base, 1
    while candidate.exists() and processes_in(candidate):
        n += 1
        candidate = base.with_name(f"{base.name}.{n}")
    if candidate != base:
        log.warning("%s is in use by a living process; this attempt runs in %s", base, candidate)
    shutil.rmtree(candidate, ignore_errors=True)
    return candidate


def _keep_log(src: Path, dst: Path) -> None:
    if src.is_file() and src != dst:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _clean(job_dir: Path) -> None:
    """Drop the job's working files (its log was copied out first)."""
    shutil.rmtree(job_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        job_dir.parent.rmdir()


Outcome = tuple[
    str | None, int | None, JobErrorInfo | None, float | None, list[str], dict[str, Any] | None
]


def _deleted(record: FileRecord) -> Outcome:
    why = (
        f"input {record.file_name!r} ({record.id}) no longer exists at "
        f"{record.workspace.name}:{record.file_path}; it was deleted before the job started"
    )
    return "data", None, failure("input_deleted", "Input deleted", why, "data"), None, [], None


async def _run(ctx: Context, job: Job, jt: JobType, job_dir: Path) -> Outcome:
    from capture.contract.runner import JobSpec, StagedInput, run_job

    staged: dict[str, list[StagedInput]] = {}
    inputs: list[FileRecord] = []
    for name, records in job_files(job).items():
        items = []
        for i, given in enumerate(records):
            record = await newest_record(ctx, given)
            if record.is_deleted:
                return _deleted(record)
            ws = ctx.workspaces[record.workspace.name]
            fetch_dir = job_dir / "fetch" / name / str(i)
            try:
                local = await asyncio.to_thread(_fetch, ws, record, fetch_dir)
            except WorkspaceFileNotFound:
                return _deleted(record)
            if record.url is None:
                record = record.model_copy(update={"url": ws.record_url(record.file_path)})
            items.append(StagedInput(path=local, record=record))
            inputs.append(record)
        staged[name] = items
    extra = job.inputs or {}
    spec = JobSpec(
        manifest=jt.manifest,
        job_dir=job_dir,
        inputs=staged,
        json_inputs=dict(extra.get("json") or {}),
        recipe_metadata=extra.get("recipe") if job.recipe else None,
        settings={k: v.get_secret_value() for k, v in jt.settings.settings.items()},
        mounts=dict(jt.settings.mounts),
        runtime=jt.settings.runtime,
        entrypoint=entrypoint_command(jt.settings, ctx.settings.config_dir),
        image=jt.settings.image,
        job_id=job.id,
        resources={"cpus": jt.cpus, "mem": jt.mem_mib} if jt.mem_mib else {"cpus": jt.cpus},
        log_max_bytes=int(ctx.settings.capture.job_log_max_mib * 1024 * 1024),
        max_event_bytes=ctx.settings.bus.max_event_bytes,
        on_start=lambda started: ctx.store.set_process(job.id, started),
        sandbox=jt.settings.sandbox,
        sandbox_hide=(Path(ctx.settings.data_dir),),
    )
    result = await run_job(spec)
    duration = result.duration_s
    if job.log_path and result.log_path is not None:
        await asyncio.to_thread(_keep_log, result.log_path, Path(job.log_path))
    if result.status.upper() != "COMPLETED":
        err = result.error or failure(
            "unknown", "Unknown error", "the job failed without an error", "job"
        )
        return err.category, result.exit_code, err, duration, [], None
    try:
        products, results = await publish_outputs(ctx, job, jt, inputs, result)
    except InvalidInput as exc:
        err = failure("invalid_output", "Invalid output", str(exc), "data")
        return "data", result.exit_code, err, duration, [], None
    return None, result.exit_code, None, duration, products, results


def _fetch(ws: Any, record: FileRecord, dest_dir: Path) -> Path:
    """A local path of the input: the file itself on local disk, else a download."""
    local = ws.local_path(record.file_path)
    if local is not None:
        if not Path(local).is_file():
            raise WorkspaceFileNotFound(f"{record.file_path} does not exist")
        return Path(local)
    dest = dest_dir / Path(record.file_name).name
    dest.parent.mkdir(parents=True, exist_ok=True)
    ws.stage(record.file_path, dest, link=False)
    return dest


def fail_now(store: JobStore, job_id: str, why: str) -> Job:
    """Fail a job that can never run here (asks for more than the worker has)."""
    return store.finish(
        job_id, "failed", error=failure("insufficient_resources", "Cannot run", why)
    )


__all__ = ["Context", "JobError", "execute", "fail_now", "job_event"]
