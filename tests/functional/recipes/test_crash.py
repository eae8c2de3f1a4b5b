"""kill -9 of ``seedpipe up`` while 100 recipes run, restarted each time: each ends once, whole."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from indexer.backends import open_index
from seedpipe.query.model import Query
from tests.functional.pipeline.conftest import start_up_process, wait_until, write_png
from tests.functional.recipes.conftest import load, recipe_counts

N_RECIPES = 100
KILLS = 4


def node_states(root: Path) -> Counter[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(root / "data" / "recipes.db")) as db:
        return Counter(db.execute("SELECT name, state FROM recipe_nodes"))


def jobs_by_node(root: Path) -> Counter[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(root / "data" / "jobs.db")) as db:
        return Counter(db.execute("SELECT recipe_node, status FROM jobs"))


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_kill_9_during_100_recipes_then_restart_completes_each_exactly_once(
    recipe_root: Path,
) -> None:
    settings = load(recipe_root)
    log_path = recipe_root / "up.log"
    rng = random.Random(13)
    proc = start_up_process(recipe_root, log_path)
    try:
        for i in range(N_RECIPES):
            # even: wide (the fan-in branch), odd: narrow (the else branch)
            write_png(recipe_root / "drop" / f"img_{i:03d}.png", i, size=96 if i % 2 == 0 else 16)
        for k in range(1, KILLS + 1):
            # Pull the plug while recipes are under way: after a share of them completed.
            done_by = k * N_RECIPES // (KILLS + 2)
            await wait_until(
                lambda: recipe_counts(settings)["completed"] >= done_by or None,
                f"{done_by} completed recipes before kill {k}",
                timeout=300,
            )
            await asyncio.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc = start_up_process(recipe_root, log_path)
        await wait_until(
            lambda: recipe_counts(settings)["completed"] == N_RECIPES or None,
            f"{N_RECIPES} completed recipes after {KILLS} kills",
            timeout=420,
        )
        async with open_index(settings.index) as index:

            async def products() -> Counter[str | None]:
                page = await index.search(Query(file_types=["PRODUCT"], limit=1000))
                return Counter(r.recipe_node for r in page.records)

            expected = {
                "watermark": N_RECIPES,
                "summarize": N_RECIPES // 2,
                "flag-small": N_RECIPES // 2,
            }
            await wait_until(lambda: _same(products(), expected), "exactly the expected products")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-4000:]
    half = N_RECIPES // 2
    # The kills did land mid-run: restarts found running jobs and unfinished recipes.
    text = log_path.read_text()
    assert "unfinished recipes" in text, text[-4000:]
    assert recipe_counts(settings) == {"running": 0, "completed": N_RECIPES, "failed": 0}
    assert node_states(recipe_root) == {
        ("watermark", "completed"): N_RECIPES,
        ("is-wide", "completed"): N_RECIPES,
        ("summarize", "completed"): half,
        ("summarize", "skipped"): half,
        ("flag-small", "completed"): half,
        ("flag-small", "skipped"): half,
    }
    # One job per node that was to run, never a second one, every one completed.
    assert jobs_by_node(recipe_root) == {
        ("watermark", "completed"): N_RECIPES,
        ("summarize", "completed"): half,
        ("flag-small", "completed"): half,
    }


async def _same(pending: object, expected: dict[str, int]) -> bool:
    got = await pending  # type: ignore[misc]
    return bool(got == expected)
