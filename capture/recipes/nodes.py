"""What a recipe's node is given: its inputs resolved from its connections, INPUT_METADATA's
RECIPE, and the job a job node queues (its id derived from the recipe and the node)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capture.jobs import Job, job_id_for
from capture.recipes.definition import DependencyConnection, JobNodeType, Node
from capture.recipes.store import Recipe, RecipeNode
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.jobtypes import JobType


def node_job_id(recipe_id: str, node: str) -> str:
    return job_id_for(f"recipe:{recipe_id}", node)


def resolve_inputs(
    recipe: Recipe, node: Node, nodes: Mapping[str, RecipeNode]
) -> tuple[dict[str, list[FileRecord]], dict[str, Any]]:
    """A node's input values from its connections; files as the recipe knows them now."""
    files: dict[str, list[FileRecord]] = {}
    json_values: dict[str, Any] = {}
    for input_name, conn in node.input.items():
        if isinstance(conn, DependencyConnection):
            value = (nodes[conn.node].outputs or {}).get(conn.output)
        else:
            name = conn.input
            if name in recipe.inputs.get("files", {}):
                value = {"files": recipe.inputs["files"][name]}
            elif name in recipe.inputs.get("json", {}):
                value = {"json": recipe.inputs["json"][name]}
            else:
                value = None
        if value is None:
            continue
        if "files" in value:
            files[input_name] = [
                FileRecord.model_validate(recipe.files.get(r["id"], r)) for r in value["files"]
            ]
        else:
            json_values[input_name] = value["json"]
    return files, json_values


def recipe_metadata(recipe: Recipe) -> dict[str, Any]:
    """INPUT_METADATA's RECIPE: each recipe input name -> its JSON value or file records."""
    out: dict[str, Any] = {
        k: [recipe.files.get(r["id"], r) for r in v]
        for k, v in recipe.inputs.get("files", {}).items()
    }
    out.update(recipe.inputs.get("json", {}))
    return out


def node_job(
    recipe: Recipe,
    name: str,
    nt: JobNodeType,
    files: dict[str, list[FileRecord]],
    json_values: dict[str, Any],
    jt: JobType | None,
    revision: int | None,
) -> Job:
    """The job a job node queues: the job type's settings (when still configured), the
    recipe's batch, ``supersede`` and ``priority``, and every input."""
    first = next((v[0] for v in files.values() if v), None)
    return Job(
        id=node_job_id(recipe.id, name),
        job_type=nt.job_type_name,
        job_type_version=nt.job_type_version,
        trigger=f"recipe:{recipe.id}",
        file_id=name,
        event_id=recipe.event_id or recipe.id,
        input_name=next(iter(files), ""),
        record=first.model_dump(mode="json") if first else {},
        max_attempts=jt.settings.max_attempts if jt else 1,
        cpus=jt.cpus if jt else 1.0,
        mem_mib=jt.mem_mib if jt else 0.0,
        recipe=recipe.id,
        recipe_node=name,
        recipe_type=recipe.recipe_type,
        job_type_revision=revision,
        priority=recipe.priority,
        batch=recipe.batch,
        supersede=recipe.supersede,
        inputs={
            "files": {k: [r.model_dump(mode="json") for r in v] for k, v in files.items()},
            "json": json_values,
            "recipe": recipe_metadata(recipe),
        },
    )
