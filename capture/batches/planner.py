"""Planning a batch: walk the catalogue page by page (a cursor, bounded memory), queue a job (or
start a recipe) per file. Resumable: a page's jobs or recipes are created before the cursor moves
past it, and their ids derive from (batch, file), so a restart re-walks at most one page and
creates nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from capture.batches.feeds import (
    FileIds,
    batch_job,
    batch_recipe_id,
    batch_trigger,
    input_name,
    previous_files,
    recipe_input_name,
    recipe_refusal,
)
from capture.batches.model import Batch
from capture.batches.tracking import cancel_recipes
from capture.jobs import JobStore
from seedpipe.errors import JobError
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.batches.store import BatchStore
    from capture.jobtypes import JobType
    from capture.recipes.engine import RecipeEngine
    from seedpipe.catalogue import CatalogueReader

log = logging.getLogger(__name__)

PAGE = 1000


def walk_query(query: dict[str, Any], cursor: str | None) -> dict[str, Any]:
    """The page query: oldest first (so files the batch itself makes come last)."""
    return {**query, "sort": "created", "limit": PAGE, "token": cursor}


async def pages(
    batch: Batch, index: CatalogueReader, file_ids: FileIds
) -> AsyncIterator[tuple[list[FileRecord], str | None, bool]]:
    """(records, cursor after them, last page) from where ``batch.cursor`` left off;
    ``file_ids`` reads the previous batch's files."""
    from seedpipe.query.model import Query

    if batch.previous is not None:
        after = int(batch.cursor or 0)
        while True:
            rows = await asyncio.to_thread(file_ids, batch.previous, after, PAGE)
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


async def plan(
    batch_id: str,
    batches: BatchStore,
    jobs: JobStore,
    index: CatalogueReader,
    job_types: Mapping[str, JobType],
    *,
    queued: Any = None,
    stop: asyncio.Event | None = None,
    engine: RecipeEngine | None = None,
) -> int:
    """Queue the rest of a planning batch; returns how many jobs (or, for a recipe type's
    batch, recipes through ``engine``) this call created. Stops at once when the batch is
    canceled. ``queued`` (optional) is called after every page."""
    batch = batches.require(batch_id)
    if batch.status != "planning":
        return 0
    recipes = engine.store if engine is not None else None
    file_ids = previous_files(batches, jobs, recipes)
    if batch.recipe_type is not None:
        if engine is None:
            raise JobError(f"batch {batch.id} runs recipes: planning it needs a recipe engine")
        return await plan_recipes(batch, batches, jobs, index, engine, file_ids, queued, stop)
    jt = job_types.get(str(batch.job_type))
    if jt is None:
        log.error("batch %s: job type %r is no longer configured", batch.id, batch.job_type)
        batches.cancel(batch.id, "seedpipe: job type no longer configured")
        return 0
    name = input_name(jt)
    created = 0
    async for records, cursor, last in pages(batch, index, file_ids):
        page_jobs = [batch_job(batch, jt, name, r) for r in records]
        if batches.require(batch.id).status != "planning":
            return created
        created += await asyncio.to_thread(jobs.create_many, page_jobs)
        if not batches.advance(batch.id, cursor):
            stopped = batches.require(batch.id)
            if stopped.status == "canceled":
                # Canceled while this page was written: its jobs must not run either.
                await asyncio.to_thread(
                    jobs.cancel_batch,
                    batch.id,
                    f"batch:{stopped.canceled_by or 'batch'}",
                    running=False,
                )
            # Else another planner (the CLI's, the service's) planned it meanwhile.
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


async def plan_recipes(
    batch: Batch,
    batches: BatchStore,
    jobs: JobStore,
    index: CatalogueReader,
    engine: RecipeEngine,
    file_ids: FileIds,
    queued: Any,
    stop: asyncio.Event | None,
) -> int:
    """``plan`` for a recipe type: one recipe per file, started as a trigger starts one (its
    id derived from the batch and the file, so a restart finds it and starts nothing twice)."""
    rt = engine.recipe_types.get(str(batch.recipe_type))
    if rt is None:
        log.error("batch %s: recipe type %r is no longer configured", batch.id, batch.recipe_type)
        batches.cancel(batch.id, "seedpipe: recipe type no longer configured")
        return 0
    name = recipe_input_name(rt)
    trigger = batch_trigger(batch.id)
    created = 0
    async for records, cursor, last in pages(batch, index, file_ids):
        for record in records:
            if batches.require(batch.id).status != "planning":
                return created
            why = recipe_refusal(rt, name, record)
            if why is not None:
                log.warning("batch %s: file %s left out: %s", batch.id, record.id, why)
                continue
            _, new = await engine.start(
                rt.name,
                {name: [record]},
                recipe_id=batch_recipe_id(batch, record),
                trigger=trigger,
                event_id=batch.id,
                batch=batch.id,
                batch_file=record.id,
                supersede=batch.supersede,
                priority=batch.priority,
            )
            created += int(new)
        if not batches.advance(batch.id, cursor):
            stopped = batches.require(batch.id)
            if stopped.status == "canceled":
                # Canceled while this page was started: its recipes must not run either.
                by = stopped.canceled_by or "batch"
                await asyncio.to_thread(cancel_recipes, stopped, jobs, engine.store, by, False)
            # Else another planner (the CLI's, the service's) planned it meanwhile.
            return created
        if queued is not None:
            queued()
        if last:
            break
        if stop is not None and stop.is_set():
            return created  # the cursor is kept: a restart carries on from here
    batches.planned(batch.id)
    log.info("batch %s planned: %d recipes", batch.id, created)
    return created
