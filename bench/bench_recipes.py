"""Bench recipes on the embedded defaults (SQLite bus, index and stores), capture service only.

1. Overhead per node: N trigger events start a trivial Seed job alone, then N more start a
   one-node recipe of the same job; the ratio of the wall times, and the extra per node.
2. Throughput: R three-node recipes (job -> condition -> job), every event published at once.

Usage: .venv/bin/python bench/bench_recipes.py [--jobs 200] [--recipes 1000] [--cpus 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capture.service import CaptureService  # noqa: E402
from indexer.backends import open_index  # noqa: E402
from seedpipe.bus import open_bus  # noqa: E402
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, file_event  # noqa: E402
from seedpipe.records import FileRecord, WorkspaceRef  # noqa: E402
from seedpipe.settings import Settings  # noqa: E402

MANIFEST = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "touch",
        "jobVersion": "1.0.0",
        "packageVersion": "1.0.0",
        "title": "Touch",
        "description": "Writes one small output.",
        "maintainer": {"name": "bench", "email": "bench@example.com"},
        "timeout": 60,
        "interface": {
            "command": "${IN} ${OUTPUT_DIR}",
            "inputs": {"files": [{"name": "IN"}]},
            "outputs": {"files": [{"name": "OUT", "pattern": "*.out"}]},
        },
        "resources": {"scalar": [{"name": "cpus", "value": 1}]},
    },
}
SCRIPT = (
    "import sys, pathlib\n"
    "pathlib.Path(sys.argv[2], pathlib.Path(sys.argv[1]).stem + '.out').write_text('x')\n"
)


def node(**kw: object) -> dict[str, object]:
    return {
        "dependencies": kw.pop("dependencies", []),
        "input": kw,
        "node_type": {"node_type": "job", "job_type_name": "touch", "job_type_version": "1.0.0"},
    }


ONE = {
    "version": "7",
    "input": {"files": [{"name": "F"}]},
    "nodes": {"only": node(IN={"type": "recipe", "input": "F"})},
}
THREE = {
    "version": "7",
    "input": {"files": [{"name": "F"}]},
    "nodes": {
        "first": node(IN={"type": "recipe", "input": "F"}),
        "check": {
            "dependencies": [{"name": "first"}],
            "input": {"F": {"type": "recipe", "input": "F"}},
            "node_type": {
                "node_type": "condition",
                "interface": {"files": [{"name": "F"}], "json": []},
                "data_filter": {
                    "filters": [
                        {
                            "name": "F",
                            "type": "filename",
                            "condition": "contains",
                            "values": ["in_"],
                        }
                    ]
                },
            },
        },
        "second": node(
            IN={"type": "dependency", "node": "first", "output": "OUT"},
            dependencies=[{"name": "check"}, {"name": "first"}],
        ),
    },
}


def settings_for(root: Path, cpus: float, trigger: str) -> Settings:
    (root / "touch.json").write_text(json.dumps(MANIFEST))
    (root / "touch.py").write_text(SCRIPT)
    (root / "one.json").write_text(json.dumps(ONE))
    (root / "three.json").write_text(json.dumps(THREE))
    (root / "seedpipe.toml").write_text(
        f"""
data_dir = "data"
log_level = "WARNING"
[bus]
url = "sqlite:///events.db"
[workspaces.input]
url = "data/input"
[workspaces.output]
url = "data/output"
[[job_types]]
name = "touch"
manifest = "{root / "touch.json"}"
entrypoint = "python {root / "touch.py"}"
output_workspace = "output"
max_concurrent = {max(1, int(cpus))}
[[recipe_types]]
name = "one"
definition = "{root / "one.json"}"
[[recipe_types]]
name = "three"
definition = "{root / "three.json"}"
[[triggers]]
name = "t"
{trigger}
[capture]
cpus = {cpus}
"""
    )
    return Settings.load(root / "seedpipe.toml")


async def run(n: int, cpus: float, trigger: str, done: str) -> float:
    """Seconds from publishing n trigger events to every job (or recipe) finished."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = settings_for(root, cpus, trigger)
        inputs = Path(settings.data_dir) / "input"
        inputs.mkdir(parents=True)
        records = []
        for i in range(n):
            (inputs / f"in_{i}.bin").write_bytes(b"payload")
            records.append(
                FileRecord(
                    file_name=f"in_{i}.bin",
                    workspace=WorkspaceRef(name="input"),
                    file_path=f"in_{i}.bin",
                )
            )
        async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
            service = CaptureService(settings, bus, index)
            stop = asyncio.Event()
            started = time.perf_counter()
            await bus.publish_many(
                settings.topic(FILES_TOPIC),
                [file_event(FILE_INGESTED, r, "bench") for r in records],
            )
            task = asyncio.create_task(service.run(stop))
            while True:
                counts = service.recipes.counts() if done == "recipes" else service.store.counts()
                if counts["completed"] + counts["failed"] >= n:
                    break
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            assert counts["failed"] == 0, counts
            stop.set()
            await task
        return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--recipes", type=int, default=1000)
    parser.add_argument("--cpus", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; medians shown")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"cpus {os.cpu_count()}, capture.cpus {args.cpus}")
    alones, in_recipes = [], []
    for _ in range(args.rounds):
        alones.append(await run(args.jobs, args.cpus, 'job_type = "touch"\ninput = "IN"', "jobs"))
        in_recipes.append(
            await run(args.jobs, args.cpus, 'recipe_type = "one"\ninput = "F"', "recipes")
        )
    alone, in_recipe = statistics.median(alones), statistics.median(in_recipes)
    print(
        "rounds alone",
        [round(a, 2) for a in alones],
        "in a recipe",
        [round(a, 2) for a in in_recipes],
    )
    n = args.jobs
    print(f"{n} jobs alone: {alone:.2f} s ({n / alone:.1f}/s)")
    print(f"{n} one-node recipes of the same job: {in_recipe:.2f} s ({n / in_recipe:.1f}/s)")
    extra_ms = (in_recipe - alone) / n * 1000
    print(f"ratio {in_recipe / alone:.2f}x, overhead per node {extra_ms:.1f} ms")
    r = args.recipes
    if not r:
        return
    three = await run(r, args.cpus, 'recipe_type = "three"\ninput = "F"', "recipes")
    print(f"{r} three-node recipes (2 jobs + a condition): {three:.2f} s")
    print(f"  {r / three:.1f} recipes/s, {2 * r / three:.1f} jobs/s")


if __name__ == "__main__":
    asyncio.run(main())
