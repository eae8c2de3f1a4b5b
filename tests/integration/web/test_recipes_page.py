"""The page's recipes panel in headless Chromium against ``seedpipe up`` running examples/recipe.

Real pipeline (ingest, the recipe engine, the watermark and report jobs, the indexer, the API),
real browser: a person opens the Recipes tab, watches a recipe run without reloading, reads each
node's state, follows a node's product to its record, and sees a failed node's error. The file
name is hostile markup: it must show as text, never run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.functional.pipeline.conftest import running_pipeline, wait_until, write_png
from tests.functional.recipes.conftest import example_config, load, recipe_counts

pytestmark = pytest.mark.slow

HOSTILE = "<img src=x onerror=window.pwned=1>"  # would run if the page parsed names as HTML


# A job that waits until the test lets it go, so the page is seen redrawing a running recipe.
GATE_MANIFEST = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "gate",
        "jobVersion": "1.0.0",
        "packageVersion": "1.0.0",
        "title": "Gate",
        "description": "Waits for a release file next to it.",
        "maintainer": {"name": "t", "email": "t@example.com"},
        "timeout": 60,
        "interface": {
            "command": "${IMAGE} ${OUTPUT_DIR}",
            "inputs": {"files": [{"name": "IMAGE", "mediaTypes": ["image/png"]}]},
        },
    },
}
GATE_SCRIPT = """
import sys, time
from pathlib import Path
release = Path(__file__).with_name("release")
deadline = time.time() + 50
while not release.exists() and time.time() < deadline:
    time.sleep(0.1)
print("released" if release.exists() else "never released")
sys.exit(0 if release.exists() else 3)
"""
GATED = {
    "version": "7",
    "input": {
        "files": [{"name": "IMAGE", "media_types": ["image/png"], "required": True}],
        "json": [],
    },
    "nodes": {
        "wait": {
            "dependencies": [],
            "input": {"IMAGE": {"type": "recipe", "input": "IMAGE"}},
            "node_type": {
                "node_type": "job",
                "job_type_name": "gate",
                "job_type_version": "1.0.0",
                "job_type_revision": 1,
            },
        }
    },
}


@pytest.fixture
def recipe_root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "drop").mkdir(parents=True)
    gate = root / "gate"
    gate.mkdir()
    (gate / "seed.manifest.json").write_text(json.dumps(GATE_MANIFEST))
    (gate / "gate.py").write_text(GATE_SCRIPT)
    (gate / "gated.json").write_text(json.dumps(GATED))
    extra = f"""
[[job_types]]
name = "gate"
manifest = "{gate / "seed.manifest.json"}"
entrypoint = "python {gate / "gate.py"}"
output_workspace = "output"
max_attempts = 1

