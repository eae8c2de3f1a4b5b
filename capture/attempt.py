"""Running one job record: check and stage its input, run the Seed job, publish what it made."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.contract.job_errors import JobErrorInfo, failure
from capture.jobs import Job, JobStore
from capture.jobtypes import JobType, entrypoint_command
from capture.products import (
    apply_input_metadata,
    make_product,
    product_path,
    source_time,
    superseded_by,
)
from seedpipe.errors import InvalidInput, JobError, SeedpipeError, WorkspaceFileNotFound
from seedpipe.events import (
    FILE_METADATA_UPDATED,
    FILE_PRODUCED,
    FILES_TOPIC,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_STARTED,
    CloudEvent,
    file_event,
)
from seedpipe.metrics import count_job
from seedpipe.records import FileRecord
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from seedpipe.bus.base import EventBus
    from seedpipe.catalogue import CatalogueReader
    from seedpipe.workspaces import Workspaces

log = logging.getLogger(__name__)

SOURCE = "seedpipe/capture"
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0


def job_event(event_type: str, job: Job) -> CloudEvent:
    return CloudEvent(type=event_type, source=SOURCE, subject=job.id, data=job.to_dict())


@dataclass
class Context:
    """What every job run shares."""

    settings: Settings
    bus: EventBus
    index: CatalogueReader | None
    store: JobStore
    workspaces: Workspaces
    job_types: dict[str, JobType]
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def files_topic(self) -> str:
        return self.settings.topic(FILES_TOPIC)

    async def publish_job(self, event_type: str, job: Job) -> None:
        from seedpipe.events import JOBS_TOPIC

        await self.bus.publish(self.settings.topic(JOBS_TOPIC), job_event(event_type, job))


async def newest_record(ctx: Context, record: FileRecord) -> FileRecord:
    """The catalogue's record when it is at least as new as the event's (it carries updates)."""
    if ctx.index is None:
        return record
    indexed = await ctx.index.get(record.id)
    if indexed is not None and indexed.version >= record.version:
        return indexed
    return record


async def execute(ctx: Context, job: Job) -> None:
    """Run ``job`` (already marked running) to completion, failure or a scheduled retry."""
    jt = ctx.job_types[job.job_type]
    job_dir = Path(ctx.settings.capture.work_dir) / f"job_{job.id}" / f"attempt_{job.attempt}"
    await ctx.publish_job(JOB_STARTED, job)
    try:
        # A run killed mid-way left its staged inputs and outputs: start this one clean.
        await asyncio.to_thread(shutil.rmtree, job_dir, True)
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
        )
    except SeedpipeError as exc:
        log.warning("job %s: %s", job.id, exc)
        outcome = ("system", None, failure("system_error", "System error", str(exc)), None, [])
    except Exception as exc:
        log.exception("job %s crashed", job.id)
        outcome = ("system", None, failure("system_error", "System error", repr(exc)), None, [])
    category, exit_code, err, duration, products = outcome
    if category is None:
        done = ctx.store.finish(
            job.id, "completed", exit_code=exit_code, duration_s=duration, products=products
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


def _keep_log(src: Path, dst: Path) -> None:
    if src.is_file() and src != dst:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _clean(job_dir: Path) -> None:
    """Drop the job's working files (its log was copied out first)."""
    shutil.rmtree(job_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        job_dir.parent.rmdir()


Outcome = tuple[str | None, int | None, JobErrorInfo | None, float | None, list[str]]


async def _run(ctx: Context, job: Job, jt: JobType, job_dir: Path) -> Outcome:
    from capture.contract.runner import JobSpec, StagedInput, run_job

    record = await newest_record(ctx, FileRecord.model_validate(job.record))
    if record.is_deleted:
        why = f"input {record.file_name!r} ({record.id}) was deleted before the job started"
        return "data", None, failure("input_deleted", "Input deleted", why, "data"), None, []
    ws = ctx.workspaces[record.workspace.name]
    try:
        local = await asyncio.to_thread(_fetch, ws, record, job_dir / "fetch" / job.input_name)
    except WorkspaceFileNotFound:
        why = (
            f"input {record.file_name!r} ({record.id}) no longer exists at "
            f"{record.workspace.name}:{record.file_path}; it was deleted before the job started"
        )
        return "data", None, failure("input_deleted", "Input deleted", why, "data"), None, []
    if record.url is None:
        record = record.model_copy(update={"url": ws.record_url(record.file_path)})
    spec = JobSpec(
        manifest=jt.manifest,
        job_dir=job_dir,
        inputs={job.input_name: [StagedInput(path=local, record=record)]},
        settings={k: v.get_secret_value() for k, v in jt.settings.settings.items()},
        mounts=dict(jt.settings.mounts),
        runtime=jt.settings.runtime,
        entrypoint=entrypoint_command(jt.settings, ctx.settings.config_dir),
        image=jt.settings.image,
        job_id=job.id,
        resources={"cpus": jt.cpus, "mem": jt.mem_mib} if jt.mem_mib else {"cpus": jt.cpus},
        log_max_bytes=int(ctx.settings.capture.job_log_max_mib * 1024 * 1024),
    )
    result = await run_job(spec)
    duration = result.duration_s
    if job.log_path and result.log_path is not None:
        await asyncio.to_thread(_keep_log, result.log_path, Path(job.log_path))
    if result.status.upper() != "COMPLETED":
        err = result.error or failure(
            "unknown", "Unknown error", "the job failed without an error", "job"
        )
        return err.category, result.exit_code, err, duration, []
    try:
        products = await _publish_outputs(ctx, job, jt, record, result)
    except InvalidInput as exc:
        err = failure("invalid_output", "Invalid output", str(exc), "data")
        return "data", result.exit_code, err, duration, []
    return None, result.exit_code, None, duration, products


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


async def _publish_outputs(
    ctx: Context, job: Job, jt: JobType, record: FileRecord, result: Any
) -> list[str]:
    """Upload products, then publish them and the input's metadata update."""
    out_ws = ctx.workspaces[jt.settings.output_workspace]
    output_dir: Path = result.output_dir
    updated_records = (getattr(result, "input_records", None) or {}).get(job.input_name)
    # Filed under the source's data time: as the catalogue has it, else as this job found it.
    known = updated_records[0] if updated_records else record
    events = []
    ids = []
    for output_name, captured in (result.outputs or {}).items():
        for p in captured:
            local = output_dir / p.file_path
            when = known.data_started or p.data_started or source_time([known])
            rel = product_path(jt.name, jt.version, when, job.id, p.file_path)
            info = await asyncio.to_thread(out_ws.put_file, local, rel)
            version = 1
            product = make_product(
                p,
                inputs=[known],
                job_type=jt.name,
                job_type_version=jt.version,
                job_id=job.id,
                job_output=output_name,
                workspace=out_ws.name,
                file_path=info.path,
                url=out_ws.record_url(info.path),
                size=info.size,
                checksum=info.checksum,
                version=version,
            )
            if ctx.index is not None:
                previous = await ctx.index.get(product.id)
                if previous is not None:
                    product = product.model_copy(update={"version": previous.version + 1})
                events += [
                    file_event(FILE_METADATA_UPDATED, old, SOURCE)
                    for old in await superseded_by(ctx.index, product)
                ]
            events.append(file_event(FILE_PRODUCED, product, SOURCE))
            ids.append(product.id)
    update = (result.input_metadata or {}).get(job.input_name)
    if updated_records:
        events.append(file_event(FILE_METADATA_UPDATED, updated_records[0], SOURCE))
    elif update:
        updated = apply_input_metadata(await newest_record(ctx, record), update)
        events.append(file_event(FILE_METADATA_UPDATED, updated, SOURCE))
    await ctx.bus.publish_many(ctx.files_topic, events)
    return ids


def fail_now(store: JobStore, job_id: str, why: str) -> Job:
    """Fail a job that can never run here (asks for more than the worker has)."""
    return store.finish(
        job_id, "failed", error=failure("insufficient_resources", "Cannot run", why)
    )


__all__ = ["Context", "JobError", "execute", "fail_now", "job_event"]
