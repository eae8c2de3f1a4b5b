"""GET /recipes?input_file: the recipes that took a file in, as the page's record view asks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from capture.jobs import Job, JobStore
from capture.recipes.api import recipe_detail
from capture.recipes.store import Recipe, RecipeNode, RecipeStore
from composition.http import create_app
from indexer.backends import open_index
from seedpipe.settings import Settings
from tests.functional.api.conftest import api_settings


def _recipe(rid: str, created: float, inputs: list[str], seen: list[str]) -> Recipe:
    records = {i: {"id": i, "file_name": f"{i}.png", "version": 1} for i in inputs + seen}
    return Recipe(
        id=rid,
        recipe_type="mark-and-check",
        definition={"version": "7", "nodes": {"watermark": {"dependencies": []}}},
        inputs={"files": {"IMAGE": [records[i] for i in inputs]}, "json": {}},
        files=records,
        created=created,
    )


@pytest.fixture
async def recipes_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings: Settings = api_settings(tmp_path)
    store = RecipeStore(settings.path("recipes.db"))
    # r1 and r3 took "a" in (r3 as a node's input, not the recipe's); r2 only "b".
    for recipe in (
        _recipe("r1", 1.0, ["a"], []),
        _recipe("r2", 2.0, ["b"], []),
        _recipe("r3", 3.0, ["c"], ["a"]),
        _recipe("r4", 4.0, ["a-long-id-with-a"], []),
    ):
        assert store.create(recipe, [RecipeNode(recipe.id, "watermark", "job")])
    store.close()
    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def test_input_file_finds_the_recipes_that_took_a_file_in_paged_like_files(
    recipes_api: httpx.AsyncClient,
) -> None:
    found = (await recipes_api.get("/recipes", params={"input_file": "a"})).json()
    assert found["count"] == 2
    assert [r["id"] for r in found["results"]] == ["r1", "r3"]  # never r4: the id, not a part
    first = (await recipes_api.get("/recipes", params={"input_file": "a", "page_size": 1})).json()
    assert first["count"] == 2 and [r["id"] for r in first["results"]] == ["r1"]
    assert first["next"] is not None and "input_file=a" in first["next"]
    second = (await recipes_api.get(first["next"])).json()
    assert [r["id"] for r in second["results"]] == ["r3"] and second["next"] is None
    none = (await recipes_api.get("/recipes", params={"input_file": "nothing"})).json()
    assert none == {"count": 0, "next": None, "previous": None, "results": []}
    both = await recipes_api.get("/recipes", params={"input_file": "b", "status": "running"})
    assert [r["id"] for r in both.json()["results"]] == ["r2"]


@pytest.mark.parametrize("value", ["", "x" * 129])
async def test_a_bad_input_file_is_a_400_naming_it(
    recipes_api: httpx.AsyncClient, value: str
) -> None:
    resp = await recipes_api.get("/recipes", params={"input_file": value})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert set(body) == {"detail", "field"} and body["field"] == "input_file"


async def test_the_openapi_document_describes_input_file(recipes_api: httpx.AsyncClient) -> None:
    resp = await recipes_api.get("/openapi.json")
    doc: dict[str, Any] = resp.json()
    params = {p["name"]: p for p in doc["paths"]["/recipes"]["get"]["parameters"]}
    schema = params["input_file"]["schema"]
    assert params["input_file"]["in"] == "query" and not params["input_file"].get("required")
    assert "input" in params["input_file"]["description"]
    flat = schema.get("anyOf", [schema])
    assert any(s.get("type") == "string" and s.get("maxLength") == 128 for s in flat), schema


def test_a_queued_node_whose_job_runs_is_shown_running(tmp_path: Path) -> None:
    recipes = RecipeStore(tmp_path / "recipes.db")
    jobs = JobStore(tmp_path / "jobs.db")
    recipe = _recipe("r1", 1.0, ["a"], [])
    recipes.create(recipe, [RecipeNode("r1", "watermark", "job")])
    job = Job(
        id="j1",
        job_type="image-watermark",
        job_type_version="0.1.0",
        trigger="recipe:r1",
        file_id="watermark",
        event_id="r1",
        input_name="IMAGE",
        record={},
        recipe="r1",
        recipe_node="watermark",
    )
    assert jobs.create(job)
    assert recipes.set_node("r1", "watermark", ("pending",), state="queued", job_id="j1")
    detail = recipe_detail(recipes, jobs, "r1")
    assert detail is not None and detail["nodes"]["watermark"]["state"] == "queued"
    jobs.mark_running("j1", None)
    detail = recipe_detail(recipes, jobs, "r1")
    assert detail is not None
    assert detail["nodes"]["watermark"]["state"] == "running"
    assert detail["nodes"]["watermark"]["job_status"] == "running"
    recipes.close()
    jobs.close()
