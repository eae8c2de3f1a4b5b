"""A batch request checked and recorded (or, for a dry run, answered with the count and a
sample); a saved search read as the query it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capture.batches.feeds import input_name, previous_files, recipe_input_name, recipe_refusal
from capture.batches.model import SAMPLE, Batch, BatchRequest, new_batch_id
from capture.batches.tracking import counts_of, progress
from capture.jobs import JobStore
from seedpipe.errors import InvalidInput, JobError

if TYPE_CHECKING:
    from capture.batches.store import BatchStore
    from capture.jobtypes import JobType
    from capture.recipes.store import RecipeStore
    from capture.recipes.types import RecipeType
    from seedpipe.catalogue import CatalogueReader


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
