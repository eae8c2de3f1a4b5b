"""Helpers for end-to-end pipeline tests on the embedded defaults (SQLite bus and index)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from seedpipe.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "watermark"
WAIT_S = 90.0


def place(i: int) -> tuple[float, float, str]:
    """Where and when test image ``i`` was taken: (lon, lat, ISO day)."""
    return (
        -170.0 + (i % 60) * 5.5,
        -60.0 + (i % 23) * 5.0,
        f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}",
    )


def write_png(path: Path, i: int, size: int = 16) -> Path:
    """A small PNG whose text chunks give the watermark job its point and data time."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    lon, lat, day = place(i)
    info = PngInfo()
    info.add_text("longitude", str(lon))
    info.add_text("latitude", str(lat))
    info.add_text("dataStarted", f"{day}T00:00:00Z")
    info.add_text("dataEnded", f"{day}T00:10:00Z")
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (size, size), ((i * 37) % 256, (i * 11) % 256, 128))
    tmp = path.with_name(path.name + ".part")
    img.save(tmp, format="PNG", pnginfo=info)
    tmp.rename(path)  # the strike skips .part files: it sees only complete PNGs
    return path


def config_text(root: Path, extra: str = "", *, bus: str = "sqlite:///events.db") -> str:
    return f"""
data_dir = "data"
[bus]
url = "{bus}"
backoff_initial_s = 0.05
[workspaces.input]
url = "data/input"
[workspaces.output]
url = "data/output"
[[strikes]]
name = "drop"
drop = "drop"
workspace = "input"
settle_s = 0.2
[[strikes.rules]]
filename_regex = '(?i)\\.png$'
data_types = ["image"]
[[job_types]]
name = "image-watermark"
manifest = "{EXAMPLE / "seed.manifest.json"}"
entrypoint = "python {EXAMPLE / "watermark.py"}"
output_workspace = "output"
max_concurrent = 2
[[triggers]]
name = "watermark-png"
job_type = "image-watermark"
input = "INPUT_IMAGE"
[triggers.conditions]
file_name_regex = '(?i)\\.png$'
[capture]
cpus = 2
{extra}
"""


@pytest.fixture
def pipeline_root(tmp_path: Path) -> Path:
    (tmp_path / "drop").mkdir()
    (tmp_path / "seedpipe.toml").write_text(config_text(tmp_path))
    return tmp_path


def load(root: Path) -> Settings:
    return Settings.load(root / "seedpipe.toml")


@contextlib.asynccontextmanager
async def running_pipeline(settings: Settings, api_port: int | None = None) -> AsyncIterator[None]:
    """``seedpipe up`` in this event loop until the block ends (HTTP API only on ``api_port``)."""
    from composition import up

    args = argparse.Namespace(no_api=api_port is None, port=api_port, status="off", config=None)
    stop = asyncio.Event()
    task = asyncio.create_task(up.serve(args, settings, stop))
    try:
        yield
        if task.done():
            task.result()  # a service that died is the failure to report
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def job_counts(settings: Settings) -> dict[str, int]:
    path = settings.path("jobs.db")
    out = {"queued": 0, "running": 0, "completed": 0, "failed": 0}
    if not path.exists():
        return out
    with contextlib.closing(sqlite3.connect(path)) as db:
        out.update(dict(db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")))
    return out


def ingest_statuses(settings: Settings) -> list[tuple[str, str]]:
    path = settings.path("ingest.db")
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.execute("SELECT source, status FROM ingests"))


def start_up_process(root: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """A real ``seedpipe up`` process (for kill -9 tests)."""
    env = {**os.environ, "SEEDPIPE_LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT)}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "import sys; from seedpipe.cli import main; sys.exit(main())",
             "up", "--config", str(root / "seedpipe.toml"), "--no-api", "--status", "log"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
