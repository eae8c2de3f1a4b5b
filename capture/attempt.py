"""Running one job record: check and stage its input, run the Seed job, publish what it made."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.contract.fit import FULL_GEOMETRY
from capture.contract.job_errors import JobErrorInfo, failure
from capture.contract.sidecars import SUFFIX as SIDECAR_SUFFIX
from capture.jobs import Job, JobStore
from capture.jobtypes import JobType, entrypoint_command
from capture.products import (
    apply_input_metadata,
    make_product,
    product_path,
    recipe_input_ids,
    source_time,
    superseded_by,
)
from capture.runtimes.lifeline import processes_in
from seedpipe.errors import (
    EventTooLarge,
    InvalidInput,
    JobError,
    SeedpipeError,
    WorkspaceFileNotFound,
)
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
    revisions: dict[str, int] = field(default_factory=dict)  # job type -> current revision

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


def job_files(job: Job) -> dict[str, list[FileRecord]]:
    """The job's file inputs: every input of a recipe node's job, else the trigger's one file."""
    if job.inputs is not None:
        files = job.inputs.get("files") or {}
        return {k: [FileRecord.model_validate(r) for r in v] for k, v in files.items()}
    return {job.input_name: [FileRecord.model_validate(job.record)]}


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
        products, results = await _publish_outputs(ctx, job, jt, inputs, result)
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


async def _publish_outputs(
    ctx: Context, job: Job, jt: JobType, inputs: list[FileRecord], result: Any
) -> tuple[list[str], dict[str, Any]]:
    """Upload products, then publish them and the inputs' metadata updates.

    Returns the product ids and what a recipe needs of the run: products per output, JSON
    outputs, and the input records as the job's input sidecars left them.
    """
    out_ws = ctx.workspaces[jt.settings.output_workspace]
    output_dir: Path = result.output_dir
    updated = getattr(result, "input_records", None) or {}
    by_id = {r.id: r for records in updated.values() for r in records}
    # Filed under the source's data time: as the catalogue has it, else as this job found it.
    known = [by_id.get(r.id, r) for r in inputs]
    first = known[0] if known else None
    recipe_fields = (
        {"recipe": job.recipe, "recipe_node": job.recipe_node, "recipe_type": job.recipe_type}
        if job.recipe
        else {}
    )
    # A recipe type's batch supersedes what earlier runs of the recipe made for its inputs.
    recipe_inputs = (
        recipe_input_ids((job.inputs or {}).get("recipe"))
        if job.batch is not None and job.recipe is not None
        else None
    )
    events = []
    ids = []
    outputs: dict[str, list[dict[str, Any]]] = {}
    sidecars: dict[str, str] = {}  # record id -> its sidecar, for errors
    for output_name, captured in (result.outputs or {}).items():
        for p in captured:
            local = output_dir / p.file_path
            when = (first.data_started if first else None) or p.data_started
            when = when or (source_time(known) if known else p.created)
            rel = product_path(jt.name, jt.version, when, job.id, p.file_path)
            info = await asyncio.to_thread(out_ws.put_file, local, rel)
            p = await _keep_full_geometry(out_ws, output_dir, p, rel)
            product = make_product(
                p,
                inputs=known,
                job_type=jt.name,
                job_type_version=jt.version,
                job_type_revision=job.job_type_revision,
                batch=job.batch,
                job_id=job.id,
                job_output=output_name,
                workspace=out_ws.name,
                file_path=info.path,
                url=out_ws.record_url(info.path),
                size=info.size,
                checksum=info.checksum,
                version=1,
            )
            if recipe_fields:
                product = product.model_copy(update=recipe_fields)
            if ctx.index is not None:
                previous = await ctx.index.get(product.id)
                if previous is not None:
                    product = product.model_copy(update={"version": previous.version + 1})
                if job.supersede:  # a batch's job supersedes only when the batch asks to
                    events += [
                        file_event(FILE_METADATA_UPDATED, old, SOURCE)
                        for old in await superseded_by(ctx.index, product, recipe_inputs)
                    ]
            events.append(file_event(FILE_PRODUCED, product, SOURCE))
            ids.append(product.id)
            outputs.setdefault(output_name, []).append(product.to_scale())
            sidecars[product.id] = p.file_path + SIDECAR_SUFFIX
    for name, records in job_files(job).items():
        for r in records:
            sidecars[r.id] = name + SIDECAR_SUFFIX
    if updated:
        events += [
            file_event(FILE_METADATA_UPDATED, r, SOURCE) for rs in updated.values() for r in rs
        ]
    elif job.inputs is None and first is not None:
        update = (result.input_metadata or {}).get(job.input_name)
        if update:
            changed = apply_input_metadata(await newest_record(ctx, first), update)
            events.append(file_event(FILE_METADATA_UPDATED, changed, SOURCE))
    try:
        await ctx.bus.publish_many(ctx.files_topic, events)
    except EventTooLarge as exc:
        # Never silently lost: the job fails, naming the sidecar that made the event too big.
        raise InvalidInput(
            f"makes a {exc.event.type} event of {exc.size} bytes, over the {exc.limit}-byte "
            f"limit (bus.max_event_bytes), even with its geometry simplified; keep large "
            f"properties in a product file, not in the sidecar",
            field=sidecars.get(exc.event.subject or "", "a sidecar"),
        ) from exc
    results = {
        "outputs": outputs,
        "json_outputs": dict(result.json_outputs or {}),
        "input_records": {k: [r.model_dump(mode="json") for r in rs] for k, rs in updated.items()},
    }
    return ids, results


async def _keep_full_geometry(ws: Any, output_dir: Path, p: FileRecord, rel: str) -> FileRecord:
    """A product whose geometry was simplified keeps its sidecar (the full geometry) beside it
    in the workspace; the record's meta_data names where."""
    note = p.meta_data.get(FULL_GEOMETRY)
    if not isinstance(note, dict) or "sidecar" not in note:
        return p
    # The sidecar's path is the product's own (collect set the note; a job cannot).
    local = output_dir / (p.file_path + SIDECAR_SUFFIX)
    info = await asyncio.to_thread(ws.put_file, local, rel + SIDECAR_SUFFIX)
    kept = {
        "workspace": ws.name,
        "file_path": info.path,
        "url": ws.record_url(info.path),
        "vertices": note["vertices"],
        "kept_vertices": note["kept_vertices"],
    }
    return p.model_copy(update={"meta_data": {**p.meta_data, FULL_GEOMETRY: kept}})


def fail_now(store: JobStore, job_id: str, why: str) -> Job:
    """Fail a job that can never run here (asks for more than the worker has)."""
    return store.finish(
        job_id, "failed", error=failure("insufficient_resources", "Cannot run", why)
    )


__all__ = ["Context", "JobError", "execute", "fail_now", "job_event"]
