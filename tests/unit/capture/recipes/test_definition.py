"""Recipe definitions: Scale's v6/v7 JSON read as is, every problem listed by its JSON path."""

from __future__ import annotations

from typing import Any

import pytest

from capture.recipes.definition import DefinitionError, parse_definition
from capture.recipes.types import check_definitions
from tests.unit.capture.recipes.helpers import example_definition, job_types

JOB_TYPES = job_types()


def problems(raw: dict[str, Any], others: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """Schema problems, else the graph's, of ``raw`` (named "r") among ``others``."""
    try:
        definition = parse_definition(raw)
    except DefinitionError as exc:
        return exc.problems
    definitions = {k: parse_definition(v) for k, v in (others or {}).items()}
    definitions["r"] = definition
    return check_definitions(definitions, JOB_TYPES).get("r", [])


def paths(raw: dict[str, Any], others: dict[str, Any] | None = None) -> list[str]:
    return [p for p, _ in problems(raw, others)]


def job_node(job_type: str = "image-report", **input_: Any) -> dict[str, Any]:
    return {
        "dependencies": [],
        "input": input_,
        "node_type": {
            "node_type": "job",
            "job_type_name": job_type,
            "job_type_version": "0.1.0",
            "job_type_revision": 1,
        },
    }


def recipe(nodes: dict[str, Any], **interface: Any) -> dict[str, Any]:
    files = interface.get("files", [{"name": "IMAGE", "media_types": ["image/png"]}])
    return {
        "version": "6",
        "input": {"files": files, "json": interface.get("json", [])},
        "nodes": nodes,
    }


def from_recipe(name: str = "IMAGE") -> dict[str, str]:
    return {"type": "recipe", "input": name}


def test_the_example_definition_is_valid_in_version_6_and_7() -> None:
    raw = example_definition()
    assert problems(raw) == []
    raw["version"] = "6"
    assert problems(raw) == []


def test_revisions_are_accepted_and_recorded() -> None:
    d = parse_definition(example_definition())
    node = d.nodes["watermark"].node_type
    assert node.job_type_revision == 1  # type: ignore[union-attr]
    assert d.to_json()["nodes"]["watermark"]["node_type"]["job_type_revision"] == 1


def test_an_unknown_version_is_refused() -> None:
    raw = example_definition()
    raw["version"] = "1.0"
    assert paths(raw) == ["$.version"]


def test_schema_problems_are_all_listed_with_their_json_paths() -> None:
    raw = example_definition()
    raw["nodes"]["watermark"]["node_type"].pop("job_type_name")
    raw["nodes"]["summarize"]["input"]["SOURCE"] = {"type": "recipe"}
    raw["nodes"]["flag-small"]["dependencies"][0]["acceptance"] = "no"
    raw["nodes"]["is-wide"]["node_type"]["data_filter"]["filters"][0]["condition"] = "~="
    raw["extra"] = 1
    assert sorted(paths(raw)) == [
        "$.extra",
        "$.nodes.flag-small.dependencies[0].acceptance",
        "$.nodes.is-wide.node_type.data_filter.filters[0].condition",
        "$.nodes.summarize.input.SOURCE.input",
        "$.nodes.watermark.node_type.job_type_name",
    ]


def test_a_definition_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DefinitionError) as err:
        parse_definition([])
    assert err.value.problems[0][0] == "$"


def test_unknown_job_types_and_versions_are_named() -> None:
    raw = recipe(
        {"a": job_node("no-such-job", SOURCE=from_recipe()), "b": job_node(SOURCE=from_recipe())}
    )
    raw["nodes"]["b"]["node_type"]["job_type_version"] = "9.9.9"
    assert paths(raw) == [
        "$.nodes.a.node_type.job_type_name",
        "$.nodes.b.node_type.job_type_version",
    ]


def test_an_unknown_recipe_type_is_named() -> None:
    raw = recipe(
        {
            "sub": {
                "dependencies": [],
                "input": {},
                "node_type": {
                    "node_type": "recipe",
                    "recipe_type_name": "nope",
                    "recipe_type_revision": 1,
                },
            }
        }
    )
    assert paths(raw) == ["$.nodes.sub.node_type.recipe_type_name"]


def test_recipe_types_containing_each_other_are_refused() -> None:
    sub = {
        "dependencies": [],
        "input": {},
        "node_type": {"node_type": "recipe", "recipe_type_name": "r"},
    }
    other = recipe({"back": sub})
    raw = recipe(
        {"down": {**sub, "node_type": {"node_type": "recipe", "recipe_type_name": "other"}}}
    )
    found = problems(raw, {"other": other}) + check_definitions(
        {"other": parse_definition(other), "r": parse_definition(raw)}, JOB_TYPES
    ).get("other", [])
    assert any("contain each other" in m for _, m in found)


