"""Where a batch stands: its jobs (or recipes) counted by state, its progress, and
canceling it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capture.batches.model import Batch
from capture.jobs import JobStore
from seedpipe.errors import JobError

if TYPE_CHECKING:
    from capture.batches.store import BatchStore
    from capture.recipes.store import RecipeStore


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
