"""A catalogue of N small source files (in a workspace and the SQLite index), a quick job and
recipe types of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indexer.backends import open_index
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings

TOUCH_JOB = Path(__file__).parent / "touch_job"


def write_config(root: Path, extra: str = "", *, sleep_s: float | None = None) -> Path:
    """``sleep_s``: how long each touch job runs (a slow job for the cancel tests)."""
    (root / "drop").mkdir(exist_ok=True)
    prefix = f"env TOUCH_SLEEP_S={sleep_s} " if sleep_s is not None else ""
    config = root / "seedpipe.toml"
    config.write_text(
        f"""
data_dir = "data"
[workspaces.input]
url = "data/input"
[workspaces.output]
url = "data/output"
[[strikes]]
name = "drop"
drop = "drop"
workspace = "input"
[[job_types]]
name = "touch-job"
manifest = "{TOUCH_JOB / "seed.manifest.json"}"
entrypoint = "{prefix}python {TOUCH_JOB / "touch.py"}"
output_workspace = "output"
max_concurrent = 4
[capture]
cpus = 2
{extra}
"""
    )
    return config


async def catalogue(settings: Settings, runs: Path, n: int, tag: str = "raw") -> list[str]:
    """``n`` source files naming ``runs`` (what the touch job reads), indexed; their ids."""
    root = Path(settings.config_dir) / "data" / "input"
    root.mkdir(parents=True, exist_ok=True)
    base = datetime(2020, 1, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        name = f"f{i:05d}.txt"
        (root / name).write_text(str(runs))
        records.append(
            FileRecord(
                id=f"file-{i:05d}",
                file_name=name,
                workspace=WorkspaceRef(name="input"),
                file_path=name,
                media_type="text/plain",
                data_type_tags=[tag],
                created=base + timedelta(seconds=i),
                data_started=base + timedelta(days=i % 30),
            )
        )
    async with open_index(settings.index) as index:
        await index.upsert(records)
    return [r.id for r in records]


def touch_node(source: dict[str, str], after: str | None = None) -> dict[str, Any]:
    return {
        "dependencies": [{"name": after}] if after else [],
        "input": {"INPUT_FILE": source},
        "node_type": {
            "node_type": "job",
            "job_type_name": "touch-job",
            "job_type_version": "1.0.0",
        },
    }


def recipe_in(name: str) -> dict[str, str]:
    return {"type": "recipe", "input": name}


# twice: touch the source, then touch what that made (the second node's input is a product
# of the first). pair needs two files; pictures takes only PNGs; labeled needs a JSON input.
RECIPE_TYPES: dict[str, dict[str, Any]] = {
    "twice": {
        "version": "7",
        "input": {"files": [{"name": "SOURCE", "media_types": ["text/plain"]}]},
        "nodes": {
            "first": touch_node(recipe_in("SOURCE")),
            "second": touch_node(
                {"type": "dependency", "node": "first", "output": "OUTPUT_FILE"}, after="first"
            ),
        },
    },
    "pair": {
        "version": "7",
        "input": {"files": [{"name": "LEFT"}, {"name": "RIGHT"}]},
        "nodes": {"left": touch_node(recipe_in("LEFT")), "right": touch_node(recipe_in("RIGHT"))},
    },
    "pictures": {
        "version": "7",
        "input": {"files": [{"name": "IMAGE", "media_types": ["image/png"]}]},
        "nodes": {"first": touch_node(recipe_in("IMAGE"))},
    },
    "labeled": {
        "version": "7",
        "input": {
            "files": [{"name": "SOURCE"}],
            "json": [{"name": "LABEL", "type": "string"}],
        },
        "nodes": {"first": touch_node(recipe_in("SOURCE"))},
    },
}


def recipe_types_config(root: Path) -> str:
    """The ``[[recipe_types]]`` of RECIPE_TYPES, their definitions written under ``root``."""
    text = ""
    for name, definition in RECIPE_TYPES.items():
        path = root / f"{name}.recipe.json"
        path.write_text(json.dumps(definition))
        text += f'\n[[recipe_types]]\nname = "{name}"\ndefinition = "{path}"\n'
    return text