def test_a_dependency_cycle_is_refused() -> None:
    a = job_node(SOURCE=from_recipe())
    b = job_node(SOURCE=from_recipe())
    a["dependencies"] = [{"name": "b"}]
    b["dependencies"] = [{"name": "a"}]
    found = problems(recipe({"a": a, "b": b}))
    assert found == [("$.nodes", "dependency cycle: a -> b -> a")]


def test_dependencies_on_unknown_nodes_or_on_itself_are_refused() -> None:
    a = job_node(SOURCE=from_recipe())
    a["dependencies"] = [{"name": "ghost"}, {"name": "a"}]
    assert paths(recipe({"a": a})) == [
        "$.nodes.a.dependencies[0].name",
        "$.nodes.a.dependencies[1].name",
    ]


def test_connections_to_unknown_nodes_outputs_and_recipe_inputs_are_named() -> None:
    w = job_node("image-watermark", INPUT_IMAGE=from_recipe("NOPE"))
    r = job_node(
        SOURCE={"type": "dependency", "node": "w", "output": "NOPE"},
        MARKED={"type": "dependency", "node": "ghost", "output": "X"},
    )
    r["dependencies"] = [{"name": "w"}]
    assert paths(recipe({"w": w, "r": r})) == [
        "$.nodes.w.input.INPUT_IMAGE.input",
        "$.nodes.r.input.SOURCE.output",
        "$.nodes.r.input.MARKED.node",
    ]


def test_a_dependency_connection_needs_the_matching_dependency() -> None:
    w = job_node("image-watermark", INPUT_IMAGE=from_recipe())
    r = job_node(SOURCE={"type": "dependency", "node": "w", "output": "OUTPUT_IMAGE"})
    found = problems(recipe({"w": w, "r": r}))
    assert found == [
        ("$.nodes.r.input.SOURCE.node", "'w' is not among the dependencies of 'r'; add it")
    ]


def test_an_input_the_node_does_not_declare_is_named() -> None:
    raw = recipe({"r": job_node(SOURCE=from_recipe(), EXTRA=from_recipe())})
    assert paths(raw) == ["$.nodes.r.input.EXTRA"]


def test_required_inputs_left_unconnected_are_named() -> None:
    raw = recipe({"r": job_node(MARKED=from_recipe())})
    assert problems(raw) == [("$.nodes.r.input.SOURCE", "required input is not connected")]


def test_a_multiple_input_cannot_feed_a_one_file_input() -> None:
    raw = recipe(
        {"r": job_node(SOURCE=from_recipe("MANY"))},
        files=[{"name": "MANY", "media_types": ["image/png"], "multiple": True}],
    )
    assert paths(raw) == ["$.nodes.r.input.SOURCE"]
    assert "several files" in problems(raw)[0][1]


def test_files_and_json_cannot_feed_each_other_and_json_types_must_fit() -> None:
    report = job_node(SOURCE=from_recipe(), MIN_PIXELS=from_recipe("TEXT"))
    second = job_node(
        SOURCE={"type": "dependency", "node": "first", "output": "PIXELS"},
        MIN_PIXELS={"type": "dependency", "node": "first", "output": "PIXELS"},
    )
    second["dependencies"] = [{"name": "first"}]
    raw = recipe({"first": report, "second": second}, json=[{"name": "TEXT", "type": "string"}])
    found = dict(problems(raw))
    assert found["$.nodes.first.input.MIN_PIXELS"] == "JSON string cannot feed JSON integer"
    assert found["$.nodes.second.input.SOURCE"] == "JSON integer cannot feed one file"
    assert "$.nodes.second.input.MIN_PIXELS" not in found  # integer into integer fits


def test_an_integer_feeds_a_number() -> None:
    from capture.recipes.interfaces import json_type_fits

    assert json_type_fits("integer", "number")
    assert not json_type_fits("number", "integer")


def test_media_types_that_can_never_match_are_refused() -> None:
    raw = recipe(
        {"r": job_node(SOURCE=from_recipe("DOC"))},
        files=[{"name": "DOC", "media_types": ["application/pdf"]}],
    )
    assert paths(raw) == ["$.nodes.r.input.SOURCE"]
    ok = recipe(
        {"r": job_node(SOURCE=from_recipe("ANY"))},
        files=[{"name": "ANY", "media_types": ["image/*"]}],
    )
    assert problems(ok) == []


def test_a_dependency_output_media_type_is_checked_against_the_input() -> None:
    first = job_node(SOURCE=from_recipe())
    second = job_node(SOURCE={"type": "dependency", "node": "first", "output": "REPORT"})
    second["dependencies"] = [{"name": "first"}]
    found = problems(recipe({"first": first, "second": second}))
    assert found[0][0] == "$.nodes.second.input.SOURCE"
    assert "application/json" in found[0][1]


