"""SIGKILL of ``seedpipe up`` in the middle of a batch, restarted: each file run once."""

from __future__ import annotations

import signal
from collections.abc import Awaitable
from pathlib import Path

import pytest

from capture.batches import creation, tracking
from capture.batches.model import parse_request
from capture.batches.store import BatchStore
from capture.jobs import JobStore
from capture.jobtypes import load_job_types
from capture.revisions import register_all
from indexer.backends import open_index
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.settings import Settings
from tests.functional.batches.conftest import catalogue, write_config
from tests.functional.pipeline.conftest import load, start_up_process, wait_until

# 300 rather than 1,000 files keeps the test near 30 s on two shared cores; the planner walks
# the same pages either way.
N = 300


def counts(settings: object, batch_id: str) -> dict[str, int]:
    jobs = JobStore(settings.path("jobs.db"))  # type: ignore[attr-defined]
    batches = BatchStore(settings.path("batches.db"))  # type: ignore[attr-defined]
    try:
        out: dict[str, int] = tracking.progress(batches.require(batch_id), jobs)["progress"]
        return out
    finally:
        jobs.close()
        batches.close()


async def products(settings: Settings, batch_id: str) -> list[FileRecord]:
    async with open_index(settings.index) as index:
        page = await index.search(Query(batches=[batch_id], limit=N + 10))
    return page.records


async def indexed(settings: Settings, batch_id: str) -> bool:
    return len(await products(settings, batch_id)) >= N


@pytest.mark.slow
async def test_kill_9_during_a_batch_and_restart_runs_every_file_once_with_exact_counts(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    ids = await catalogue(settings, runs, N)
    # Recorded before `up` starts: the service itself plans it.
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    job_types = load_job_types(settings)
    async with open_index(settings.index) as index:
        made = await creation.create(
            parse_request({"job_type": "touch-job", "query": {"data_types_any": ["raw"]}}),
            batches=batches,
            jobs=jobs,
            index=index,
            job_types=job_types,
            revisions=register_all(jobs.path, job_types),
        )
    jobs.close()
    batches.close()
    batch_id = made["id"]
    log_path = tmp_path / "up.log"
    proc = start_up_process(tmp_path, log_path)
    try:
        await wait_until(
            lambda: counts(settings, batch_id)["completed"] >= N // 3 or None,
            "a third of the batch to complete",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc = start_up_process(tmp_path, log_path)
        await wait_until(
            lambda: counts(settings, batch_id)["completed"] == N or None,
            "the whole batch to complete after the restart",
        )
        # A job completes in jobs.db before the indexer, behind the bus, has read its product.
        # After a SIGKILL the dead service's bus leases stand until its session times out
        # (bus.sqlite.session_timeout_s), so the restarted indexer may start reading only
        # after the last job has ended: stopping now would leave products unindexed.
        await wait_until(lambda: indexed(settings, batch_id), "the batch's products indexed")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-4000:]
    assert counts(settings, batch_id) == {
        "planned": N, "queued": 0, "running": 0, "completed": N, "failed": 0, "skipped": 0,
    }  # fmt: skip
    found = await products(settings, batch_id)
    assert sorted(p.ancestors[0] for p in found) == ids  # one product per file
    # Runs the kill interrupted started again; none ran twice to the end (one job per file).
    started = {p.name.split(".")[0] for p in runs.glob("*.start")}
    assert len(started) == N


@pytest.mark.slow
async def test_kill_9_while_a_recipe_batch_is_planned_and_restart_runs_each_recipe_once(
    tmp_path: Path,
) -> None:
    """The service plans a recipe type's batch; SIGKILL once its first recipes exist (planning
    a recipe per file is slower than queueing a job: the kill lands while it plans)."""
    from capture.recipes.store import RecipeStore
    from capture.recipes.types import load_recipe_types
    from tests.functional.batches.conftest import recipe_types_config

    n = N // 2
    write_config(tmp_path, recipe_types_config(tmp_path))
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    ids = await catalogue(settings, runs, n)
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    job_types = load_job_types(settings)
    async with open_index(settings.index) as index:
        made = await creation.create(
            parse_request({"recipe_type": "twice", "query": {"data_types_any": ["raw"]}}),
            batches=batches,
            jobs=jobs,
            index=index,
            job_types=job_types,
            revisions=register_all(jobs.path, job_types),
            recipe_types=load_recipe_types(settings, job_types),
            recipes=(recipes := RecipeStore(settings.path("recipes.db"))),
        )
    jobs.close()
    recipes.close()
    batch_id = made["id"]

    def recipe_progress() -> dict[str, int]:
        recipes = RecipeStore(settings.path("recipes.db"))
        jobs = JobStore(settings.path("jobs.db"))
        try:
            out: dict[str, int] = tracking.progress(batches.require(batch_id), jobs, recipes)[
                "progress"
            ]
            return out
        finally:
            recipes.close()
            jobs.close()

    log_path = tmp_path / "up.log"
    proc = start_up_process(tmp_path, log_path)
    try:
        await wait_until(
            lambda: recipe_progress()["planned"] >= 1, "the service to start planning the batch"
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        at_kill = batches.require(batch_id).status, recipe_progress()["planned"]
        print(f"killed with the batch {at_kill[0]}, {at_kill[1]} of {n} recipes planned")
        proc = start_up_process(tmp_path, log_path)
        await wait_until(
            lambda: recipe_progress()["completed"] == n or None,
            "every recipe of the batch to complete after the restart",
        )
        await wait_until(
            lambda: _at_least(products(settings, batch_id), 2 * n), "the batch's products indexed"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-4000:]
    assert recipe_progress() == {
        "planned": n, "queued": 0, "running": 0, "completed": n, "failed": 0, "skipped": 0,
    }, at_kill  # fmt: skip
    batches.close()
    recipes = RecipeStore(settings.path("recipes.db"))
    try:
        mine = [r for r in recipes.search(limit=10 * n) if r.batch == batch_id]
    finally:
        recipes.close()
    assert sorted(str(r.batch_file) for r in mine) == ids  # one recipe per file
    found = await products(settings, batch_id)
    assert len(found) == 2 * n and len({p.id for p in found}) == 2 * n


async def _at_least(records: Awaitable[list[FileRecord]], n: int) -> bool:
    return len(await records) >= n
