"""Bench the catalogue page: navigation to the first footprints drawn, with 10,000 results.

A SQLite index of N footprints (small polygons all over the world, all matching), `seedpipe api`
serving it (uvicorn in a subprocess), and headless Chromium (Debian's) loading ``/ui``. Per run,
a fresh browser context (cold cache: page, assets, basemap fetched again) and the times from
``navigationStart`` to: the count shown, the first page of footprints drawn, every footprint
drawn. Warm runs reuse the context (assets and basemap from the cache).

Usage: .venv/bin/python bench/bench_web.py [--records 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.backends import open_index  # noqa: E402
from seedpipe.records import FileRecord, WorkspaceRef  # noqa: E402
from seedpipe.settings import Settings  # noqa: E402
from tests.conftest import free_port, wait_for_port  # noqa: E402
from tests.integration.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def records(n: int) -> list[FileRecord]:
    rng = random.Random(14)
    out = []
    for i in range(n):
        lon, lat = rng.uniform(-175, 170), rng.uniform(-60, 70)
        w, h = rng.uniform(0.2, 3), rng.uniform(0.2, 3)
        ring = [[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h], [lon, lat]]
        out.append(
            FileRecord(
                id=f"bench-{i:06d}",
                file_name=f"scene_{i:06d}.tif",
                workspace=WorkspaceRef(name="raw"),
                file_path=f"scenes/scene_{i:06d}.tif",
                media_type="image/tiff",
                data_type_tags=["scene"],
                geometry={"type": "Polygon", "coordinates": [ring]},
                meta_data={"cloud": rng.randint(0, 100), "sensor": "L8"},
            )
        )
    return out


async def build(root: Path, n: int) -> Path:
    config = root / "seedpipe.toml"
    config.write_text(
        'data_dir = "data"\n[index]\nurl = "sqlite:///index.db"\n'
        '[bus]\nurl = "sqlite:///events.db"\n[workspaces.raw]\nurl = "data/raw"\n'
    )
    settings = Settings.load(config)
    async with open_index(settings.index) as index:
        made = records(n)
        for start in range(0, n, 5000):
            await index.upsert(made[start : start + 5000])
    return config


LONG_TASKS = """
window.__longest = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
}).observe({ type: "longtask", buffered: true });
"""


async def measure(page, url: str, n: int) -> dict[str, float]:
    await page.add_init_script(LONG_TASKS)
    await page.goto(url)
    await page.wait_for_function(
        "() => document.getElementById('map')?.dataset.done === 'true'", timeout=120_000
    )
    drawn = int(await page.locator("#map").get_attribute("data-drawn"))
    assert drawn == min(n, 10_000), drawn
    return await page.evaluate(
        """() => {
        const mark = performance.getEntriesByName('seedpipe:first-footprints')[0];
        const nav = performance.getEntriesByType('navigation')[0];
        return {
          first_footprints_ms: mark.startTime,
          dom_content_loaded_ms: nav.domContentLoadedEventEnd,
          all_drawn_ms: performance.now(),
          longest_task_ms: window.__longest,
          basemap_draw_ms: performance.getEntriesByName('seedpipe:basemap-drawn')[0]?.duration,
        };
      }"""
    )


async def bench(config: Path, n: int, runs: int) -> None:
    from playwright.async_api import async_playwright

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEEDPIPE_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from seedpipe.cli import main; sys.exit(main())",
            "api",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        env=env,
    )
    try:
        if not wait_for_port(port, 60):
            raise SystemExit("the API did not start")
        url = f"http://127.0.0.1:{port}/ui"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            cold: list[dict[str, float]] = []
            for _ in range(runs):
                context = await browser.new_context(viewport={"width": 1400, "height": 900})
                cold.append(await measure(await context.new_page(), url, n))
                await context.close()
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            page = await context.new_page()
            await measure(page, url, n)
            warm = [await measure(page, url, n) for _ in range(runs)]
            await browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"records {n}, runs {runs}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    for name, rows in (("cold", cold), ("warm", warm)):
        for key in ("dom_content_loaded_ms", "first_footprints_ms", "all_drawn_ms",
                    "longest_task_ms", "basemap_draw_ms"):  # fmt: skip
            values = [r[key] for r in rows]
            print(
                f"{name:4} {key:22} median {statistics.median(values):8.0f} ms"
                f"   min {min(values):8.0f}   max {max(values):8.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        config = asyncio.run(build(Path(tmp), args.records))
        print(f"built an index of {args.records} records in {time.perf_counter() - started:.1f} s")
        asyncio.run(bench(config, args.records, args.runs))


if __name__ == "__main__":
    main()