def condition(filters: list[dict[str, Any]], **interface: Any) -> dict[str, Any]:
    return {
        "dependencies": [],
        "input": {"IMAGE": from_recipe(), **interface.pop("input", {})},
        "node_type": {
            "node_type": "condition",
            "interface": {
                "files": [
                    {
                        "name": "IMAGE",
                        "media_types": ["image/png"],
                        "required": True,
                        "multiple": False,
                    }
                ],
                "json": interface.get("json", []),
            },
            "data_filter": {"filters": filters},
        },
    }


def test_filters_must_fit_the_condition_interface() -> None:
    node = condition(
        [
            {"name": "GHOST", "type": "string", "condition": "==", "values": ["a"]},
            {"name": "IMAGE", "type": "integer", "condition": "==", "values": [1]},
            {"name": "IMAGE", "type": "filename", "condition": "<", "values": ["a"]},
            {"name": "IMAGE", "type": "meta-data", "condition": "==", "values": [1]},
            {
                "name": "IMAGE",
                "type": "meta-data",
                "condition": "==",
                "values": [1],
                "fields": [["a"], ["b"]],
            },
            {"name": "N", "type": "string", "condition": "==", "values": ["x"]},
            {"name": "N", "type": "integer", "condition": ">", "values": ["ten"]},
            {"name": "N", "type": "number", "condition": "between", "values": [1]},
        ],
        json=[{"name": "N", "type": "integer", "required": True}],
        input={"N": from_recipe("N")},
    )
    raw = recipe({"c": node}, json=[{"name": "N", "type": "integer"}])
    at = "$.nodes.c.node_type.data_filter.filters"
    assert paths(raw) == [
        f"{at}[0].name",
        f"{at}[1].type",
        f"{at}[2].condition",
        f"{at}[3].condition",
        f"{at}[4].values",
        f"{at}[5].type",
        f"{at}[6].values",
        f"{at}[7].values",
    ]


def test_a_condition_passes_its_inputs_on_as_outputs() -> None:
    c = condition(
        [{"name": "IMAGE", "type": "media-type", "condition": "==", "values": ["image/png"]}]
    )
    r = job_node(SOURCE={"type": "dependency", "node": "c", "output": "IMAGE"})
    r["dependencies"] = [{"name": "c", "acceptance": False}]
    assert problems(recipe({"c": c, "r": r})) == []


def test_the_shape_of_scales_own_v6_example_validates_on_these_job_types() -> None:
    """Scale's recipe-type documentation example (job, job, condition, recipe node), with its
    job types replaced by configured ones: a condition may be given inputs it does not name."""
    sub = recipe(
        {"inner": job_node(SOURCE=from_recipe("input_1"))},
        files=[
            {"name": "input_1", "media_types": ["image/png"]},
            {"name": "input_2", "media_types": ["application/json"], "multiple": True},
        ],
    )
    raw = {
        "version": "6",
        "input": {
            "files": [
                {"name": "foo", "media_types": ["image/png"], "required": True, "multiple": False},
                {"name": "bar", "media_types": ["image/png"], "required": True, "multiple": False},
            ],
            "json": [],
        },
        "nodes": {
            "node_a": job_node("image-watermark", INPUT_IMAGE=from_recipe("foo")),
            "node_b": {
                **job_node(
                    SOURCE=from_recipe("foo"),
                    MARKED={"type": "dependency", "node": "node_a", "output": "OUTPUT_IMAGE"},
                ),
                "dependencies": [{"name": "node_a", "acceptance": True}],
            },
            "node_c": {
                "dependencies": [{"name": "node_b"}],
                "input": {
                    "input_1": from_recipe("bar"),
                    "input_2": {"type": "dependency", "node": "node_b", "output": "REPORT"},
                },
                "node_type": {
                    "node_type": "condition",
                    "interface": {
                        "files": [
                            {
                                "name": "input_2",
                                "media_types": ["application/json"],
                                "required": True,
                                "multiple": True,
                            }
                        ],
                        "json": [],
                    },
                    "data_filter": {
                        "filters": [
                            {
                                "name": "input_2",
                                "type": "media-type",
                                "condition": "==",
                                "values": ["application/json"],
                            }
                        ]
                    },
                },
            },
            "node_d": {
                "dependencies": [{"name": "node_c", "acceptance": True}],
                "input": {
                    "input_1": from_recipe("bar"),
                    "input_2": {"type": "dependency", "node": "node_c", "output": "input_2"},
                },
                "node_type": {
                    "node_type": "recipe",
                    "recipe_type_name": "recipe-type-1",
                    "recipe_type_revision": 5,
                },
            },
        },
    }
    assert problems(raw, {"recipe-type-1": sub}) == []
