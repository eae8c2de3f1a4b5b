"""A recipe engine outside the capture service (the CLI, a stand-alone API): same stores."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capture.recipes.engine import RecipeEngine
    from seedpipe.settings import Settings


@contextlib.asynccontextmanager
async def open_engine(settings: Settings) -> AsyncIterator[tuple[RecipeEngine, Any]]:
    """(engine, index) on the configured bus, index, job store and recipe store.

    Jobs it queues are run by the capture service sharing the job store, which carries the
    recipe on as they end.
    """
    from capture.context import Context
    from capture.jobs import JobStore
    from capture.jobtypes import load_job_types
    from capture.recipes.engine import RecipeEngine
    from capture.recipes.store import RecipeStore
    from capture.recipes.types import load_recipe_types
    from indexer.backends import open_index
    from seedpipe.bus import open_bus
    from seedpipe.workspaces import Workspaces

    job_types = load_job_types(settings)
    recipe_types = load_recipe_types(settings, job_types)
    jobs = JobStore(settings.path("jobs.db"))
    recipes = RecipeStore(settings.path("recipes.db"))
    try:
        async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
            ctx = Context(settings, bus, index, jobs, Workspaces(settings), job_types)
            yield RecipeEngine(ctx, recipes, recipe_types), index
    finally:
        jobs.close()
        recipes.close()
