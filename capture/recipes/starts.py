"""Starting a recipe from catalogue file ids: each id looked up, then the engine starts it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.recipes.engine import RecipeEngine
    from capture.recipes.store import Recipe


async def start_with_ids(
    engine: RecipeEngine,
    index: Any,
    recipe_type: str,
    file_ids: Mapping[str, list[str]],
    json_inputs: Mapping[str, Any],
) -> tuple[Recipe, bool]:
    """Start a recipe from catalogue file ids; InvalidInput naming the field, nothing started."""
    if recipe_type not in engine.recipe_types:
        known = ", ".join(sorted(engine.recipe_types)) or "none configured"
        raise InvalidInput(
            f"unknown recipe type {recipe_type!r} (known: {known})", field="recipe_type"
        )
    files: dict[str, list[FileRecord]] = {}
    missing: list[str] = []
    for name, ids in file_ids.items():
        records = []
        for fid in ids:
            record = await index.get(fid) if index is not None else None
            if record is None or record.is_deleted:
                missing.append(f"inputs.{name}: no file with id {fid!r}")
            else:
                records.append(record)
        files[name] = records
    if missing:
        raise InvalidInput("; ".join(missing), field="recipe input")
    return await engine.start(recipe_type, files, json_inputs)
