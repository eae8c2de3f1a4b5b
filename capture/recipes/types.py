"""Recipe types: configured definitions, read and validated together with the job types."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.recipes.definition import (
    DefinitionError,
    JobNodeType,
    RecipeDefinition,
    RecipeNodeType,
    parse_definition,
)
from capture.recipes.validate import definition_problems, recipe_type_cycle
from seedpipe.errors import ConfigError

if TYPE_CHECKING:
    from capture.jobtypes import JobType
    from seedpipe.settings import Settings


@dataclass
class RecipeType:
    name: str
    definition: RecipeDefinition
    path: str

    def summary(self) -> dict[str, Any]:
        d = self.definition
        return {
            "name": self.name,
            "definition_path": self.path,
            "version": d.version,
            "inputs": {
                "files": [f.model_dump() for f in d.input.files],
                "json": [j.model_dump() for j in d.input.json_],
            },
            "nodes": {
                name: {
                    "node_type": n.kind,
                    "dependencies": [dep.model_dump() for dep in n.dependencies],
                    **_node_ref(n.node_type),
                }
                for name, n in d.nodes.items()
            },
        }

    def detail(self) -> dict[str, Any]:
        return {**self.summary(), "definition": self.definition.to_json()}


def _node_ref(nt: Any) -> dict[str, Any]:
    if isinstance(nt, JobNodeType):
        return {
            "job_type_name": nt.job_type_name,
            "job_type_version": nt.job_type_version,
            "job_type_revision": nt.job_type_revision,
        }
    if isinstance(nt, RecipeNodeType):
        return {
            "recipe_type_name": nt.recipe_type_name,
            "recipe_type_revision": nt.recipe_type_revision,
        }
    return {}


def read_definition(path: Path) -> RecipeDefinition:
    """Read and schema-check one definition file; DefinitionError lists every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError([("$", f"{path} does not exist")]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionError([("$", f"{path} is not readable JSON: {exc}")]) from exc
    return parse_definition(raw)


def check_definitions(
    definitions: Mapping[str, RecipeDefinition], job_types: Mapping[str, JobType]
) -> dict[str, list[tuple[str, str]]]:
    """Problems per recipe type name (only those with problems)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, d in definitions.items():
        problems = definition_problems(d, job_types, definitions)
        if problems:
            out[name] = problems
    cycle = recipe_type_cycle(definitions)
    if cycle:
        out.setdefault(cycle[0], []).append(
            ("$.nodes", "recipe types contain each other: " + " -> ".join(cycle))
        )
    return out


def load_recipe_types(
    settings: Settings, job_types: Mapping[str, JobType]
) -> dict[str, RecipeType]:
    """Every configured recipe type, validated; ConfigError listing every problem by path."""
    definitions: dict[str, RecipeDefinition] = {}
    paths: dict[str, str] = {}
    errors: list[str] = []
    for rt in settings.recipe_types:
        where = f"recipe_types[{rt.name}].definition"
        if rt.name in definitions or rt.name in paths:
            errors.append(f"recipe_types[{rt.name}]: configured twice")
            continue
        paths[rt.name] = rt.definition
        try:
            definitions[rt.name] = read_definition(Path(rt.definition))
        except DefinitionError as exc:
            errors += [f"{where}: {p}: {m}" for p, m in exc.problems]
    for name, problems in check_definitions(definitions, job_types).items():
        errors += [f"recipe_types[{name}].definition: {p}: {m}" for p, m in problems]
    if errors:
        raise ConfigError("; ".join(errors))
    return {name: RecipeType(name, d, paths[name]) for name, d in definitions.items()}
