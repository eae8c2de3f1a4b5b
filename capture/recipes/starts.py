"""Starting a recipe from catalogue file ids: each id looked up, then the engine starts it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capture.control import lookup_files
from seedpipe.errors import InvalidInput

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
    files = await lookup_files(index, file_ids, field="recipe input")
    return await engine.start(recipe_type, files, json_inputs)
