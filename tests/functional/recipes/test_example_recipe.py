"""examples/recipe end to end: a branch on the watermark sidecar's width, a fan-in, products."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from capture.recipes.store import RecipeStore
from indexer.backends import open_index
from seedpipe.bus import open_bus
from seedpipe.events import RECIPES_TOPIC, CloudEvent
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.settings import Settings
from seedpipe.workspaces import Workspaces
from tests.functional.pipeline.conftest import running_pipeline, wait_until, write_png
from tests.functional.recipes.conftest import load, recipe_counts


@pytest.mark.slow
async def test_the_example_recipe_branches_on_the_width_its_watermark_job_reported(
    recipe_root: Path,
) -> None:
    settings = load(recipe_root)
    async with running_pipeline(settings):
        write_png(recipe_root / "drop" / "narrow.png", 1, size=16)
        write_png(recipe_root / "drop" / "wide.png", 2, size=96)
        await wait_until(
            lambda: recipe_counts(settings)["completed"] == 2 or None, "two completed recipes"
        )
        store = RecipeStore(settings.path("recipes.db"))
        recipes = {r.inputs["files"]["IMAGE"][0]["file_name"]: r for r in store.search()}
        narrow, wide = store.nodes(recipes["narrow.png"].id), store.nodes(recipes["wide.png"].id)
        assert {n: s.state for n, s in narrow.items()} == {
            "watermark": "completed",
            "is-wide": "completed",
            "summarize": "skipped",
            "flag-small": "completed",
        }
        assert narrow["is-wide"].accepted is False
        assert {n: s.state for n, s in wide.items()} == {
            "watermark": "completed",
            "is-wide": "completed",
            "summarize": "completed",
            "flag-small": "skipped",
        }
        assert wide["is-wide"].accepted is True
        # The fan-in's JSON output is the recipe's, from seed.outputs.json.
        summarize = wide["summarize"].outputs or {}
        assert summarize["PIXELS"] == {"json": 96 * 96}
        async with open_index(settings.index) as index:
            rid = recipes["wide.png"].id

            async def products() -> list[FileRecord]:
                page = await index.search(Query(recipes=[rid], file_types=["PRODUCT"]))
                return page.records if len(page.records) == 2 else []

            made = await wait_until(products, "the wide recipe's two products indexed")
            by_node = {p.recipe_node: p for p in made}
            assert set(by_node) == {"watermark", "summarize"}
            report = by_node["summarize"]
            assert report.recipe_type == "mark-and-check"
            ws = Workspaces(settings)["output"]
            local = ws.local_path(report.file_path)
            assert local is not None
            body = json.loads(Path(local).read_text())
        # INPUT_METADATA as Scale writes it: JOB has the node's inputs, RECIPE the recipe's;
        # the source's record came updated by the watermark job's input sidecar.
        assert body["job_inputs"] == ["MARKED", "SOURCE"]
        assert body["recipe_inputs"] == ["IMAGE"]
        assert body["source_meta_data"]["width"] == 96
        assert body["marked"] == "wide_watermark.png"
        store.close()
    await check_http(settings, recipes["wide.png"].id)
    types: list[str] = []
    ids = {r.id for r in recipes.values()}

    async def collect(event: CloudEvent) -> None:
        types.append(event.type)
        assert event.subject in ids  # keyed by recipe id: one recipe's events stay in order

    async with open_bus(settings.bus) as bus:
        await bus.consume(
            [settings.topic(RECIPES_TOPIC)], "recipes-reader", collect, until_caught_up=True
        )
    assert types.count("seedpipe.recipe.created") == 2
    assert types.count("seedpipe.recipe.completed") == 2
    assert types.count("seedpipe.recipe.node_completed") == 8


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from seedpipe.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out if code == 0 else out.out + out.err


@pytest.mark.slow
async def test_the_recipe_commands_list_show_start_and_validate(
    recipe_root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = load(recipe_root)
    config = str(recipe_root / "seedpipe.toml")
    async with running_pipeline(settings):
        write_png(recipe_root / "drop" / "one.png", 3, size=16)
        await wait_until(lambda: recipe_counts(settings)["completed"] == 1 or None, "a recipe")
    code, out = await asyncio.to_thread(
        run_cli, capsys, "recipes", "list", "-c", config, "--format", "json"
    )
    assert code == 0
    [listed] = json.loads(out)
    assert listed["status"] == "completed" and listed["trigger"] == "new-png"
    code, out = await asyncio.to_thread(
        run_cli, capsys, "recipes", "show", listed["id"], "-c", config
    )
    shown = json.loads(out)
    assert shown["nodes"]["is-wide"]["condition_result"] is False
    assert shown["nodes"]["summarize"]["state"] == "skipped"
    assert len(shown["nodes"]["flag-small"]["products"]) == 1
    source_id = shown["inputs"]["files"]["IMAGE"][0]
    argv = ("recipes", "start", "mark-and-check", "-c", config, "-i", f"IMAGE={source_id}")
    code, out = await asyncio.to_thread(run_cli, capsys, *argv)
    assert code == 0, out
    started = json.loads(out)
    assert started["created"] is True and started["status"] == "running"
    code, out = await asyncio.to_thread(run_cli, capsys, *argv)
    assert json.loads(out)["id"] == started["id"] and json.loads(out)["created"] is False
    code, out = await asyncio.to_thread(
        run_cli, capsys, "recipes", "start", "mark-and-check", "-c", config, "-i", "IMAGE=nope"
    )
    assert code != 0 and "inputs.IMAGE: no file with id 'nope'" in out
    argv_search = ("search", "-c", config, "--recipe", listed["id"], "--format", "json")
    code, out = await asyncio.to_thread(run_cli, capsys, *argv_search)
    assert sorted(r["recipe_node"] for r in json.loads(out)) == ["flag-small", "watermark"]
    code, out = await asyncio.to_thread(
        run_cli, capsys, "recipes", "retry", listed["id"], "-c", config
    )
    assert code != 0 and "only failed recipes can be retried" in out
    broken = example_definition_with_problems(tmp_path)
    code, out = await asyncio.to_thread(
        run_cli, capsys, "recipe-types", "validate", str(broken), "-c", config
    )
    assert code == 1
    assert f"{broken}: $.nodes.summarize.input.MARKED.node: 'watermark' is not among" in out
    assert f"{broken}: $.nodes.flag-small.dependencies[0].name: no node named 'ghost'" in out
    code, out = await asyncio.to_thread(
        run_cli, capsys, "recipe-types", "show", "mark-and-check", "-c", config
    )
    assert json.loads(out)["nodes"]["watermark"]["job_type_revision"] == 1


def example_definition_with_problems(tmp_path: Path) -> Path:
    from tests.functional.recipes.conftest import EXAMPLE

    raw = json.loads((EXAMPLE / "recipes" / "mark-and-check.json").read_text())
    raw["nodes"]["summarize"]["dependencies"] = [{"name": "is-wide"}]
    raw["nodes"]["flag-small"]["dependencies"] = [{"name": "ghost"}]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(raw))
    return path


async def check_http(settings: Settings, rid: str) -> None:
    """/files?recipe_id, recipe_node and STAC seedpipe:recipe find the recipe's products."""
    import httpx

    from composition.http import create_app

    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            files = (await client.get("/files", params={"recipe_id": rid})).json()
            assert sorted(r["recipe_node"] for r in files["results"]) == ["summarize", "watermark"]
            one = await client.get("/files", params={"recipe_id": rid, "recipe_node": "summarize"})
            assert [r["job_output"] for r in one.json()["results"]] == ["REPORT"]
            stac = await client.post("/search", json={"query": {"seedpipe:recipe": {"eq": rid}}})
            assert stac.status_code == 200, stac.text
            assert len(stac.json()["features"]) == 2
