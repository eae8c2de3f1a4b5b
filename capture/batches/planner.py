"""Planning a batch: walk the catalogue page by page (a cursor, bounded memory), queue a job per
file. Resumable: a page's jobs are created before the cursor moves past it, and job ids derive
from (batch, file), so a restart re-walks at most one page and creates nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from capture.batches.model import SAMPLE, Batch, BatchRequest, new_batch_id
from capture.jobs import Job, JobStore, job_id_for
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.batches.store import BatchStore
    from capture.jobtypes import JobType
    from seedpipe.catalogue import CatalogueReader

log = logging.getLogger(__name__)

PAGE = 1000


def batch_trigger(batch_id: str) -> str:
    return f"batch:{batch_id}"


def input_name(jt: JobType) -> str:
    """The one file input a batch feeds; InvalidInput naming ``job_type`` otherwise."""
    required = [i.name for i in jt.inputs.values() if i.required]
    names = required or list(jt.inputs)
    if len(names) != 1:
        raise InvalidInput(
            f"job type {jt.name!r} has {len(names)} required file inputs; a batch feeds one",
            field="job_type",
        )
    return names[0]


def walk_query(query: dict[str, Any], cursor: str | None) -> dict[str, Any]:
    """The page query: oldest first (so files the batch itself makes come last)."""
    return {**query, "sort": "created", "limit": PAGE, "token": cursor}


async def pages(
    batch: Batch, index: CatalogueReader, jobs: JobStore
) -> AsyncIterator[tuple[list[FileRecord], str | None, bool]]:
    """(records, cursor after them, last page) from where ``batch.cursor`` left off."""
    from seedpipe.query.model import Query

    if batch.previous is not None:
        after = int(batch.cursor or 0)
        while True:
            rows = await asyncio.to_thread(jobs.batch_file_ids, batch.previous, after, PAGE)
            records = []
            for _, file_id in rows:
                record = await index.get(file_id)
                if record is not None and not record.is_deleted:
                    records.append(record)
            if rows:
                after = rows[-1][0]
            yield records, str(after), len(rows) < PAGE
            if len(rows) < PAGE:
                return
    cursor = batch.cursor
    while True:
        page = await index.search(Query.model_validate(walk_query(batch.query or {}, cursor)))
        records = []
        ended = page.next_token is None
        for r in page.records:
            # Files made after the batch (its own products among them) are not its to run.
            if r.created.timestamp() > batch.created:
                ended = True
                break
            if r.batch != batch.id:
                records.append(r)
        cursor = page.next_token
        yield records, cursor, ended
        if ended:
            return


def stub(record: FileRecord) -> dict[str, Any]:
    """What a batch's job keeps of its file: enough to name it. The attempt reads the record as
    the catalogue has it when the job starts (a purged file fails it as deleted), so a batch of
    1,000,000 files does not copy 1,000,000 records into jobs.db."""
    return {
        "id": record.id,
        "file_name": record.file_name,
        "workspace": {"name": record.workspace.name},
        "file_path": record.file_path,
        "media_type": record.media_type,
        "file_type": record.file_type,
        "version": 1,
    }


def batch_job(batch: Batch, jt: JobType, name: str, record: FileRecord) -> Job:
    return Job(
        id=job_id_for(batch_trigger(batch.id), record.id),
        job_type=jt.name,
        job_type_version=jt.version,
        trigger=batch_trigger(batch.id),
        file_id=record.id,
        event_id=batch.id,
        input_name=name,
        record=stub(record),
        max_attempts=jt.settings.max_attempts,
        cpus=jt.cpus,
        mem_mib=jt.mem_mib,
        priority=batch.priority,
        job_type_revision=batch.revision,
        batch=batch.id,
        supersede=batch.supersede,
    )


async def plan(
    batch_id: str,
    batches: BatchStore,
    jobs: JobStore,
    index: CatalogueReader,
    job_types: Mapping[str, JobType],
    *,
    queued: Any = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Queue the rest of a planning batch; returns how many jobs this call created. Stops at
    once when the batch is canceled. ``queued`` (optional) is called after every page."""
    batch = batches.require(batch_id)
    if batch.status != "planning":
        return 0
    jt = job_types.get(batch.job_type)
    if jt is None:
        log.error("batch %s: job type %r is no longer configured", batch.id, batch.job_type)
        batches.cancel(batch.id, "seedpipe: job type no longer configured")
        return 0
    name = input_name(jt)
    created = 0
    async for records, cursor, last in pages(batch, index, jobs):
        page_jobs = [batch_job(batch, jt, name, r) for r in records]
        if batches.require(batch.id).status != "planning":
            return created
        created += await asyncio.to_thread(jobs.create_many, page_jobs)
        if not batches.advance(batch.id, cursor):
            # Canceled while this page was written: its jobs must not run either.
            await asyncio.to_thread(
                jobs.cancel_batch,
                batch.id,
                batches.require(batch.id).canceled_by or "batch",
                running=False,
            )
            return created
        if queued is not None:
            queued()
        if last:
            break
        if stop is not None and stop.is_set():
            return created  # the cursor is kept: a restart carries on from here
    batches.planned(batch.id)
    log.info("batch %s planned: %d jobs", batch.id, jobs.batch_counts(batch.id)["queued"])
    return created


