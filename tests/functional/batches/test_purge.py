"""Purge: a file and what was made from it leave their workspaces and the index."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from capture.jobs import JobStore
from indexer.backends import open_index
from seedpipe.cli import main
from seedpipe.query.model import Query
from tests.functional.batches.conftest import catalogue, write_config
from tests.functional.pipeline.conftest import load, running_pipeline, wait_until


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else captured.err


async def indexed(settings: Any, file_id: str) -> Any:
    async with open_index(settings.index) as index:
        return await index.get(file_id)


async def test_purging_a_file_with_its_descendants_removes_them_and_jobs_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path))
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    await catalogue(settings, runs, 2)
    async with running_pipeline(settings):
        code, batch = await cli(
            capsys,
            "batches",
            "create",
            "-c",
            config,
            "--job-type",
            "touch-job",
            "--id",
            "file-00000",
        )
        assert code == 0, batch

        async def product() -> Any:
            async with open_index(settings.index) as index:
                page = await index.search(Query(batches=[batch["id"]]))
                return page.records[0] if page.records else None

        made = await wait_until(product, "the product to be indexed")
        out_file = Path(settings.config_dir) / "data" / "output" / made.file_path
        assert out_file.exists()
        code, dry = await cli(
            capsys, "files", "purge", "file-00000", "--descendants", "--dry-run", "-c", config
        )
        assert code == 0 and [f["id"] for f in dry["files"]] == [made.id, "file-00000"]
        assert await indexed(settings, "file-00000") is not None
        code, done = await cli(
            capsys, "files", "purge", "file-00000", "--descendants", "-c", config
        )
        assert code == 0 and len(done["files"]) == 2
        await wait_until(
            lambda: _gone(settings, ["file-00000", made.id]), "both to leave the index"
        )
        assert not out_file.exists()
        assert not (Path(settings.config_dir) / "data" / "input" / "f00000.txt").exists()
        assert await indexed(settings, "file-00001") is not None
    jobs = JobStore(settings.path("jobs.db"))
    try:
        (job,) = jobs.search()
    finally:
        jobs.close()
    code = await asyncio.to_thread(main, ["jobs", "show", job.id, "-c", config])
    shown = capsys.readouterr().out
    assert code == 0
    assert "purged input file-00000" in shown and f"purged product {made.id}" in shown


async def test_purging_a_file_queued_work_uses_needs_force_and_unknown_ids_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path))
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    await catalogue(settings, runs, 1)
    # No service runs: the batch's job stays queued.
    code, _ = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "touch-job", "--id", "file-00000"
    )
    assert code == 0
    code, err = await cli(capsys, "files", "purge", "file-00000", "-c", config)
    assert code == 2 and "force:" in err and "--force" in err
    code, err = await cli(capsys, "files", "purge", "nope", "-c", config)
    assert code == 2 and "id: no file with id 'nope'" in err
    code, done = await cli(capsys, "files", "purge", "file-00000", "--force", "-c", config)
    assert code == 0 and done["in_use"] and done["in_use"][0]["file"] == "file-00000"


async def _gone(settings: Any, ids: list[str]) -> bool:
    for file_id in ids:
        if await indexed(settings, file_id) is not None:
            return False
    return True
