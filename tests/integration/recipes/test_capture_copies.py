"""Two capture copies on Kafka (tansu) share the recipes; one is killed mid-run, none is lost."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from capture.recipes.store import RecipeStore
from capture.service import CaptureService
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, FILE_PRODUCED, FILES_TOPIC, CloudEvent, file_event
from seedpipe.records import FileRecord
from seedpipe.settings import Settings
from tests.functional.pipeline.conftest import job_counts, wait_until
from tests.functional.pipeline.test_faults import put_inputs
from tests.functional.recipes.conftest import recipe_counts

N_FILES = 8

STEP = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "step",
        "jobVersion": "1.0.0",
        "packageVersion": "1.0.0",
        "title": "Step",
        "description": "Copies FIRST (and SECOND) into one output; says its size.",
        "maintainer": {"name": "t", "email": "t@example.com"},
        "timeout": 120,
        "interface": {
            "command": "${FIRST} ${OUTPUT_DIR}",
            "inputs": {"files": [{"name": "FIRST"}, {"name": "SECOND", "required": False}]},
            "outputs": {
                "files": [{"name": "OUT", "pattern": "*.out"}],
                "json": [{"name": "SIZE", "type": "integer"}],
            },
        },
        "resources": {"scalar": [{"name": "cpus", "value": 0.5}]},
    },
}
STEP_JOB = """import json, os, sys
from pathlib import Path
first, out = Path(sys.argv[1]), Path(sys.argv[2])
second = os.environ.get("SECOND")
data = first.read_bytes() + (Path(second).read_bytes() if second else b"")
(out / (first.stem + ".out")).write_bytes(data)
(out / "seed.outputs.json").write_text(json.dumps({"SIZE": len(data)}))
"""
HANG_JOB = "import time\ntime.sleep(120)\n"


def job(**input_: Any) -> dict[str, Any]:
    return {
        "dependencies": input_.pop("dependencies", []),
        "input": input_,
        "node_type": {"node_type": "job", "job_type_name": "step", "job_type_version": "1.0.0"},
    }


DEFINITION = {
    "version": "7",
    "input": {"files": [{"name": "FILE"}]},
    "nodes": {
        "a": job(FIRST={"type": "recipe", "input": "FILE"}),
        "even": {
            "dependencies": [{"name": "a"}],
            "input": {"FILE": {"type": "recipe", "input": "FILE"}},
            "node_type": {
                "node_type": "condition",
                "interface": {"files": [{"name": "FILE"}], "json": []},
                "data_filter": {
                    "filters": [
                        {
                            "name": "FILE",
                            "type": "filename",
                            "condition": "contains",
                            "values": ["even"],
                        }
                    ]
                },
            },
        },
        "fan-in": job(
            FIRST={"type": "recipe", "input": "FILE"},
            SECOND={"type": "dependency", "node": "a", "output": "OUT"},
            dependencies=[{"name": "a"}, {"name": "even"}],
        ),
        "else": job(
            FIRST={"type": "dependency", "node": "a", "output": "OUT"},
            dependencies=[{"name": "a"}, {"name": "even", "acceptance": False}],
        ),
    },
}


def copy_settings(root: Path, name: str, bus_url: str, prefix: str, script: str) -> Settings:
    (root / "step.json").write_text(json.dumps(STEP))
    (root / "recipe.json").write_text(json.dumps(DEFINITION))
    (root / f"{name}.py").write_text(script)
    home = root / name
    home.mkdir()
    (home / "seedpipe.toml").write_text(
        f"""
data_dir = "data"
[bus]
url = "{bus_url}"
topic_prefix = "{prefix}"
backoff_initial_s = 0.05
[bus.kafka]
partitions = 2
session_timeout_ms = 2000
heartbeat_interval_ms = 500
[workspaces.input]
url = "{root / "shared" / "input"}"
[workspaces.output]
url = "{root / "shared" / "output"}"
[[job_types]]
name = "step"
manifest = "{root / "step.json"}"
entrypoint = "python {root / f"{name}.py"}"
output_workspace = "output"
max_concurrent = 2
[[recipe_types]]
name = "branch-and-fan-in"
definition = "{root / "recipe.json"}"
[[triggers]]
name = "all-files"
recipe_type = "branch-and-fan-in"
input = "FILE"
[capture]
cpus = 2
consumers = 2
"""
    )
    return Settings.load(home / "seedpipe.toml")


async def products(settings: Settings) -> dict[str, str | None]:
    """Each product announced on the bus (id -> its recipe node); a replay reuses the ids."""
    seen: dict[str, str | None] = {}

    async def note(event: CloudEvent) -> None:
        if event.type == FILE_PRODUCED:
            record = FileRecord.model_validate(event.data)
            seen[record.id] = record.recipe_node

    async with open_bus(settings.bus) as bus:
        await bus.consume([settings.topic(FILES_TOPIC)], "check", note, until_caught_up=True)
    return seen


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_capture_copy_killed_mid_recipe_on_kafka_leaves_every_recipe_to_the_other(
    tmp_path: Path, kafka_url: str, unique: str
) -> None:
    prefix = f"r{unique}"
    lost = copy_settings(tmp_path, "lost", kafka_url, prefix, HANG_JOB)
    kept = copy_settings(tmp_path, "kept", kafka_url, prefix, STEP_JOB)
    names = [f"in_{i}_{'even' if i % 2 == 0 else 'odd'}.bin" for i in range(N_FILES)]
    records = put_inputs(lost, names)
    async with open_bus(lost.bus) as bus:
        await bus.publish_many(
            lost.topic(FILES_TOPIC), [file_event(FILE_INGESTED, r, "test") for r in records]
        )
    lost_stop, kept_stop = asyncio.Event(), asyncio.Event()
    async with open_bus(lost.bus) as lost_bus, open_bus(kept.bus) as kept_bus:
        lost_task = asyncio.create_task(CaptureService(lost, lost_bus).run(lost_stop))
        await wait_until(lambda: job_counts(lost)["running"] >= 1, "the lost copy running a node")
        kept_task = asyncio.create_task(CaptureService(kept, kept_bus).run(kept_stop))
        try:
            await asyncio.sleep(0)
            assert recipe_counts(lost)["running"] >= 1  # recipes in hand when the copy dies
            lost_task.cancel()  # abrupt: no clean stop, no commit
            await asyncio.gather(lost_task, return_exceptions=True)
            await wait_until(
                lambda: recipe_counts(kept)["completed"] == N_FILES or None,
                "every recipe completed by the kept copy",
                timeout=240,
            )
        finally:
            lost_task.cancel()
            kept_stop.set()
            await asyncio.gather(lost_task, kept_task, return_exceptions=True)
    assert recipe_counts(lost)["completed"] == 0
    assert recipe_counts(kept) == {"running": 0, "completed": N_FILES, "failed": 0}
    store = RecipeStore(kept.path("recipes.db"))
    states: Counter[tuple[str, str]] = Counter()
    for r in store.search():
        states.update((n, s.state) for n, s in store.nodes(r.id).items())
    store.close()
    half = N_FILES // 2
    assert states == {
        ("a", "completed"): N_FILES,
        ("even", "completed"): N_FILES,
        ("fan-in", "completed"): half,
        ("fan-in", "skipped"): half,
        ("else", "completed"): half,
        ("else", "skipped"): half,
    }
    assert job_counts(kept) == {"queued": 0, "running": 0, "completed": 2 * N_FILES, "failed": 0}
    announced = await products(kept)
    # Exactly the expected products: the lost copy made none, replays reuse deterministic ids.
    assert Counter(announced.values()) == {"a": N_FILES, "fan-in": half, "else": half}
