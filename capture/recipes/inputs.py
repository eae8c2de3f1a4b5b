"""A recipe's inputs: checked against its interface, hashed into an id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from capture.recipes.definition import RecipeDefinition
from capture.recipes.interfaces import interface_params, media_can_match
from capture.recipes.store import recipe_id_for
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord


def check_inputs(
    definition: RecipeDefinition,
    files: Mapping[str, list[FileRecord]],
    json_inputs: Mapping[str, Any],
) -> None:
    """Refuse inputs that do not fit the recipe's interface, naming every field."""
    from capture.contract.outputs import json_type_ok

    problems: list[str] = []
    params = interface_params(definition.input)
    for name, records in files.items():
        p = params.get(name)
        if p is None or p.kind != "file":
            problems.append(f"inputs.{name}: the recipe has no file input {name!r}")
            continue
        if len(records) > 1 and not p.multiple:
            problems.append(f"inputs.{name}: takes one file, {len(records)} given")
        for r in records:
            if not media_can_match([r.media_type], p.media_types):
                problems.append(
                    f"inputs.{name}: {r.media_type} is not one of {list(p.media_types)}"
                )
    for name, value in json_inputs.items():
        p = params.get(name)
        if p is None or p.kind != "json":
            problems.append(f"json.{name}: the recipe has no JSON input {name!r}")
        elif not json_type_ok(value, p.json_type):  # type: ignore[arg-type]
            problems.append(f"json.{name}: must be of JSON type {p.json_type}")
    for name, p in params.items():
        given = files.get(name) if p.kind == "file" else json_inputs.get(name)
        if p.required and (given is None or given == []):
            kind = "inputs" if p.kind == "file" else "json"
            problems.append(f"{kind}.{name}: required input is missing")
    if problems:
        raise InvalidInput("; ".join(problems), field="recipe input")


def start_id(recipe_type: str, files: Mapping[str, list[FileRecord]], json_inputs: Any) -> str:
    """The id of a recipe started with explicit inputs: the same inputs, the same recipe."""
    key = json.dumps(
        {"files": {k: sorted(r.id for r in v) for k, v in files.items()}, "json": json_inputs},
        sort_keys=True,
    )
    return recipe_id_for("start", recipe_type, key)
