"""A batch request's checks (job type or recipe type), the one file input a recipe type's batch
feeds, and the recipe store's batch queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from capture.batches.feeds import recipe_input_name, recipe_refusal
from capture.batches.model import Batch, parse_request
from capture.batches.store import BatchStore
from capture.products import recipe_input_ids
from capture.recipes.definition import parse_definition
from capture.recipes.store import Recipe, RecipeNode, RecipeStore
from capture.recipes.types import RecipeType
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord, WorkspaceRef

QUERY = {"data_types_any": ["raw"]}


def refused(body: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        parse_request(body)
    return exc.value


def test_a_request_names_exactly_one_of_job_type_or_recipe_type() -> None:
    both = refused({"job_type": "a", "recipe_type": "b", "query": QUERY})
    assert both.field == "recipe_type" and "exactly one of job_type or recipe_type" in str(both)
    neither = refused({"query": QUERY})
    assert neither.field == "job_type" and "exactly one of" in str(neither)
    # Given as null is given: not taken for "left out" (the schema says string).
    assert refused({"job_type": "a", "recipe_type": None, "query": QUERY}).field == "recipe_type"
    for bad in (None, "", 3, ["twice"]):
        assert refused({"recipe_type": bad, "query": QUERY}).field == "recipe_type"
        assert refused({"job_type": bad, "query": QUERY}).field == "job_type"


def test_a_recipe_type_request_is_parsed_and_refuses_a_revision() -> None:
    req = parse_request({"recipe_type": "twice", "query": QUERY, "supersede": True})
    assert req.recipe_type == "twice" and req.job_type is None and req.supersede
    assert req.revision is None
    err = refused({"recipe_type": "twice", "revision": 2, "query": QUERY})
    assert err.field == "revision" and "recipe types have no revisions" in str(err)
    job = parse_request({"job_type": "touch", "revision": 2, "query": QUERY})
    assert job.job_type == "touch" and job.recipe_type is None and job.revision == 2


def recipe_type(inputs: dict[str, Any], name: str = "rt") -> RecipeType:
    first = next(iter(inputs.get("files", [])), {"name": "X"})["name"]
    definition = parse_definition(
        {
            "version": "7",
            "input": inputs,
            "nodes": {
                "a": {
                    "dependencies": [],
                    "input": {"INPUT_FILE": {"type": "recipe", "input": first}},
                    "node_type": {
                        "node_type": "job",
                        "job_type_name": "j",
                        "job_type_version": "1",
                    },
                }
            },
        }
    )
    return RecipeType(name, definition, "rt.json")


def test_a_recipe_type_batch_feeds_its_one_file_input() -> None:
    assert recipe_input_name(recipe_type({"files": [{"name": "SOURCE"}]})) == "SOURCE"
    # One required file input among optional ones is the one fed.
    files = [{"name": "EXTRA", "required": False}, {"name": "MAIN"}]
    assert recipe_input_name(recipe_type({"files": files})) == "MAIN"
    optional = recipe_type({"files": [{"name": "ONLY", "required": False}]})
    assert recipe_input_name(optional) == "ONLY"
    opt_json = {
        "files": [{"name": "S"}],
        "json": [{"name": "L", "type": "string", "required": False}],
    }
    assert recipe_input_name(recipe_type(opt_json)) == "S"


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"files": [{"name": "A"}, {"name": "B"}]}, "has 2 required file inputs"),
        (
            {"files": [{"name": "A", "required": False}, {"name": "B", "required": False}]},
            "has 2 file inputs",
        ),
        ({"files": [], "json": [{"name": "L", "type": "string"}]}, "has 0 file inputs"),
        ({"files": [{"name": "S"}], "json": [{"name": "L", "type": "string"}]}, "JSON inputs L"),
    ],
)
def test_a_recipe_type_a_batch_cannot_feed_is_refused_naming_recipe_type(
    inputs: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        recipe_input_name(recipe_type(inputs))
    assert exc.value.field == "recipe_type" and says in str(exc.value)


def record(media_type: str, file_id: str = "f1") -> FileRecord:
    return FileRecord(
        id=file_id,
        file_name="f.txt",
        workspace=WorkspaceRef(name="w"),
        file_path="f.txt",
        media_type=media_type,
    )


def test_a_file_of_another_media_type_is_refused_with_the_reason() -> None:
    rt = recipe_type({"files": [{"name": "IMAGE", "media_types": ["image/png"]}]})
    assert recipe_refusal(rt, "IMAGE", record("image/png")) is None
    why = recipe_refusal(rt, "IMAGE", record("text/plain"))
    assert why is not None and "text/plain is not one of ['image/png']" in why


def test_recipe_input_ids_are_the_files_among_a_recipes_inputs() -> None:
    inputs = {"SOURCE": [{"id": "a"}, {"id": "b"}], "LABEL": "x", "N": 3, "E": []}
    assert recipe_input_ids(inputs) == ["a", "b"]
    assert recipe_input_ids(None) == []


def batch_recipe(store: RecipeStore, rid: str, batch: str, file_id: str, **kw: Any) -> None:
    store.create(
        Recipe(
            id=rid,
            recipe_type="rt",
            definition={},
            inputs={},
            batch=batch,
            batch_file=file_id,
            supersede=False,
            priority=3,
            **kw,
        ),
        [RecipeNode(rid, "a", "job"), RecipeNode(rid, "c", "condition")],
    )


def test_the_recipe_store_counts_lists_and_cancels_a_batchs_recipes(tmp_path: Path) -> None:
    store = RecipeStore(tmp_path / "recipes.db")
    try:
        for i in range(4):
            batch_recipe(store, f"r{i}", "b1", f"file-{i}")
        batch_recipe(store, "child", "b1", "file-0", parent="r0", parent_node="a")
        batch_recipe(store, "other", "b2", "file-9")
        got = store.get("r0")
        assert got is not None and got.batch == "b1" and not got.supersede
        assert got.priority == 3 and got.to_dict()["batch"] == "b1"
        # r1's job node runs; r2's job is running though its node does not know yet; a
        # condition node completed alone (r3) is not a start.
        store.set_node("r1", "a", ("pending",), state="running")
        store.set_node("r3", "c", ("pending",), state="completed")
        counts = store.batch_counts("b1", ["r2"])
        assert counts == {"queued": 2, "running": 2, "completed": 0, "failed": 0, "canceled": 0}
        rows = store.batch_file_ids("b1")
        assert [f for _, f in rows] == ["file-0", "file-1", "file-2", "file-3"]
        assert [f for _, f in store.batch_file_ids("b1", after=rows[1][0], limit=1)] == ["file-2"]
        canceled = store.cancel_batch("b1", "cli:me", started=False, keep=["r2"])
        assert sorted(canceled) == ["r0", "r3"]
        assert store.require("r0").status == "canceled"
        assert (store.require("r0").error or {})["canceled_by"] == "cli:me"
        assert store.batch_counts("b1", ["r2"])["canceled"] == 2
        # Killing: every unfinished recipe of the batch, sub-recipes too.
        assert sorted(store.cancel_batch("b1", "cli:me", started=True)) == ["child", "r1", "r2"]
        assert store.require("other").status == "running"
        assert store.search(status="canceled", limit=10)
    finally:
        store.close()


def test_a_batch_of_a_recipe_type_is_stored_without_job_type_or_revision(tmp_path: Path) -> None:
    store = BatchStore(tmp_path / "batches.db")
    try:
        store.create(Batch(id="b", job_type=None, revision=None, recipe_type="rt", query=QUERY))
        back = store.require("b")
        assert back.recipe_type == "rt" and back.job_type is None and back.revision is None
        store.create(Batch(id="j", job_type="touch", revision=2, query=QUERY))
        job = store.require("j")
        assert job.recipe_type is None and job.job_type == "touch" and job.revision == 2
    finally:
        store.close()