[[recipe_types]]
name = "gated"
definition = "{gate / "gated.json"}"
"""
    (root / "seedpipe.toml").write_text(example_config(extra))
    return root


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).status_code == 200
    except httpx.TransportError:
        return False


def _truncated_png(path: Path) -> None:
    """A PNG cut short: a PNG by its signature (the recipe takes it), unreadable to the job."""
    whole = path.with_name("whole.tmp")
    write_png(whole, 7, size=96)
    data = whole.read_bytes()
    whole.unlink()
    part = path.with_name(path.name + ".part")
    part.write_bytes(data[: len(data) // 3])
    part.rename(path)


async def test_a_person_watches_a_recipe_run_reads_its_nodes_and_follows_its_product(
    recipe_root: Path, browser: Any, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    settings = load(recipe_root)
    port = free_port()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    async with running_pipeline(settings, api_port=port):
        base = f"http://127.0.0.1:{port}"
        await wait_until(lambda: _answers(f"{base}/healthz"), "the API")
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/ui")
        await expect(page.locator("#live")).to_have_text("live", timeout=20_000)
        await page.get_by_role("tab", name="Recipes").click()
        await expect(page.locator("#recipe-count")).to_have_text("0 recipes")

        # A wide PNG with a hostile name is dropped while the page is open: its recipe appears
        # in the list without a reload.
        write_png(recipe_root / "drop" / f"{HOSTILE}.png", 2, size=96)
        await expect(page.locator("#recipe-count")).to_have_text("1 recipe", timeout=60_000)
        recipes = page.get_by_role("list", name="recipes")
        await expect(recipes.locator("a.name")).to_have_text("mark-and-check")
        await recipes.locator("a.name").click()

        # Its view redraws itself until every node has settled: no reload, no click.
        record = page.locator("#record")
        await expect(record.locator("h2")).to_have_text("Recipe mark-and-check")
        await expect(record.locator("#recipe-status")).to_have_text("completed", timeout=90_000)
        nodes = record.get_by_role("list", name="nodes")
        states = {
            "watermark": "completed",
            "is-wide": "completed",
            "summarize": "completed",
            "flag-small": "skipped",
        }
        for name, state in states.items():
            node = nodes.locator(f'li[data-node="{name}"]')
            await expect(node.locator(".state")).to_have_text(state)
        # dependencies first, and each node's edges named
        order = await nodes.locator("li.node").evaluate_all(
            "items => items.map(i => i.dataset.node)"
        )
        assert order.index("watermark") < order.index("is-wide") < order.index("summarize")
        await expect(nodes.locator('li[data-node="summarize"] .edges')).to_have_text(
            "after is-wide, watermark"
        )
        await expect(nodes.locator('li[data-node="flag-small"] .edges')).to_have_text(
            "after is-wide (not accepted)"
        )
        await expect(nodes.locator('li[data-node="is-wide"] .condition')).to_have_text(
            "condition accepted"
        )
        await expect(nodes.locator('li[data-node="flag-small"] .node-reason')).to_contain_text(
            "is-wide was accepted"
        )
        graph = record.get_by_role("img", name="recipe graph")
        await expect(graph.locator("g.gnode")).to_have_count(4)
        await expect(graph.locator("line.edge")).to_have_count(4)
        await expect(graph.locator('g.gnode.completed[data-node="summarize"]')).to_have_count(1)
        # the hostile name shows as text: in the inputs and as the product's link
        inputs = record.get_by_role("list", name="recipe inputs")
        await expect(inputs).to_have_text(f"IMAGE: {HOSTILE}.png")
        watermark = nodes.locator('li[data-node="watermark"]')
        product = watermark.get_by_role("list", name="products of watermark").locator("a")
        await expect(product).to_have_text(f"{HOSTILE}_watermark.png")
        await expect(watermark.locator("a.job-link")).to_have_count(1)
        await expect(watermark.locator(".badge.completed")).to_have_count(2)  # node and job
        assert await page.evaluate("window.pwned") is None
        assert await record.locator("img").count() == 0
        await page.screenshot(path=shots / "recipe.png")

        # The node's job, with its log; back to the recipe by the address it kept.
        recipe_id = await record.locator(".recipe").get_attribute("data-recipe")
        assert recipe_id
        await watermark.locator("a.job-link").click()
        await expect(record.locator("#job-status")).to_have_text("completed")
        await expect(record.locator("#job-log")).to_contain_text("watermarked")
        await page.goto(f"{base}/ui?from=job#recipe={recipe_id}")  # a new load, not a hash
        await expect(record.locator("#recipe-status")).to_have_text("completed")

        # The completed node's product: its record, on the map, made by this recipe.
        product = record.get_by_role("list", name="products of watermark").locator("a")
        await expect(product).to_have_text(f"{HOSTILE}_watermark.png")
        await product.click()
        await expect(record.locator("h2")).to_have_text(f"{HOSTILE}_watermark.png")
        made = record.get_by_role("list", name="made by recipe")
        await expect(made.locator("a")).to_have_text("mark-and-check")
        await expect(made).to_contain_text("node watermark")
        await expect(page.locator("#map path.footprint")).not_to_have_count(0)
        await page.screenshot(path=shots / "product.png")
        # and its source: used by the recipe
        await record.get_by_role("list", name="sources").locator("a").click()
        await expect(record.locator("h2")).to_have_text(f"{HOSTILE}.png")
        used = record.get_by_role("list", name="used by recipes")
        await expect(used.locator("a")).to_have_text("mark-and-check")
        await used.locator("a").click()
        await expect(record.locator("#recipe-status")).to_have_text("completed")
        assert await page.evaluate("window.pwned") is None

        # A recipe started over HTTP whose job waits: the open view shows it running, then
        # completed once the job is let go, with no reload and no click.
        async with httpx.AsyncClient(base_url=base) as api:
            sources = await api.get(
                "/files", params={"file_type": "SOURCE", "file_name_contains": "onerror"}
            )
            [source] = sources.json()["results"]
            started = await api.post(
                "/recipes", json={"recipe_type": "gated", "inputs": {"IMAGE": source["id"]}}
            )
            assert started.status_code == 201, started.text
            gated_id = started.json()["id"]
        await page.get_by_role("tab", name="Recipes").click()
        await expect(page.locator("#recipe-count")).to_have_text("2 recipes", timeout=30_000)
        await recipes.locator(f'li[data-recipe="{gated_id}"] a.name').click()
        await expect(record.locator("#recipe-status")).to_have_text("running")
        wait_node = nodes.locator('li[data-node="wait"]')
        await expect(wait_node.locator(".state")).to_have_text(re.compile("^(queued|running)$"))
        # queued until the job starts, then running (the job is held until released)
        await expect(wait_node.locator(".state")).to_have_text("running", timeout=30_000)
        await page.screenshot(path=shots / "running.png")
        (recipe_root / "gate" / "release").write_text("")
        await expect(record.locator("#recipe-status")).to_have_text("completed", timeout=60_000)
        await expect(wait_node.locator(".state")).to_have_text("completed")
        await expect(wait_node.locator(".badge.completed")).to_have_count(2)  # node and job

        # A PNG cut short: the watermark node fails, and the page says why.
        _truncated_png(recipe_root / "drop" / "broken.png")
        await wait_until(lambda: recipe_counts(settings)["failed"] == 1 or None, "a failed recipe")
        await page.get_by_role("tab", name="Recipes").click()
        await expect(page.locator("#recipe-count")).to_have_text("3 recipes", timeout=30_000)
        failed = recipes.locator("li", has=page.locator(".badge.failed"))
        await expect(failed).to_have_count(1, timeout=30_000)
        await failed.locator("a.name").click()
        await expect(record.locator("#recipe-status")).to_have_text("failed")
        broken = nodes.locator('li[data-node="watermark"]')
        await expect(broken.locator(".state")).to_have_text("failed")
        await expect(broken.locator(".node-error")).to_contain_text("image-Corrupt-1")
        await expect(record.locator("#recipe-error")).to_contain_text("watermark")
        for name in ("is-wide", "summarize", "flag-small"):
            node = nodes.locator(f'li[data-node="{name}"]')
            await expect(node.locator(".state")).to_have_text("pending")
            await expect(node.locator(".node-blocked")).to_have_count(1)
        await page.screenshot(path=shots / "failed.png")

        # The status filter pages through /recipes as the API pages it.
        await page.get_by_label("Status").select_option("completed")
        await expect(page.locator("#recipe-count")).to_have_text("2 recipes")
        async with httpx.AsyncClient(base_url=base) as api:
            listed = (await api.get("/recipes", params={"status": "completed"})).json()
        assert [r["id"] for r in listed["results"]] == [recipe_id, gated_id]
        shown = await recipes.locator("li").evaluate_all(
            "items => items.map(i => i.dataset.recipe)"
        )
        assert shown == [recipe_id, gated_id]
        assert not errors, errors
    for name in ("recipe", "product", "running", "failed"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
