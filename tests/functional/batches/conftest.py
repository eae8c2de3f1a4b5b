"""A catalogue of N small source files (in a workspace and the SQLite index) and a quick job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from indexer.backends import open_index
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings

TOUCH_JOB = Path(__file__).parent / "touch_job"


def write_config(root: Path, extra: str = "") -> Path:
    (root / "drop").mkdir(exist_ok=True)
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
entrypoint = "python {TOUCH_JOB / "touch.py"}"
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
