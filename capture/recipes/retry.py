"""Retrying a failed recipe: its failed nodes rerun, the nodes they held back follow."""

from __future__ import annotations

from typing import Any

from capture.recipes.store import RecipeStore
from seedpipe.errors import JobError


def retry_recipe(store: RecipeStore, jobs: Any, recipe_id: str) -> list[str]:
    """Rerun a failed recipe's failed nodes (their nodes left pending follow); names retried.

    Works on the stores alone, so ``seedpipe recipes retry`` needs no running service: a
    running capture service picks the requeued jobs up, and carries the recipe on.
    """
    recipe = store.require(recipe_id)
    if recipe.status != "failed":
        raise JobError(f"recipe {recipe_id} is {recipe.status}; only failed recipes can be retried")
    retried = []
    for name, node in store.nodes(recipe_id).items():
        if node.state != "failed":
            continue
        if node.kind == "recipe" and node.sub_recipe:
            child = store.get(node.sub_recipe)
            if child is not None and child.status == "failed":
                retry_recipe(store, jobs, child.id)
            store.set_node(recipe_id, name, ("failed",), state="running", reason=None, ended=None)
        elif node.job_id is not None and jobs.get(node.job_id) is not None:
            jobs.requeue(node.job_id, reset_attempts=True)
            store.set_node(recipe_id, name, ("failed",), state="queued", reason=None, ended=None)
        else:
            store.set_node(recipe_id, name, ("failed",), state="pending", reason=None, ended=None)
        retried.append(name)
    store.set_status(recipe_id, "running", "failed")
    return retried