async def create(
    request: BatchRequest,
    *,
    batches: BatchStore,
    jobs: JobStore,
    index: CatalogueReader,
    job_types: Mapping[str, JobType],
    revisions: Mapping[str, int],
    saved_query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check a request and record the batch (or, for a dry run, answer the count and a sample);
    InvalidInput naming the field on problems. Planning is ``plan``'s (the capture service's)."""
    from capture.revisions import require_revision
    from seedpipe.query.model import Query

    jt = job_types.get(request.job_type)
    if jt is None:
        known = ", ".join(sorted(job_types)) or "none configured"
        raise InvalidInput(
            f"unknown job type {request.job_type!r} (known: {known})", field="job_type"
        )
    input_name(jt)
    current = revisions[jt.name]
    revision = request.revision if request.revision is not None else current
    require_revision(jobs.path, jt.name, revision, current, "revision")
    query = request.query if request.saved_search is None else saved_query
    if request.previous is not None:
        previous = batches.get(request.previous)
        if previous is None:
            raise InvalidInput(f"no batch with id {request.previous!r}", field="previous_batch")
        ids = await asyncio.to_thread(jobs.batch_file_ids, previous.id, 0, SAMPLE)
        total = sum(jobs.batch_counts(previous.id).values())
        sample = [{"id": fid} for _, fid in ids]
        if total == 0:
            raise InvalidInput(f"batch {previous.id} has no files", field="previous_batch")
    else:
        if query is None:
            raise InvalidInput("matches no saved search", field="saved_search")
        page = await index.search(Query.model_validate({**query, "limit": SAMPLE}))
        total = page.total
        sample = [{"id": r.id, "file_name": r.file_name} for r in page.records]
        if total == 0:
            field = "saved_search" if request.saved_search else "query"
            raise InvalidInput("matches no files; nothing to run", field=field)
    if request.dry_run:
        return {
            "dry_run": True,
            "count": total,
            "sample": sample,
            "job_type": jt.name,
            "revision": revision,
        }
    batch = Batch(
        id=new_batch_id(),
        job_type=jt.name,
        revision=revision,
        query=query if request.previous is None else None,
        previous=request.previous,
        saved_search=request.saved_search,
        supersede=request.supersede,
        priority=request.priority,
    )
    batches.create(batch)
    return {**progress(batch, jobs), "count": total}


def progress(batch: Batch, jobs: JobStore) -> dict[str, Any]:
    """The batch with its counts: planned (jobs queued so far), queued, running, completed,
    failed, skipped (canceled before or while running)."""
    counts = jobs.batch_counts(batch.id)
    out = batch.to_dict()
    out["progress"] = {
        "planned": sum(counts.values()),
        "queued": counts["queued"],
        "running": counts["running"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        "skipped": counts["canceled"],
    }
    out["done"] = batch.status != "planning" and counts["queued"] + counts["running"] == 0
    return out


async def saved_query(index: Any, saved_search: str) -> dict[str, Any]:
    """A saved search's filters (the index's subscriptions); InvalidInput when there is none."""
    lister = getattr(index, "list_subscriptions", None)
    if lister is None:
        raise InvalidInput("this catalogue has no saved searches", field="saved_search")
    for sub in await lister():
        if sub.id == saved_search:
            query: dict[str, Any] = sub.query.model_dump(mode="json", exclude={"limit", "token"})
            return query
    raise InvalidInput(f"no saved search with id {saved_search!r}", field="saved_search")


def cancel(
    batch_id: str, batches: BatchStore, jobs: JobStore, by: str, *, running: bool
) -> dict[str, Any]:
    """Stop a batch: planning stops, its queued jobs never start (running ones are killed too
    when ``running``, else they finish)."""
    batch = batches.cancel(batch_id, by)
    jobs.cancel_batch(batch.id, f"batch:{by}", running=running)
    return progress(batch, jobs)
