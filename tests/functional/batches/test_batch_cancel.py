"""Canceling a batch whose jobs are running: without --kill-running they finish and nothing new
starts; with it they end canceled and their process groups are gone."""

from __future__ import annotations

import asyncio
import getpass
import os
from pathlib import Path
from typing import Any

import pytest

from capture.jobs import JobStore
from tests.functional.batches.conftest import catalogue, write_config
from tests.functional.batches.test_batches import cli, progress
from tests.functional.pipeline.conftest import load, running_pipeline, wait_until

N = 6  # the touch job's max_concurrent is 4: 4 run at once, 2 wait in the queue
SLEEP_S = 5.0  # long enough for the cancel to find them running


def batch_jobs(settings: Any, batch_id: str) -> list[Any]:
    jobs = JobStore(settings.path("jobs.db"))
    try:
        return [j for j in jobs.search(limit=1000) if j.batch == batch_id]
    finally:
        jobs.close()


def started_pids(runs: Path) -> dict[str, int]:
    """Input file name -> the pid of the run that touched it (``<name>.<pid>.start``)."""
    out = {}
    for marker in runs.glob("*.start"):
        name, _, rest = marker.name.partition(".txt.")
        out[name] = int(rest.removesuffix(".start"))
    return out


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def running_batch(
    settings: Any, config: str, capsys: pytest.CaptureFixture[str], runs: Path
) -> dict[str, Any]:
    """A batch over the N files, planned, with its first jobs running (their markers left)."""
    code, batch = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "touch-job", "--data-type", "raw"
    )
    assert code == 0 and batch["progress"]["planned"] == N, batch
    await wait_until(
        lambda: progress(settings, batch["id"])["progress"]["running"] >= 4 or None,
        "four of the batch's jobs to run",
    )
    await wait_until(lambda: len(started_pids(runs)) >= 4 or None, "their processes to start")
    return batch


async def test_cancel_lets_running_jobs_finish_and_starts_nothing_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path, sleep_s=SLEEP_S))
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    await catalogue(settings, runs, N)
    async with running_pipeline(settings):
        batch = await running_batch(settings, config, capsys, runs)
        code, canceled = await cli(capsys, "batches", "cancel", batch["id"], "-c", config)
        assert code == 0 and canceled["status"] == "canceled"
        assert canceled["canceled_by"] == f"cli:{getpass.getuser()}"
        # 4 unless one ended (and a fifth started) before the cancel landed
        running = canceled["progress"]["running"]
        ended = canceled["progress"]["completed"]
        assert 4 <= running + ended < N, canceled
        assert canceled["progress"]["skipped"] == N - running - ended, canceled
        assert not canceled["done"]  # its running jobs have not ended yet
        await wait_until(lambda: progress(settings, batch["id"])["done"], "the running jobs")
        # The scheduler had room for the queued ones all along: give it time to start them.
        await asyncio.sleep(2.0)
        final = progress(settings, batch["id"])["progress"]
    ran = canceled["progress"]["completed"] + running  # 0 + 4 unless one ended before
    assert final == {
        "planned": N, "queued": 0, "running": 0, "completed": ran, "failed": 0,
        "skipped": N - ran,
    }  # fmt: skip
    assert len(started_pids(runs)) == ran  # nothing started after the cancel
    jobs = batch_jobs(settings, batch["id"])
    never = [j for j in jobs if j.status == "canceled"]
    assert len(never) == N - ran
    assert all(j.started is None for j in never)
    assert all(j.canceled_by == f"batch:cli:{getpass.getuser()}" for j in never)
    assert all(j.canceled_by is None for j in jobs if j.status == "completed")


async def test_cancel_with_kill_running_ends_running_jobs_canceled_and_kills_their_groups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path, sleep_s=60))  # far past the test: only a kill ends them
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    await catalogue(settings, runs, N)
    async with running_pipeline(settings):
        batch = await running_batch(settings, config, capsys, runs)
        pids = started_pids(runs)
        assert all(group_alive(p) for p in pids.values())
        code, canceled = await cli(
            capsys, "batches", "cancel", batch["id"], "-c", config, "--kill-running"
        )
        assert code == 0 and canceled["status"] == "canceled", canceled
        assert canceled["progress"]["skipped"] == N and canceled["progress"]["running"] == 0
        await wait_until(
            lambda: not any(group_alive(p) for p in pids.values()),
            "the running jobs' process groups to be killed",
        )
        # Nothing is requeued or started again after the kill.
        await asyncio.sleep(2.0)
        final = progress(settings, batch["id"])
    assert final["done"] and final["progress"] == {
        "planned": N, "queued": 0, "running": 0, "completed": 0, "failed": 0, "skipped": N,
    }  # fmt: skip
    assert started_pids(runs) == pids
    jobs = batch_jobs(settings, batch["id"])
    assert {j.status for j in jobs} == {"canceled"}
    assert all(j.canceled_by == f"batch:cli:{getpass.getuser()}" for j in jobs)
    killed = [j for j in jobs if j.started is not None]
    assert len(killed) == len(pids) and all(j.ended is not None for j in killed)
    store = JobStore(settings.path("jobs.db"))
    try:
        for job in killed:
            executions = store.executions(job.id)
            assert [e["status"] for e in executions] == ["canceled"], executions
    finally:
        store.close()
