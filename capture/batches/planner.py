"""Planning a batch: walk the catalogue page by page (a cursor, bounded memory), queue a job (or
start a recipe) per file. Resumable: a page's jobs or recipes are created before the cursor moves
past it, and their ids derive from (batch, file), so a restart re-walks at most one page and
creates nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from capture.batches.model import SAMPLE, Batch, BatchRequest, new_batch_id
from capture.jobs import Job, JobStore, job_id_for
from seedpipe.errors import InvalidInput, JobError
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.batches.store import BatchStore
    from capture.jobtypes import JobType
    from capture.recipes.engine import RecipeEngine
    from capture.recipes.store import RecipeStore
    from capture.recipes.types import RecipeType
    from seedpipe.catalogue import CatalogueReader

# (previous batch, after rowid, limit) -> [(rowid, file id)]: an earlier batch's files
FileIds = Callable[[str, int, int], list[tuple[int, str]]]

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


def recipe_input_name(rt: RecipeType) -> str:
    """The one file input of a recipe type a batch feeds; InvalidInput naming ``recipe_type``
    when the recipe type cannot be started from one file alone."""
    from capture.recipes.interfaces import interface_params

    params = interface_params(rt.definition.input)
    files = [p for p in params.values() if p.kind == "file"]
    required = [p.name for p in files if p.required]
    names = required or [p.name for p in files]
    if len(names) != 1:
        raise InvalidInput(
            f"recipe type {rt.name!r} has {len(names)} "
            f"{'required ' if required else ''}file inputs; a batch feeds one",
            field="recipe_type",
        )
    needs_json = sorted(p.name for p in params.values() if p.kind == "json" and p.required)
    if needs_json:
        raise InvalidInput(
            f"recipe type {rt.name!r} needs the JSON inputs {', '.join(needs_json)}; a batch "
            f"gives only a file",
            field="recipe_type",
        )
    return names[0]


def recipe_refusal(rt: RecipeType, name: str, record: FileRecord) -> str | None:
    """Why the recipe input ``name`` cannot take ``record`` (its media type), else None."""
    from capture.recipes.inputs import check_inputs

    try:
        check_inputs(rt.definition, {name: [record]}, {})
    except InvalidInput as exc:
        return str(exc).removeprefix("recipe input: ")
    return None


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


def previous_files(batches: BatchStore, jobs: JobStore, recipes: RecipeStore | None) -> FileIds:
    """How to read an earlier batch's files: its jobs' inputs, or its recipes' files."""

    def file_ids(previous: str, after: int, limit: int) -> list[tuple[int, str]]:
        if batches.require(previous).recipe_type is None:
            return jobs.batch_file_ids(previous, after, limit)
        if recipes is None:
            raise InvalidInput(f"batch {previous} ran recipes", field="previous_batch")
        return recipes.batch_file_ids(previous, after, limit)

    return file_ids


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


def batch_recipe_id(batch: Batch, record: FileRecord) -> str:
    from capture.recipes.store import recipe_id_for

    return recipe_id_for(batch_trigger(batch.id), record.id)


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


