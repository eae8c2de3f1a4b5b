"""Everything a recipe definition's schema cannot say: graph, connections, types, filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from capture.recipes.definition import (
    NODE_NAME,
    ConditionNodeType,
    DependencyConnection,
    JobNodeType,
    RecipeDefinition,
    RecipeNodeType,
)
from capture.recipes.filters import filter_problems
from capture.recipes.graph import find_cycle
from capture.recipes.interfaces import (
    Param,
    Signature,
    interface_params,
    json_type_fits,
    manifest_signature,
    media_can_match,
)

if TYPE_CHECKING:
    from capture.jobtypes import JobType

Problems = list[tuple[str, str]]


def node_signature(
    node_type: JobNodeType | ConditionNodeType | RecipeNodeType,
    job_types: Mapping[str, JobType],
    recipe_inputs: Mapping[str, RecipeDefinition],
) -> Signature | None:
    """A node's inputs and outputs; None when its job or recipe type is unknown."""
    if isinstance(node_type, JobNodeType):
        jt = job_types.get(node_type.job_type_name)
        return manifest_signature(jt.manifest) if jt is not None else None
    if isinstance(node_type, ConditionNodeType):
        params = interface_params(node_type.interface)
        # A condition passes its inputs on: they are its outputs, for the nodes after it.
        return Signature(inputs=params, outputs=dict(params))
    sub = recipe_inputs.get(node_type.recipe_type_name)
    return Signature(inputs=interface_params(sub.input)) if sub is not None else None


def _fits(source: Param, target: Param) -> str | None:
    """Why ``source`` cannot feed ``target``, or None when it can."""
    if source.kind != target.kind:
        return f"{source.describe()} cannot feed {target.describe()}"
    if source.kind == "json":
        if not json_type_fits(source.json_type, target.json_type):
            return f"JSON {source.json_type} cannot feed JSON {target.json_type}"
        return None
    if source.multiple and not target.multiple:
        return "several files (a multiple output or input) cannot feed a one-file input"
    if not media_can_match(source.media_types, target.media_types):
        return (
            f"media types {list(source.media_types)} can never match the accepted "
            f"{list(target.media_types)}"
        )
    return None


def definition_problems(
    definition: RecipeDefinition,
    job_types: Mapping[str, JobType],
    recipe_types: Mapping[str, RecipeDefinition],
) -> Problems:
    """Every problem beyond the schema, each with its JSON path (empty: valid)."""
    import re

    problems: Problems = []
    nodes = definition.nodes
    recipe_params = interface_params(definition.input)
    names = [f.name for f in definition.input.files] + [j.name for j in definition.input.json_]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append(("$.input", f"input {name!r} is declared twice"))
    if not nodes:
        problems.append(("$.nodes", "a recipe needs at least one node"))
    edges: dict[str, list[str]] = {}
    signatures: dict[str, Signature | None] = {}
    for name, node in nodes.items():
        at = f"$.nodes.{name}"
        if not re.match(NODE_NAME, name):
            problems.append((at, "node names are 1-64 letters, digits, space, _ . - "))
        edges[name] = [d.name for d in node.dependencies]
        nt = node.node_type
        if isinstance(nt, JobNodeType):
            jt = job_types.get(nt.job_type_name)
            if jt is None:
                problems.append(
                    (f"{at}.node_type.job_type_name", f"unknown job type {nt.job_type_name!r}")
                )
            elif jt.version != nt.job_type_version:
                problems.append(
                    (
                        f"{at}.node_type.job_type_version",
                        f"job type {jt.name!r} is configured at version {jt.version}, "
                        f"not {nt.job_type_version}",
                    )
                )
        elif isinstance(nt, RecipeNodeType) and nt.recipe_type_name not in recipe_types:
            problems.append(
                (f"{at}.node_type.recipe_type_name", f"unknown recipe type {nt.recipe_type_name!r}")
            )
        elif isinstance(nt, ConditionNodeType):
            params = interface_params(nt.interface)
            problems += filter_problems(nt.data_filter, params, f"{at}.node_type.data_filter")
        signatures[name] = node_signature(nt, job_types, recipe_types)
        seen: set[str] = set()
        for j, dep in enumerate(node.dependencies):
            dat = f"{at}.dependencies[{j}].name"
            if dep.name not in nodes:
                problems.append((dat, f"no node named {dep.name!r}"))
            elif dep.name == name:
                problems.append((dat, "a node cannot depend on itself"))
            elif dep.name in seen:
                problems.append((dat, f"{dep.name!r} is listed twice"))
            seen.add(dep.name)
    cycle = find_cycle({n: [d for d in deps if d != n] for n, deps in edges.items()})
    if cycle:
        problems.append(("$.nodes", "dependency cycle: " + " -> ".join(cycle)))
    for name, node in nodes.items():
        problems += _connection_problems(name, node, nodes, signatures, recipe_params)
    return problems


def _connection_problems(
    name: str,
    node: object,
    nodes: Mapping[str, object],
    signatures: Mapping[str, Signature | None],
    recipe_params: Mapping[str, Param],
) -> Problems:
    from capture.recipes.definition import Node

    assert isinstance(node, Node)
    at = f"$.nodes.{name}.input"
    problems: Problems = []
    sig = signatures.get(name)
    deps = {d.name for d in node.dependencies}
    for input_name, conn in node.input.items():
        cat = f"{at}.{input_name}"
        target = sig.inputs.get(input_name) if sig is not None else None
        if sig is not None and target is None and node.kind != "condition":
            # A condition ignores what its interface does not name (as Scale does); a job or
            # sub-recipe would refuse the input.
            problems.append((cat, f"node {name!r} has no input {input_name!r}"))
        source: Param | None = None
        if isinstance(conn, DependencyConnection):
            if conn.node not in nodes:
                problems.append((f"{cat}.node", f"no node named {conn.node!r}"))
                continue
            if conn.node not in deps:
                problems.append(
                    (
                        f"{cat}.node",
                        f"{conn.node!r} is not among the dependencies of {name!r}; add it",
                    )
                )
            upstream = signatures.get(conn.node)
            if upstream is None:
                continue
            source = upstream.outputs.get(conn.output)
            if source is None:
                problems.append(
                    (f"{cat}.output", f"node {conn.node!r} has no output {conn.output!r}")
                )
                continue
        else:
            source = recipe_params.get(conn.input)
            if source is None:
                problems.append((f"{cat}.input", f"the recipe has no input {conn.input!r}"))
                continue
        if target is not None:
            why = _fits(source, target)
            if why:
                problems.append((cat, why))
    if sig is not None:
        for input_name, param in sig.inputs.items():
            if param.required and input_name not in node.input:
                problems.append((f"{at}.{input_name}", "required input is not connected"))
    return problems


def recipe_type_cycle(definitions: Mapping[str, RecipeDefinition]) -> list[str] | None:
    """A recipe type that contains itself through recipe nodes, as ``[a, b, a]``."""
    edges = {
        name: sorted(
            {
                n.node_type.recipe_type_name
                for n in d.nodes.values()
                if isinstance(n.node_type, RecipeNodeType)
            }
        )
        for name, d in definitions.items()
    }
    return find_cycle(edges)