async def create(
    request: BatchRequest,
    *,
    batches: BatchStore,
    jobs: JobStore,
    index: CatalogueReader,
    job_types: Mapping[str, JobType],
    revisions: Mapping[str, int],
    saved_query: dict[str, Any] | None = None,
    recipe_types: Mapping[str, RecipeType] | None = None,
    recipes: RecipeStore | None = None,
) -> dict[str, Any]:
    """Check a request and record the batch (or, for a dry run, answer the count and a sample);
    InvalidInput naming the field on problems. Planning is ``plan``'s (the capture service's)."""
    from capture.revisions import require_revision
    from seedpipe.query.model import Query

    rt: RecipeType | None = None
    jt: JobType | None = None
    revision: int | None = None
    if request.recipe_type is not None:
        types = recipe_types or {}
        rt = types.get(request.recipe_type)
        if rt is None:
            known = ", ".join(sorted(types)) or "none configured"
            raise InvalidInput(
                f"unknown recipe type {request.recipe_type!r} (known: {known})",
                field="recipe_type",
            )
        if request.revision is not None:
            raise InvalidInput("recipe types have no revisions", field="revision")
        if recipes is None:
            raise JobError("a recipe type's batch needs the recipe store")
        name = recipe_input_name(rt)
    else:
        jt = job_types.get(str(request.job_type))
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
        file_ids = previous_files(batches, jobs, recipes)
        ids = await asyncio.to_thread(file_ids, previous.id, 0, SAMPLE)
        total = sum(counts_of(previous, jobs, recipes).values())
        sample: list[dict[str, Any]] = [{"id": fid} for _, fid in ids]
        if total == 0:
            raise InvalidInput(f"batch {previous.id} has no files", field="previous_batch")
        records = [r for _, fid in ids if (r := await index.get(fid)) is not None]
    else:
        if query is None:
            raise InvalidInput("matches no saved search", field="saved_search")
        page = await index.search(Query.model_validate({**query, "limit": SAMPLE}))
        total = page.total
        records = list(page.records)
        sample = [{"id": r.id, "file_name": r.file_name} for r in records]
        if total == 0:
            field = "saved_search" if request.saved_search else "query"
            raise InvalidInput("matches no files; nothing to run", field=field)
    if rt is not None:
        # The sample stands for the files: when the recipe cannot take one of them, say so
        # now rather than leave files out while planning.
        for record in records:
            why = recipe_refusal(rt, name, record)
            if why is not None:
                raise InvalidInput(
                    f"recipe type {rt.name!r} cannot take file {record.id!r}: {why}",
                    field="recipe_type",
                )
    kind: dict[str, Any] = (
        {"recipe_type": rt.name}
        if rt is not None
        else {"job_type": jt.name if jt else None, "revision": revision}
    )
    if request.dry_run:
        return {"dry_run": True, "count": total, "sample": sample, **kind}
    batch = Batch(
        id=new_batch_id(),
        job_type=jt.name if jt is not None else None,
        revision=revision,
        recipe_type=rt.name if rt is not None else None,
        query=query if request.previous is None else None,
        previous=request.previous,
        saved_search=request.saved_search,
        supersede=request.supersede,
        priority=request.priority,
    )
    batches.create(batch)
    return {**progress(batch, jobs, recipes), "count": total}


def counts_of(batch: Batch, jobs: JobStore, recipes: RecipeStore | None) -> dict[str, int]:
    """A batch's jobs (or, for a recipe type's batch, its recipes) by state."""
    if batch.recipe_type is None:
        return jobs.batch_counts(batch.id)
    if recipes is None:
        raise JobError(f"batch {batch.id} runs recipes: its progress needs the recipe store")
    return recipes.batch_counts(batch.id, jobs.running_recipes(batch.id))


def progress(batch: Batch, jobs: JobStore, recipes: RecipeStore | None = None) -> dict[str, Any]:
    """The batch with its counts: planned (jobs queued, or recipes started, so far), queued,
    running, completed, failed, skipped (canceled before or while running). A recipe type's
    batch counts recipes: queued until one of its jobs starts."""
    counts = counts_of(batch, jobs, recipes)
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
    batch_id: str,
    batches: BatchStore,
    jobs: JobStore,
    by: str,
    *,
    running: bool,
    recipes: RecipeStore | None = None,
) -> dict[str, Any]:
    """Stop a batch: planning stops, its queued jobs never start (running ones are killed too
    when ``running``, else they finish). A recipe type's batch: recipes none of whose jobs has
    started are canceled, those under way run to their end (all are canceled, their running
    jobs killed, when ``running``)."""
    if batches.require(batch_id).recipe_type is not None and recipes is None:
        raise JobError(f"batch {batch_id} runs recipes: canceling it needs the recipe store")
    batch = batches.cancel(batch_id, by)
    if batch.recipe_type is not None:
        assert recipes is not None
        cancel_recipes(batch, jobs, recipes, by, running)
    else:
        jobs.cancel_batch(batch.id, f"batch:{by}", running=running)
    return progress(batch, jobs, recipes)


def cancel_recipes(
    batch: Batch, jobs: JobStore, recipes: RecipeStore, by: str, running: bool
) -> int:
    """Cancel a recipe type's batch's recipes not yet started (all unfinished ones when
    ``running``) and their jobs; how many recipes."""
    if running:
        ids = recipes.cancel_batch(batch.id, by, started=True)
        jobs.cancel_recipes(batch.id, ids, f"batch:{by}", running=True)
        return len(ids)
    # Their queued jobs first: a job the scheduler starts meanwhile is not canceled (a job
    # starts only from the queue), and its recipe, under way after all, is left to run.
    candidates = recipes.unstarted(batch.id, keep=jobs.running_recipes(batch.id))
    jobs.cancel_recipes(batch.id, candidates, f"batch:{by}", running=False)
    under_way = set(jobs.running_recipes(batch.id))
    return len(recipes.cancel([c for c in candidates if c not in under_way], by))
